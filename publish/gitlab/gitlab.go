// Package gitlab posts the gate's sticky merge request note to GitLab
// (gitlab.com or self-managed). It renders nothing itself: the body arrives
// as a string from the reporter packages.
//
// It is a small net/http client of four endpoints rather than
// gitlab.com/gitlab-org/api/client-go: that library would add about 2.3 MB
// to the binary and a second retry layer (go-retryablehttp) to reconcile
// with this one, for GET /user and three notes calls.
//
// GitLab API docs: https://docs.gitlab.com/api/notes/#merge-requests
package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cortex-gate/cortex-gate/publish/internal/retry"

	"github.com/cenkalti/backoff/v4"
)

// Config says where and as whom the client posts.
type Config struct {
	// Token is a personal, project or group access token with the api
	// scope, sent as PRIVATE-TOKEN and never logged. CI_JOB_TOKEN cannot
	// be used: GitLab does not let job tokens read /user or write notes.
	Token string
	// APIURL is CI_API_V4_URL, e.g. https://gitlab.com/api/v4.
	APIURL string
	// ProjectID is CI_PROJECT_ID (numeric) or the project's path
	// ("group/subgroup/project", CI_PROJECT_PATH); a path is URL-escaped.
	ProjectID string
	// ProjectURL is CI_PROJECT_URL, used to build the note's web address.
	// Empty: UpsertNote returns no address.
	ProjectURL string
	// HTTPClient carries the requests (proxies, custom roots, tests).
	// Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Debugf, when set, hears about retries.
	Debugf func(format string, args ...any)
}

// Client posts to one project. It is safe for concurrent use.
type Client struct {
	http       *http.Client
	base       string // APIURL without the trailing slash
	project    string // escaped for the path
	projectRef string // as given, for messages
	projectURL string
	token      string
	debugf     func(format string, args ...any)
	// newBackOff is the retry policy; tests shorten it.
	newBackOff func() backoff.BackOff
	// retryBudget is the longest a call keeps retrying, Retry-After included.
	retryBudget time.Duration

	mu     sync.Mutex
	selfID int64 // the token's user, once known
}

// MaxNoteChars is the longest note body GitLab accepts.
const MaxNoteChars = 1_000_000

// maxAnswerBytes bounds what is read of one answer: a page of a hundred
// notes of ordinary size is far below it.
const maxAnswerBytes = 32 << 20

// New checks cfg and builds a client. It makes no request.
func New(cfg Config) (*Client, error) {
	var errs []error
	if cfg.Token == "" {
		errs = append(errs, errors.New("gitlab-token is empty (CI_JOB_TOKEN cannot post merge request notes: use a project or personal access token with the api scope)"))
	}
	apiURL := strings.TrimSuffix(strings.TrimSpace(cfg.APIURL), "/")
	if u, err := url.Parse(apiURL); apiURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("CI_API_V4_URL %q is not an http(s) URL", cfg.APIURL))
	} else if u.User != nil {
		// Error messages may quote URLs; credentials there would leak.
		errs = append(errs, errors.New("CI_API_V4_URL must not carry credentials: pass the token as gitlab-token"))
	}
	project := strings.Trim(strings.TrimSpace(cfg.ProjectID), "/")
	if project == "" {
		errs = append(errs, errors.New("the GitLab project (CI_PROJECT_ID or CI_PROJECT_PATH) is unknown"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("failed to configure the GitLab client: %w", err)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	debugf := cfg.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	return &Client{
		http:        hc,
		base:        apiURL,
		project:     escapeProject(project),
		projectRef:  project,
		projectURL:  strings.TrimSuffix(strings.TrimSpace(cfg.ProjectURL), "/"),
		token:       cfg.Token,
		debugf:      debugf,
		newBackOff:  defaultBackOff,
		retryBudget: 30 * time.Second,
	}, nil
}

// escapeProject turns a project path into one path segment
// ("group%2Fproject"); a numeric id is kept.
func escapeProject(p string) string {
	if _, err := strconv.ParseInt(p, 10, 64); err == nil {
		return p
	}
	return url.PathEscape(p) // escapes "/" too
}

func defaultBackOff() backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(500*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		// The retry budget bounds the total instead: it also covers
		// Retry-After waits this policy does not know about.
		backoff.WithMaxElapsedTime(0),
	)
}

// APIError is an answer from GitLab other than 2xx.
type APIError struct {
	Method     string
	Endpoint   string // the path under the API URL, e.g. /projects/7/merge_requests/3/notes
	StatusCode int
	Message    string // GitLab's message, or the start of the body
	retryAfter time.Duration
}

func (e *APIError) Error() string {
	code := strconv.Itoa(e.StatusCode)
	switch {
	case e.Message == "":
		return fmt.Sprintf("%s %s: %s %s", e.Method, e.Endpoint, code, http.StatusText(e.StatusCode))
	case strings.HasPrefix(e.Message, code+" "):
		// GitLab's own messages often start with the status: "403 Forbidden".
		return fmt.Sprintf("%s %s: %s", e.Method, e.Endpoint, e.Message)
	}
	return fmt.Sprintf("%s %s: %s %s", e.Method, e.Endpoint, code, e.Message)
}

// IsPermission reports whether err is GitLab refusing the token the right to
// write (403): a token without the api scope, a role that may not comment,
// or a merge request the token's user cannot see.
func IsPermission(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden
}

// note is the part of a GitLab note the gate reads.
type note struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system"`
	Author struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	} `json:"author"`
}

