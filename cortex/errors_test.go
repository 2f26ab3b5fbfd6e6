package cortex

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkNoKey fails when text shows the API key.
func checkNoKey(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, testKey) {
		t.Errorf("%s shows the API key: %s", what, text)
	}
}

func TestErrorsNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		body   string
		want   []string
	}{
		{400, `{"errorCode":"BAD_REQUEST","message":"limit must be at most 100"}`,
			[]string{"GET /public_api/appsec/v1/scans/pr: 400 Bad Request: limit must be at most 100 [BAD_REQUEST]"}},
		{401, `{"reply":{"err_code":401,"err_msg":"Public API request unauthorized","err_extra":"check the key"}}`,
			[]string{"401 Unauthorized: Public API request unauthorized: check the key", "check api-key-id, api-key and api-key-type", "clock"}},
		{402, `{"reply":{"err_code":402,"err_msg":"License missing","err_extra":["Cortex Cloud Posture Management"," needed"]}}`,
			[]string{"402 Payment Required: License missing: Cortex Cloud Posture Management; needed", "license"}},
		{403, `{"errorCode":"FORBIDDEN","message":"Insufficient permissions"}`,
			[]string{"403 Forbidden: Insufficient permissions [FORBIDDEN]", "read access to ASPM scan results"}},
		{404, ``, []string{"404 Not Found (check api-url"}},
		{413, `request too large`, []string{"413 Request Entity Too Large: request too large"}},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, tt.status, tt.body) })
			c := newTestClient(t, srv)
			_, err := c.ListPRScans(context.Background(), PRScanQuery{})
			if err == nil {
				t.Fatal("ListPRScans() error = nil")
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.status {
				t.Fatalf("ListPRScans() error = %v, want an *APIError with status %d", err, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q\nwant it to contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "failed to list PR scans: GET /public_api/appsec/v1/scans/pr: ") {
				t.Errorf("error = %q, want it to name what failed and the endpoint", err)
			}
			if n := len(rec.requests()); n != 1 {
				t.Errorf("%d requests, want 1: %d is not worth retrying", n, tt.status)
			}
			checkNoKey(t, "error", err.Error())
		})
	}
}

func TestErrorMessageSanitised(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 401, `{"reply":{"err_code":401,"err_msg":"bad key `+testKey+`\u001b[31m red\r\n\u202eevil `+long+`"}}`)
	})
	_, err := newTestClient(t, srv).Issues(context.Background(), "s")
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("Issues() error = %v, want *APIError", err)
	}
	checkNoKey(t, "error", err.Error())
	if !strings.HasPrefix(ae.Message, "bad key [redacted] [31m red evil xxx") {
		t.Errorf("Message = %q, want the key redacted and control characters gone", ae.Message)
	}
	if n := len([]rune(ae.Message)); n > maxMessage+1 || !strings.HasSuffix(ae.Message, "…") {
		t.Errorf("Message has %d runes (ends %q), want at most %d and an ellipsis", n, ae.Message[len(ae.Message)-5:], maxMessage+1)
	}
	for _, r := range ae.Message {
		if r < 0x20 || r == 0x202e {
			t.Errorf("Message keeps control character %U", r)
		}
	}
}

func TestHTMLError502(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"))
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryTime = 50 * time.Millisecond })
	_, err := c.ListCIScans(context.Background(), CIScanQuery{})
	if err == nil {
		t.Fatal("ListCIScans() error = nil")
	}
	for _, want := range []string{"GET /public_api/appsec/v1/scans/ci: 502 Bad Gateway", "HTML page, not JSON", "502 Bad Gateway", "gave up after"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
	if n := len(rec.requests()); n < 2 {
		t.Errorf("%d requests, want 502 retried", n)
	}
}

func TestServerErrorRetriedThenExhausted(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 599} {
		var mu sync.Mutex
		var logs []string
		srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, status, `{"reply":{"err_code":1,"err_msg":"internal"}}`)
		})
		c := newTestClient(t, srv, func(cfg *Config) {
			cfg.MaxRetryTime = 60 * time.Millisecond
			cfg.Debugf = func(f string, a ...any) {
				mu.Lock()
				defer mu.Unlock()
				logs = append(logs, fmt.Sprintf(f, a...))
			}
		})
		_, err := c.Findings(context.Background(), "s")
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != status {
			t.Fatalf("%d: Findings() error = %v, want the last *APIError", status, err)
		}
		n := len(rec.requests())
		if n < 3 || int64(n) != c.Requests() {
			t.Errorf("%d: %d requests (client counted %d), want several, counted alike", status, n, c.Requests())
		}
		if !strings.Contains(err.Error(), "gave up after") {
			t.Errorf("%d: error = %q, want it to say retries ran out", status, err)
		}
		mu.Lock()
		if len(logs) != n-1 {
			t.Errorf("%d: %d retry notices for %d attempts, want one per retry", status, len(logs), n)
		} else if l := logs[0]; !strings.Contains(l, "/scans/s/findings") || !strings.Contains(l, "internal") || !strings.Contains(l, "retrying in") {
			t.Errorf("%d: retry notice %q, want endpoint, status and wait", status, l)
		}
		for _, l := range logs {
			checkNoKey(t, "retry notice", l)
		}
		mu.Unlock()
	}
}

