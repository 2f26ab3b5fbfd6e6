package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// standardAuth are the headers of the demo's standard key.
func standardAuth() http.Header {
	return http.Header{"X-Xdr-Auth-Id": {DemoKeyID}, "Authorization": {DemoKey}}
}

// advancedAuth computes advanced-key headers independently of the cortex
// package, from the definition in NOTES.md.
func advancedAuth(keyID, key string, at time.Time) http.Header {
	nonce := strings.Repeat("aB3", 21) + "x" // 64 characters
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	sum := sha256.Sum256([]byte(key + nonce + ts))
	return http.Header{
		"X-Xdr-Auth-Id":   {keyID},
		"X-Xdr-Nonce":     {nonce},
		"X-Xdr-Timestamp": {ts},
		"Authorization":   {hex.EncodeToString(sum[:])},
	}
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET base+target with header.
func get(t testing.TB, base, target string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", target, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// list decodes a bare-array response into objects, failing on anything else.
func (r response) list(t testing.TB) []map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v: %s", err, r.body)
	}
	return out
}

// ids returns the scanId of each item.
func ids(items []map[string]any) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it["scanId"].(string))
	}
	return out
}

// serve starts sc on a loopback server with the given clock.
func serve(t testing.TB, sc *Scenario, c *clock) (*Server, *httptest.Server) {
	t.Helper()
	s := New(sc, Options{Now: c.Now})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func mustParse(t testing.TB, js string) *Scenario {
	t.Helper()
	sc, err := Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return sc
}

func mustLoad(t testing.TB, name string) *Scenario {
	t.Helper()
	sc, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return sc
}

const (
	prPath = "/public_api/appsec/v1/scans/pr"
	ciPath = "/public_api/appsec/v1/scans/ci"
)

func issuesPath(id string) string   { return "/public_api/appsec/v1/scans/" + id + "/issues" }
func findingsPath(id string) string { return "/public_api/appsec/v1/scans/" + id + "/findings" }