// do sends one request with retries and decodes a 2xx answer into out. It
// returns the last answer's headers.
func (c *Client) do(ctx context.Context, method, endpoint string, query url.Values, in, out any) (http.Header, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	target := c.base + endpoint
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	start := time.Now()
	b := &retry.AfterBackOff{BackOff: c.newBackOff()}
	var header http.Header
	err := backoff.RetryNotify(func() error {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			return backoff.Permanent(err)
		}
		req.Header.Set("PRIVATE-TOKEN", c.token)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return backoff.Permanent(ctx.Err())
			}
			// *url.Error repeats the whole URL; the endpoint is enough.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return c.retryable(start, b, fmt.Errorf("%s %s: %w", method, endpoint, err))
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
		if err != nil {
			return c.retryable(start, b, fmt.Errorf("%s %s: failed to read the answer: %w", method, endpoint, err))
		}
		if len(data) > maxAnswerBytes {
			return backoff.Permanent(fmt.Errorf("%s %s: the answer is larger than %d MiB", method, endpoint, maxAnswerBytes>>20))
		}
		if resp.StatusCode/100 != 2 {
			ae := &APIError{Method: method, Endpoint: endpoint, StatusCode: resp.StatusCode, Message: plainMessage(errorMessage(data))}
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				return backoff.Permanent(ae)
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				ae.retryAfter = time.Duration(s) * time.Second
			}
			b.Wait = ae.retryAfter
			return c.retryable(start, b, ae)
		}
		header = resp.Header
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return backoff.Permanent(fmt.Errorf("%s %s: failed to read the answer: %w", method, endpoint, err))
			}
		}
		return nil
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		c.debugf("%s %s failed, retrying in %s: %v", method, endpoint, d.Round(time.Millisecond), c.redact(err))
	})
	return header, c.redact(err)
}

// retryable gives up on err when the retry budget, or GitLab's Retry-After,
// is beyond what is left.
func (c *Client) retryable(start time.Time, b *retry.AfterBackOff, err error) error {
	left := c.retryBudget - time.Since(start)
	if left <= 0 || b.Wait > left {
		return backoff.Permanent(err)
	}
	return err
}

// errorMessage reads GitLab's error body: {"message": "..."} (a string, or
// an object of field errors), or OAuth's {"error", "error_description"}.
func errorMessage(data []byte) string {
	var e struct {
		Message     json.RawMessage `json:"message"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(data, &e) == nil {
		var s string
		switch {
		case len(e.Message) > 0 && json.Unmarshal(e.Message, &s) == nil:
			return s
		case len(e.Message) > 0:
			return string(e.Message)
		case e.Error != "" && e.Description != "":
			return e.Error + ": " + e.Description
		case e.Error != "":
			return e.Error
		}
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// plainMessage keeps a server's message to one line of at most 300
// characters: it reaches the log and the reports.
func plainMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "..."
	}
	return strings.TrimSpace(s)
}

// redact keeps the token out of an error's text, whatever produced it.
func (c *Client) redact(err error) error {
	if err == nil || len(c.token) < 8 || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{err: err, token: c.token}
}

type redactedError struct {
	err   error
	token string
}

func (e *redactedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.token, "***") }
func (e *redactedError) Unwrap() error { return e.err }