func TestServerErrorThenSuccess(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeJSON(w, 504, ``)
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

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"errorCode":"TOO_MANY_REQUESTS","message":"slow down"}`)
			return
		}
		writeJSON(w, 200, `[]`)
	})
	c := newTestClient(t, srv)
	if _, err := c.ListPRScans(context.Background(), PRScanQuery{}); err != nil {
		t.Fatalf("ListPRScans() error = %v", err)
	}
	ts := rec.timestamps()
	if len(ts) != 2 {
		t.Fatalf("%d requests, want 2", len(ts))
	}
	if gap := ts[1].Sub(ts[0]); gap < time.Second {
		t.Errorf("retried after %s, want at least the 1s of Retry-After (backoff alone is milliseconds here)", gap)
	}
}

func TestRetryAfterBeyondBudget(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 429, `{"errorCode":"TOO_MANY_REQUESTS","message":"slow down"}`)
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryTime = 500 * time.Millisecond })
	_, err := c.ListPRScans(context.Background(), PRScanQuery{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.RetryAfter != 30*time.Second {
		t.Fatalf("ListPRScans() error = %v, want the 429 with RetryAfter 30s", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests, want 1: waiting 30s would overrun the 500ms retry budget", n)
	}
	if !strings.Contains(err.Error(), "lower rate-limit") {
		t.Errorf("error = %q, want the 429 hint", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"2":                             2 * time.Second,
		"3600":                          time.Minute,
		"99999999999999999999":          0,
		"Wed, 01 May 2024 10:00:05 GMT": 5 * time.Second,
		"Wed, 01 May 2024 09:59:00 GMT": 0,
		"Thu, 02 May 2024 10:00:00 GMT": time.Minute,
		"soon":                          0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMalformedResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"empty body", "application/json", "", "malformed response: empty body"},
		{"white space", "application/json", " \n ", "malformed response: the body is only white space"},
		{"malformed JSON", "application/json", `[{"issue_id":"a"},{"issue_id":}]`, "malformed response: invalid JSON at byte"},
		{"HTML 200", "text/html", "<!DOCTYPE html><html><title>Sign in</title></html>", "malformed response: the server sent an HTML page, not JSON"},
		{"string", "application/json", `"ok"`, "malformed response: expected a JSON array of items, got a string"},
		{"number", "application/json", `42`, "malformed response: expected a JSON array of items, got a number"},
		{"object without data", "application/json", `{"total":3,"items":[{"issue_id":"a"}]}`, `malformed response: a JSON object without an item array`},
		{"error with 200", "application/json", `{"reply":{"err_code":500,"err_msg":"backend unavailable"}}`, "malformed response: an object without items, saying: backend unavailable"},
		{"item not an object", "application/json", `[{"issue_id":"a"},"b"]`, "malformed response: item 2 is a JSON string, not an object"},
		{"trailing garbage", "application/json", `[] <html>`, "malformed response: unexpected data after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", tt.contentType)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := newTestClient(t, srv).Issues(context.Background(), "s")
			if err == nil {
				t.Fatal("Issues() error = nil")
			}
			want := "failed to list issues of scan \"s\": GET /public_api/appsec/v1/scans/s/issues: " + tt.want
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q\nwant prefix %q", err, want)
			}
			if n := len(rec.requests()); n != 1 {
				t.Errorf("%d requests, want 1: the same body would come again", n)
			}
		})
	}
}

// truncate answers with a Content-Length the body never reaches, then hangs
// up: what a crashed backend or a dropped connection looks like.
func truncate(w http.ResponseWriter, body string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	writeRaw(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"+body)
}

func writeRaw(buf *bufio.ReadWriter, s string) {
	_, _ = buf.WriteString(s)
	_ = buf.Flush()
}

func TestTruncatedBody(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		truncate(w, `[{"issue_id":"a"},{"issue_id":"b`)
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryTime = 30 * time.Millisecond })
	_, err := c.Issues(context.Background(), "s")
	if err == nil || !strings.Contains(err.Error(), "GET /public_api/appsec/v1/scans/s/issues: malformed response: truncated body after 32 bytes") {
		t.Errorf("Issues() error = %v, want a truncated body named", err)
	}
	if n := len(rec.requests()); n < 2 {
		t.Errorf("%d requests, want a cut body retried", n)
	}

	// Cut once, whole the next time: no item of the cut attempt survives.
	srv2, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			truncate(w, `[{"issue_id":"a"},{"issue_id":"b"},{"issue_id":"c`)
			return
		}
		writeJSON(w, 200, `[{"issue_id":"a"},{"issue_id":"b"}]`)
	})
	issues, err := newTestClient(t, srv2).Issues(context.Background(), "s")
	if err != nil || strings.Join(issueIDs(issues), ",") != "a,b" {
		t.Errorf("Issues() = %v, %v; want a,b", issueIDs(issues), err)
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"issue_id":"`))
		chunk := []byte(strings.Repeat("a", 1<<10))
		for range 65 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`"}]`))
	})
	c := newTestClient(t, srv)
	if c.maxPageBytes != 64<<20 {
		t.Errorf("maxPageBytes = %d, want 64 MiB", c.maxPageBytes)
	}
	c.maxPageBytes = 64 << 10
	_, err := c.Issues(context.Background(), "s")
	if err == nil || !strings.Contains(err.Error(), "malformed response: the body is larger than 64 KiB") {
		t.Errorf("Issues() error = %v, want the size cap named", err)
	}
}
