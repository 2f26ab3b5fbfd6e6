package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub is just enough of GitHub's REST API for the sticky comment and
// the check run. It records every request, headers and body, so tests can
// search everything the gate sent.
type fakeGitHub struct {
	srv *httptest.Server
	// fail makes every write answer 422 with a body that echoes the
	// request's headers, as a careless proxy does. (A 5xx would be retried
	// for 30 s per call: publish/github's retry budget, not settable.)
	fail bool

	mu       sync.Mutex
	requests []ghRequest
	comments map[int64]string
	nextID   int64
}

type ghRequest struct {
	Method, Path string
	Header       http.Header
	Body         string
}

func newFakeGitHub(t testing.TB, fail bool) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{fail: fail, comments: map[int64]string{}, nextID: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var (
	commentsPath = regexp.MustCompile(`^/repos/[^/]+/[^/]+/issues/(\d+)/comments$`)
	commentPath  = regexp.MustCompile(`^/repos/[^/]+/[^/]+/issues/comments/(\d+)$`)
	checkRuns    = regexp.MustCompile(`^/repos/[^/]+/[^/]+/check-runs(/\d+)?$`)
)

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p := strings.TrimPrefix(r.URL.Path, "/api/v3")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, ghRequest{Method: r.Method, Path: p, Header: r.Header.Clone(), Body: string(body)})
	w.Header().Set("Content-Type", "application/json")
	reply := func(code int, v any) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	if f.fail && r.Method != http.MethodGet {
		reply(http.StatusUnprocessableEntity, map[string]any{"message": fmt.Sprintf("upstream failed for request with headers %v", r.Header)})
		return
	}
	html := "https://github.com/acme/payments-api/pull/42#issuecomment-"
	bot := map[string]any{"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
	switch {
	case p == "/user":
		reply(http.StatusForbidden, map[string]any{"message": "Resource not accessible by integration"})
	case r.Method == http.MethodGet && commentsPath.MatchString(p):
		var list []map[string]any
		for id, b := range f.comments {
			list = append(list, map[string]any{"id": id, "body": b, "user": bot, "html_url": fmt.Sprint(html, id)})
		}
		reply(http.StatusOK, list)
	case r.Method == http.MethodPost && commentsPath.MatchString(p):
		var in struct{ Body string }
		_ = json.Unmarshal(body, &in)
		f.nextID++
		f.comments[f.nextID] = in.Body
		reply(http.StatusCreated, map[string]any{"id": f.nextID, "body": in.Body, "user": bot, "html_url": fmt.Sprint(html, f.nextID)})
	case r.Method == http.MethodPatch && commentPath.MatchString(p):
		var in struct{ Body string }
		_ = json.Unmarshal(body, &in)
		var id int64
		fmt.Sscan(commentPath.FindStringSubmatch(p)[1], &id)
		f.comments[id] = in.Body
		reply(http.StatusOK, map[string]any{"id": id, "body": in.Body, "user": bot, "html_url": fmt.Sprint(html, id)})
	case checkRuns.MatchString(p) && (r.Method == http.MethodPost || r.Method == http.MethodPatch):
		reply(http.StatusCreated, map[string]any{"id": 77, "html_url": "https://github.com/acme/payments-api/runs/77"})
	default:
		reply(http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

// posted returns the recorded requests.
func (f *fakeGitHub) posted() []ghRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ghRequest(nil), f.requests...)
}

// commentBodies are the bodies of the comments the gate created or edited.
func (f *fakeGitHub) commentBodies(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range f.posted() {
		if (r.Method == http.MethodPost && commentsPath.MatchString(r.Path)) || (r.Method == http.MethodPatch && commentPath.MatchString(r.Path)) {
			var in struct{ Body string }
			if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
				t.Fatalf("comment request body is not JSON: %v", err)
			}
			out = append(out, in.Body)
		}
	}
	return out
}

// checkRunOutputs are the output objects of the check-run requests.
type checkRunOutput struct {
	Title       string            `json:"title"`
	Summary     string            `json:"summary"`
	Text        string            `json:"text"`
	Annotations []json.RawMessage `json:"annotations"`
}

func (f *fakeGitHub) checkRunOutputs(t *testing.T) []checkRunOutput {
	t.Helper()
	var out []checkRunOutput
	for _, r := range f.posted() {
		if checkRuns.MatchString(r.Path) && r.Method != http.MethodGet {
			var in struct {
				Output *checkRunOutput `json:"output"`
			}
			if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
				t.Fatalf("check run request body is not JSON: %v", err)
			}
			if in.Output != nil {
				out = append(out, *in.Output)
			}
		}
	}
	return out
}

// actionsEnv is a GitHub Actions pull_request run of PR 42 whose API is
// the fake; the event payload is written to dir.
func actionsEnv(t testing.TB, gh *fakeGitHub, dir string, fork bool) map[string]string {
	t.Helper()
	head := "acme/payments-api"
	if fork {
		head = "mallory/payments-api"
	}
	event := fmt.Sprintf(`{"action": "synchronize", "number": 42, "pull_request": {"number": 42, "state": "open",
		"head": {"ref": "feature/checkout", "sha": %q, "repo": {"full_name": %q}},
		"base": {"ref": "main", "sha": "1111111111111111111111111111111111111111", "repo": {"full_name": "acme/payments-api"}}}}`, commit, head)
	path := filepath.Join(dir, "event.json")
	if err := os.WriteFile(path, []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": path,
		"GITHUB_REPOSITORY": "acme/payments-api", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_RUN_ID": "4242", "GITHUB_SHA": "2222222222222222222222222222222222222222",
		"GITHUB_REF": "refs/pull/42/merge", "GITHUB_HEAD_REF": "feature/checkout",
	}
	if gh != nil {
		env["GITHUB_API_URL"] = gh.srv.URL
	}
	return env
}
