package cortex

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// get sends GET u and hands a 2xx body to read, retrying what is worth
// retrying (429, 5xx, network errors, attempt timeouts, bodies cut short)
// with exponential backoff until Config.MaxRetryTime is spent. read may be
// called once per attempt; it must start from scratch each time.
func (c *Client) get(ctx context.Context, endpoint string, u *url.URL, read func(io.Reader) error) error {
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.initialInterval),
		backoff.WithMaxInterval(c.maxInterval),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.25),
		// Set on purpose: backoff's own default (15 minutes) would outlast
		// any sensible gate timeout.
		backoff.WithMaxElapsedTime(c.maxRetry),
	)
	bo := &retryAfterBackOff{exp: exp, max: c.maxRetry}

	attempt := 0
	var last error // of the last attempt the caller's context did not end
	op := func() error {
		attempt++
		err := c.attempt(ctx, endpoint, u, read)
		if ctx.Err() == nil {
			// Keep what the server last said, not the cancellation that cut
			// an attempt short.
			last = err
		}
		bo.hint = 0
		var ae *APIError
		if errors.As(err, &ae) {
			bo.hint = ae.RetryAfter
		}
		return err
	}
	notify := func(err error, wait time.Duration) {
		c.debugf("cortex: attempt %d failed: %v; retrying in %s", attempt, err, wait.Round(time.Millisecond))
	}
	err := backoff.RetryNotify(op, backoff.WithContext(bo, ctx), notify)
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		// Cancelled or out of time, perhaps while waiting to retry: say so
		// first (errors.Is finds it) and keep what the server last said.
		if last == nil {
			return fmt.Errorf("%s: %w", endpoint, cerr)
		}
		return fmt.Errorf("%s: %w (last attempt: %w)", endpoint, cerr, last)
	}
	if attempt > 1 {
		return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
	}
	return err
}

// retryAfterBackOff waits at least what the server asked for in Retry-After,
// within the retry budget.
type retryAfterBackOff struct {
	exp  *backoff.ExponentialBackOff
	max  time.Duration
	hint time.Duration // Retry-After of the last answer, 0 if none
}

func (b *retryAfterBackOff) Reset() { b.exp.Reset(); b.hint = 0 }

func (b *retryAfterBackOff) NextBackOff() time.Duration {
	next := b.exp.NextBackOff()
	if next == backoff.Stop {
		return backoff.Stop
	}
	if b.hint > 0 {
		// The server said when: wait that long, plus a little jitter so a
		// fleet told the same second does not come back in the same one.
		next = b.hint + time.Duration(rand.Int64N(int64(b.hint/10)+1))
		if b.exp.GetElapsedTime()+next > b.max {
			return backoff.Stop
		}
	}
	return next
}

// attempt sends one request. Errors not worth retrying are wrapped in
// backoff.Permanent.
func (c *Client) attempt(ctx context.Context, endpoint string, u *url.URL, read func(io.Reader) error) error {
	// The token bucket is waited before every attempt, retries included:
	// the tenant counts them all.
	if err := c.limiter.Wait(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return backoff.Permanent(cerr)
		}
		// Wait refuses up front when the deadline would pass first.
		return backoff.Permanent(fmt.Errorf("%s: the rate limit allows no request before the deadline: %w", endpoint, context.DeadlineExceeded))
	}

	actx, cancel := context.WithTimeout(ctx, c.reqTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return backoff.Permanent(fmt.Errorf("failed to build request %s: %w", endpoint, err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	c.authorize(req.Header)

	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, actx, endpoint, err)
	}
	defer drainAndClose(resp.Body)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		ae := c.newAPIError(endpoint, resp, body)
		if retryableStatus(resp.StatusCode) {
			return ae
		}
		return backoff.Permanent(ae)
	}

	err = read(resp.Body)
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return backoff.Permanent(cerr)
	}
	if actx.Err() != nil {
		return &attemptTimeoutError{endpoint: endpoint, timeout: c.reqTimeout}
	}
	var de *decodeError
	if errors.As(err, &de) {
		de.endpoint = endpoint
		// What was wrong may quote the body: a hostile answer must not
		// bring line breaks or workflow commands into the log.
		de.what = c.sanitize(de.what, maxMessage)
		if de.retryable {
			return de
		}
		return backoff.Permanent(de)
	}
	return backoff.Permanent(fmt.Errorf("%s: %w", endpoint, err))
}

// transportError classifies a failure to get any answer. Most are worth
// another try; a certificate the machine does not trust is not.
func (c *Client) transportError(ctx, actx context.Context, endpoint string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return backoff.Permanent(cerr)
	}
	if actx.Err() != nil {
		return &attemptTimeoutError{endpoint: endpoint, timeout: c.reqTimeout}
	}
	// url.Error repeats the whole URL; the endpoint says enough.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		dns *net.DNSError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie):
		return backoff.Permanent(fmt.Errorf("%s: the TLS certificate of %s is not trusted by this machine (if a proxy or a private CA signs it, give its PEM file in ca-cert): %w", endpoint, c.base.Host, err))
	case errors.As(err, &rhe):
		return backoff.Permanent(fmt.Errorf("%s: the server does not speak TLS (check the scheme of api-url): %w", endpoint, err))
	case errors.As(err, &dns) && dns.IsNotFound:
		return backoff.Permanent(fmt.Errorf("%s: unknown host (check api-url): %w", endpoint, err))
	}
	return fmt.Errorf("%s: %w", endpoint, err)
}

// drainAndClose reads a little of what is left so the connection can be
// reused, then closes the body.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 256<<10))
	_ = body.Close()
}
