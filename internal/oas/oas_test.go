package oas

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeT records what a Middleware or Load reports, so tests can assert that a
// violation is reported without failing themselves. Methods other than those
// below are not used by the package and would panic on the nil embedded TB.
type fakeT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.fatal = true
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeT) reports() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errors...)
}

const petsDoc = `{
  "openapi": "3.0.0",
  "info": {"title": "pets", "version": "1"},
  "servers": [{"url": "https://pets.example.com/v1"}],
  "paths": {
    "/pets/{id}": {
      "parameters": [{"in": "path", "name": "id", "required": true, "schema": {"type": "string"}}],
      "get": {
        "parameters": [
          {"in": "header", "name": "X-Api-Key", "required": true, "schema": {"type": "string"}},
          {"in": "query", "name": "kind", "schema": {"type": "string", "enum": ["cat", "dog"]}}
        ],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}
          }}}}
        }
      }
    }
  }
}`

// exchange sends one request through d's middleware to a handler that
// answers body, and returns what the fake T was told.
func exchange(t *testing.T, d *Doc, opts Options, method, target string, header http.Header, body string) []string {
	t.Helper()
	ft := &fakeT{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})
	srv := httptest.NewServer(d.Middleware(ft, h, opts))
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(got) != body {
		t.Errorf("client got body %q, want the handler's %q unchanged", got, body)
	}
	return ft.reports()
}

