package cortex

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testKeyID = "241"
	testKey   = "s3cr3t-KEY-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
)

// newTestClient returns a client of srv whose retries take milliseconds and
// whose rate limit does not slow tests down. mods adjust the Config.
func newTestClient(t *testing.T, srv *httptest.Server, mods ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL:      srv.URL,
		KeyID:        testKeyID,
		Key:          testKey,
		RateLimit:    1000,
		MaxRetryTime: 2 * time.Second,
		HTTPClient:   srv.Client(),
		Debugf:       t.Logf,
		PageSize:     100, // the paging tests count pages of 100
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	c.initialInterval = time.Millisecond
	c.maxInterval = 5 * time.Millisecond
	return c
}

// recorder is a handler that keeps every request it served.
type recorder struct {
	mu    sync.Mutex
	reqs  []*http.Request
	times []time.Time
	serve func(w http.ResponseWriter, r *http.Request, n int) // n counts from 1
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(r.Context()))
	rec.times = append(rec.times, time.Now())
	n := len(rec.reqs)
	rec.mu.Unlock()
	rec.serve(w, r, n)
}

func (rec *recorder) requests() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*http.Request(nil), rec.reqs...)
}

func (rec *recorder) timestamps() []time.Time {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]time.Time(nil), rec.times...)
}

func serve(t *testing.T, fn func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{serve: fn}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// pagedIssues serves total issues honouring offset and limit.
func pagedIssues(total int) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		lim, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var items []string
		for i := off; i < total && i < off+lim; i++ {
			items = append(items, issueJSON(i))
		}
		writeJSON(w, 200, "["+strings.Join(items, ",")+"]")
	}
}

func issueJSON(i int) string {
	b, _ := json.Marshal(map[string]any{
		"issue_id":           fmt.Sprintf("iss-%06d", i),
		"scan_id":            "scan-1",
		"severity":           []string{"Critical", "High", "Medium", "Low"}[i%4],
		"alert_name":         fmt.Sprintf("Alert %d", i%37),
		"detection_method":   "Secrets Security",
		"asset_name":         "acme/widgets",
		"file_path":          fmt.Sprintf("src/pkg%d/file%d.go", i%50, i),
		"created":            "2024-05-01T10:00:00Z",
		"repo_id":            "repo-9",
		"pull_request_id":    "42",
		"run_id":             "",
		"branch":             "feature/x",
		"assignee":           "",
		"resolution_status":  "New",
		"resolution_reason":  "",
		"resolution_comment": "",
	})
	return string(b)
}

func issueIDs(issues []Issue) []string {
	ids := make([]string, len(issues))
	for i, is := range issues {
		ids[i] = is.ID
	}
	return ids
}
