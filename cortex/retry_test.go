package cortex

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cancel() // the user hits Ctrl-C while the request is in flight
		<-r.Context().Done()
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryTime = time.Minute })
	_, err := c.ListPRScans(ctx, PRScanQuery{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ListPRScans() error = %v, want context.Canceled", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests, want 1: a cancelled call is not retried", n)
	}

	// Already cancelled: nothing is sent.
	_, err = c.Issues(ctx, "s")
	if !errors.Is(err, context.Canceled) || len(rec.requests()) != 1 {
		t.Errorf("Issues() on a cancelled context: error %v after %d requests, want context.Canceled and none sent", err, len(rec.requests())-1)
	}
}

func TestDeadlineDuringRetries(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 503, `{"errorCode":"UNAVAILABLE","message":"maintenance"}`)
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryTime = time.Minute })
	c.initialInterval, c.maxInterval = 20*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := c.ListCIScans(ctx, CIScanQuery{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListCIScans() error = %v, want it to wrap context.DeadlineExceeded", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 || !strings.Contains(err.Error(), "maintenance") {
		t.Errorf("error = %v, want the last answer (503 maintenance) kept", err)
	}
	if n := len(rec.requests()); n < 2 {
		t.Errorf("%d requests, want retries until the deadline", n)
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-r.Context().Done() // never answers
			return
		}
		writeJSON(w, 200, `[{"scanId":"s1"}]`)
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.RequestTimeout = 50 * time.Millisecond })
	scans, err := c.ListPRScans(context.Background(), PRScanQuery{})
	if err != nil || len(scans) != 1 || c.Requests() != 2 {
		t.Errorf("ListPRScans() = %d scans, %v after %d requests; want 1, nil, 2", len(scans), err, c.Requests())
	}

	// When every attempt times out the error says so, and does not claim the
	// caller's deadline passed (it did not).
	srv2, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	c2 := newTestClient(t, srv2, func(cfg *Config) {
		cfg.RequestTimeout = 20 * time.Millisecond
		cfg.MaxRetryTime = 60 * time.Millisecond
	})
	_, err = c2.ListPRScans(context.Background(), PRScanQuery{})
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no complete answer within 20ms") {
		t.Errorf("ListPRScans() error = %v, want attempt timeouts named, not context.DeadlineExceeded", err)
	}
}

func TestConnectionDropRetried(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // no answer at all
			return
		}
		writeJSON(w, 200, `[{"issue_id":"a"}]`)
	})
	c := newTestClient(t, srv)
	issues, err := c.Issues(context.Background(), "s")
	if err != nil || len(issues) != 1 || c.Requests() != 2 {
		t.Errorf("Issues() = %d issues, %v after %d requests; want 1, nil, 2", len(issues), err, c.Requests())
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryTime = 300 * time.Millisecond })
	srv.Close()
	_, err := c.Issues(context.Background(), "s")
	if err == nil || !strings.HasPrefix(err.Error(), `failed to list issues of scan "s": GET /public_api/appsec/v1/scans/s/issues: `) ||
		strings.Contains(err.Error(), "?") {
		t.Errorf("Issues() error = %v, want the endpoint named once and no query string", err)
	}
	if c.Requests() < 2 {
		t.Errorf("%d attempts, want a refused connection retried", c.Requests())
	}
}

// TestRateLimit measures the rate the server saw. The token bucket lets a
// second's worth (the burst) go at once and spaces the rest at least
// 1/rate apart, so past the burst the observed rate can only be lower than
// configured, never higher, however slow the machine: the check does not
// flake.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, pagedIssues(12))
	const perSecond, burst = 10, 10
	c := newTestClient(t, srv, func(cfg *Config) { cfg.RateLimit = perSecond; cfg.PageSize = 2 })
	var wg sync.WaitGroup
	for range 2 { // two calls share one bucket
		wg.Go(func() {
			if _, err := c.Issues(context.Background(), "s"); err != nil {
				t.Errorf("Issues() error = %v", err)
			}
		})
	}
	wg.Wait()
	ts := rec.timestamps()
	if len(ts) != 14 {
		t.Fatalf("%d requests, want 14 (7 pages, twice)", len(ts))
	}
	span := ts[len(ts)-1].Sub(ts[0]).Seconds()
	observed := float64(len(ts)-burst) / span
	if observed > perSecond*1.1 {
		t.Errorf("past the burst of %d, the server saw %.1f requests/s, want at most %d", burst, observed, perSecond)
	}
}

func TestRateLimitRespectsDeadline(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, pagedIssues(10))
	c := newTestClient(t, srv, func(cfg *Config) { cfg.RateLimit = 0.5; cfg.PageSize = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Issues(ctx, "s")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Issues() error = %v, want context.DeadlineExceeded (the next token is 2s away)", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if !strings.Contains(err.Error(), "GET /public_api/appsec/v1/scans/s/issues: the rate limit allows no request before the deadline") {
		t.Errorf("error = %q, want the endpoint and the reason", err)
	}
}