func TestMiddlewareInlineDoc(t *testing.T) {
	t.Parallel()
	d := Parse(t, "pets", []byte(petsDoc))
	key := http.Header{"X-Api-Key": {"k"}}
	tests := []struct {
		name    string
		opts    Options
		target  string
		header  http.Header
		body    string
		wantErr []string // substrings, one per expected report; none: no report
	}{
		{name: "good", target: "/pets/1?kind=cat", header: key, body: `{"name":"rex","age":3}`},
		{name: "bad enum", target: "/pets/1?kind=bird", header: key, body: `{"name":"rex"}`,
			wantErr: []string{`GET /pets/1?kind=bird: request does not match pets: parameter "kind" in query`}},
		{name: "missing header", target: "/pets/1", body: `{"name":"rex"}`,
			wantErr: []string{`parameter "X-Api-Key" in header has an error: value is required but missing`}},
		{name: "missing required response field", target: "/pets/1", header: key, body: `{"age":3}`,
			wantErr: []string{`GET /pets/1: response 200 does not match pets: response body doesn't match schema: Error at "/name": property "name" is missing`}},
		{name: "wrong response type", target: "/pets/1", header: key, body: `{"name":"rex","age":"old"}`,
			wantErr: []string{`Error at "/age"`}},
		{name: "responses skipped", opts: Options{SkipResponses: true}, target: "/pets/1", header: key, body: `{}`},
		{name: "unknown path", target: "/owners/1", header: key, body: `{}`,
			wantErr: []string{"GET /owners/1: no operation for GET /owners/1 in pets"}},
		{name: "unknown path allowed", opts: Options{AllowUnknownPaths: true}, target: "/owners/1", header: key, body: `{}`},
		{name: "prefix stripped", opts: Options{PathPrefix: "/api/v3/"}, target: "/api/v3/pets/1", header: key, body: `{"name":"rex"}`},
		{name: "prefix must end at a segment", opts: Options{PathPrefix: "/api"}, target: "/apipets/1", header: key, body: `{"name":"rex"}`,
			wantErr: []string{"no operation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := exchange(t, d, tt.opts, http.MethodGet, tt.target, tt.header, tt.body)
			if len(got) != len(tt.wantErr) {
				t.Fatalf("reports = %q, want %d matching %q", got, len(tt.wantErr), tt.wantErr)
			}
			for i, w := range tt.wantErr {
				if !strings.Contains(got[i], w) {
					t.Errorf("report %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	t.Parallel()
	d := Parse(t, "pets", []byte(petsDoc))
	if err := d.ValidateResponse("GET", "/pets/7", 200, nil, []byte(`{"name":"a"}`)); err != nil {
		t.Errorf("valid body: %v", err)
	}
	if err := d.ValidateResponse("GET", "/pets/7", 200, nil, []byte(`{}`)); err == nil {
		t.Error("body without the required name passed")
	}
	// kin-openapi lets statuses the operation does not declare through.
	if err := d.ValidateResponse("GET", "/pets/7", 500, nil, []byte(`oops`)); err != nil {
		t.Errorf("undeclared status: %v", err)
	}
	if err := d.ValidateResponse("GET", "/nope", 200, nil, nil); err == nil {
		t.Error("unknown path passed")
	}
}

func TestValidateRequest(t *testing.T) {
	t.Parallel()
	d := Parse(t, "pets", []byte(petsDoc))
	req := httptest.NewRequest("GET", "/pets/1?kind=dog", nil)
	req.Header.Set("X-Api-Key", "k")
	if err := d.ValidateRequest(req); err != nil {
		t.Errorf("valid request: %v", err)
	}
	if req.URL.RawQuery != "kind=dog" {
		t.Errorf("query changed to %q by validation", req.URL.RawQuery)
	}
	req = httptest.NewRequest("GET", "/pets/1?kind=fish", nil)
	if err := d.ValidateRequest(req); err == nil || !strings.Contains(err.Error(), `parameter "X-Api-Key" in header`) || !strings.Contains(err.Error(), `parameter "kind" in query`) {
		t.Errorf("err = %v, want both the missing header and the bad enum", err)
	}
}

func TestMiddlewareLetsHijackThrough(t *testing.T) {
	t.Parallel()
	d := Parse(t, "pets", []byte(petsDoc))
	ft := &fakeT{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	})
	srv := httptest.NewServer(d.Middleware(ft, h, Options{}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/pets/1", nil)
	req.Header.Set("X-Api-Key", "k")
	if res, err := srv.Client().Do(req); err == nil {
		res.Body.Close()
		t.Error("request on a reset connection succeeded")
	}
	if got := ft.reports(); len(got) != 0 {
		t.Errorf("reports = %q, want none", got)
	}
}

func TestLoadFailsOnMissingFile(t *testing.T) {
	t.Parallel()
	ft := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Load(ft, "testdata/no-such-file.json")
	}()
	<-done
	got := ft.reports()
	if !ft.fatal || len(got) != 1 || !strings.Contains(got[0], "failed to load OpenAPI document testdata/no-such-file.json") {
		t.Errorf("reports = %q (fatal %v), want one fatal naming the file", got, ft.fatal)
	}
}

const cortexDoc = "../shared/cortex/appsec-papi.json"

var cortexAuth = http.Header{"Authorization": {"a-key"}, "X-Xdr-Auth-Id": {"7"}}

func TestCortexDoc(t *testing.T) {
	t.Parallel()
	d := Load(t, cortexDoc)
	if Load(t, cortexDoc) != d {
		t.Error("second Load parsed the document again, want the cached one")
	}
	const issue = `{"issue_id":"i1","scan_id":"s1","severity":"High","alert_name":"x","detection_method":"Cve Security",
		"asset_name":"a","file_path":"f","created":"2025-01-01T00:00:00Z","repo_id":"r","pull_request_id":"42","run_id":"",
		"branch":"b","assignee":"","resolution_status":"New","resolution_reason":"Resolved - Other","resolution_comment":""}`
	tests := []struct {
		name    string
		target  string
		header  http.Header
		body    string
		wantErr []string
	}{
		{name: "good PR list", target: "/public_api/appsec/v1/scans/pr?prId=42&repositories=a&repositories=b&scanHealth=COMPLETED&days=1&offset=0&limit=100",
			header: cortexAuth, body: `[{"scanId":"s1","scanHealth":"COMPLETED","pullRequestStatus":"FAILED","issuesFound":{"High":1}}]`},
		{name: "good issues", target: "/public_api/appsec/v1/scans/s1/issues?severity=High", header: cortexAuth, body: "[" + issue + "]"},
		{name: "undeclared scanHealth", target: "/public_api/appsec/v1/scans/pr?scanHealth=DONE", header: cortexAuth, body: `[]`,
			wantErr: []string{`parameter "scanHealth" in query has an error: value is not one of the allowed values`}},
		{name: "no auth headers", target: "/public_api/appsec/v1/scans/ci", body: `[]`,
			wantErr: []string{`parameter "Authorization" in header has an error: value is required but missing; parameter "x-xdr-auth-id" in header`}},
		{name: "issue missing a required field", target: "/public_api/appsec/v1/scans/s1/issues", header: cortexAuth,
			body:    "[" + strings.Replace(issue, `"alert_name":"x",`, "", 1) + "]",
			wantErr: []string{`response 200 does not match ../shared/cortex/appsec-papi.json: response body doesn't match schema: Error at "/0/alert_name": property "alert_name" is missing`}},
		{name: "many violations are capped", target: "/public_api/appsec/v1/scans/s1/findings", header: cortexAuth, body: `[{},{}]`,
			wantErr: []string{`property "last_observed" is missing | (and 30 more)`}},
		{name: "scan health not in the enum", target: "/public_api/appsec/v1/scans/ci", header: cortexAuth, body: `[{"scanHealth":"DONE"}]`,
			wantErr: []string{`Error at "/0/scanHealth"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := exchange(t, d, Options{}, http.MethodGet, tt.target, tt.header, tt.body)
			if len(got) != len(tt.wantErr) {
				t.Fatalf("reports = %q, want %d matching %q", got, len(tt.wantErr), tt.wantErr)
			}
			for i, w := range tt.wantErr {
				if !strings.Contains(got[i], w) {
					t.Errorf("report %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestGitHubDocLoads(t *testing.T) {
	t.Parallel()
	d := Load(t, "../shared/oracles/github-openapi-subset.json")
	// A GitHub Enterprise Server style request under /api/v3.
	got := exchange(t, d, Options{PathPrefix: "/api/v3"}, http.MethodGet,
		"/api/v3/repos/acme/payments-api/issues/42/comments?per_page=100", http.Header{"Accept": {"application/vnd.github+json"}}, `[]`)
	if len(got) != 0 {
		t.Errorf("reports = %q, want none", got)
	}
}
