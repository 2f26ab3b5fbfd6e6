package github

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/cortex-gate/cortex-gate/internal/oas"
)

// githubDoc is GitHub's REST description, trimmed to the endpoints the gate uses.
const githubDoc = "../shared/oracles/github-openapi-subset.json"

// account is a GitHub user or bot.
type account struct {
	Login string
	ID    int64
	Type  string // "User" or "Bot"
}

var (
	actionsBot = account{Login: "github-actions[bot]", ID: 41898282, Type: "Bot"}
	alice      = account{Login: "alice", ID: 1001, Type: "User"}
	gateBot    = account{Login: "cortex-gate-bot", ID: 2002, Type: "User"} // a PAT's machine user
)

// token is one credential the fake knows: whom it writes as, and whether it
// is an installation token (GET /user refused) or read-only (a fork PR).
type token struct {
	as           account
	installation bool
	readOnly     bool
}

type fakeComment struct {
	id      int64
	issue   int
	author  account
	body    string
	created time.Time
	updated time.Time
}

type fakeCheckRun struct {
	id          int64
	headSHA     string
	name        string
	conclusion  string
	title       string
	summary     string
	text        string
	annotations []map[string]any
}

// fault is an answer the fake gives instead of the real one, once; status 0
// drops the connection instead.
type fault struct {
	status int
	header http.Header
	body   string
}

// fakeGitHub keeps issue comments and check runs in memory. Every request
// and answer on a path GitHub's description covers is checked against it;
// GET /user, which the trimmed description lacks, is served beside it.
type fakeGitHub struct {
	t      *testing.T
	prefix string // "/api/v3" for GHES, "" for api.github.com
	srv    *httptest.Server

	mu        sync.Mutex
	tokens    map[string]token
	comments  []*fakeComment
	checkRuns map[int64]*fakeCheckRun
	nextID    int64
	faults    map[string][]fault // by operation, e.g. "POST comments"
	calls     []string           // operations in order
}

func newFakeGitHub(t *testing.T, prefix string) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{
		t:         t,
		prefix:    prefix,
		tokens:    map[string]token{},
		checkRuns: map[int64]*fakeCheckRun{},
		nextID:    100,
		faults:    map[string][]fault{},
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", f.listComments)
	api.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", f.createComment)
	api.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", f.editComment)
	api.HandleFunc("POST /repos/{owner}/{repo}/check-runs", f.createCheckRun)
	api.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", f.updateCheckRun)

	validated := checked(t, http.StripPrefix(prefix, api), prefix)
	root := http.NewServeMux()
	root.HandleFunc("GET "+prefix+"/user", f.user)
	root.Handle("/", validated)
	f.srv = httptest.NewServer(root)
	t.Cleanup(f.srv.Close)
	return f
}

// checked wraps the fake's API in the OpenAPI check; every test goes
// through here, so the check can be changed in one place.
func checked(t *testing.T, h http.Handler, prefix string) http.Handler {
	return oas.Load(t, githubDoc).Middleware(t, h, oas.Options{PathPrefix: prefix})
}

// url is the API root a client should be given.
func (f *fakeGitHub) url() string { return f.srv.URL + f.prefix }

func (f *fakeGitHub) addToken(secret string, tk token) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[secret] = tk
}

// seed adds a comment as if author had written it earlier.
func (f *fakeGitHub) seed(issue int, author account, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(f.nextID) * time.Minute)
	f.comments = append(f.comments, &fakeComment{id: f.nextID, issue: issue, author: author, body: body, created: at, updated: at})
	return f.nextID
}

// failNext makes the next call of op answer with status.
func (f *fakeGitHub) failNext(op string, ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], ft)
}

// commentsOn is a snapshot of the issue's comments, oldest first.
func (f *fakeGitHub) commentsOn(issue int) []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeComment
	for _, c := range f.comments {
		if c.issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

func (f *fakeGitHub) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeGitHub) runs() []fakeCheckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCheckRun
	for id := int64(0); id <= f.nextID; id++ {
		if r, ok := f.checkRuns[id]; ok {
			out = append(out, *r)
		}
	}
	return out
}

// enter authenticates the request, logs op, and serves a pending fault.
// It returns the caller's token, or false when it already answered.
func (f *fakeGitHub) enter(w http.ResponseWriter, r *http.Request, op string) (token, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	if got := r.Header.Get("Accept"); !strings.Contains(got, "application/vnd.github") && !strings.Contains(got, "application/json") {
		f.t.Errorf("%s: Accept %q", op, got)
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tk, known := f.tokens[secret]
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
		return token{}, false
	}
	if q := f.faults[op]; len(q) > 0 {
		f.faults[op] = q[1:]
		ft := q[0]
		if ft.status == 0 {
			// The connection drops before an answer.
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
			return token{}, false
		}
		for k, v := range ft.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(ft.status)
		_, _ = io.WriteString(w, ft.body)
		return token{}, false
	}
	return tk, true
}

func (f *fakeGitHub) notWritable(w http.ResponseWriter, tk token) bool {
	if !tk.readOnly {
		return false
	}
	writeJSON(w, http.StatusForbidden, map[string]any{
		"message":           "Resource not accessible by integration",
		"documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
		"status":            "403",
	})
	return true
}

func (f *fakeGitHub) user(w http.ResponseWriter, r *http.Request) {
	tk, ok := f.enter(w, r, "GET user")
	if !ok {
		return
	}
	if tk.installation {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"message":           "Resource not accessible by integration",
			"documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
			"status":            "403",
		})
		return
	}
	writeJSON(w, http.StatusOK, f.userJSON(tk.as))
}

func (f *fakeGitHub) listComments(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.enter(w, r, "GET comments"); !ok {
		return
	}
	issue, _ := strconv.Atoi(r.PathValue("number"))
	perPage := atoiOr(r.URL.Query().Get("per_page"), 30)
	page := atoiOr(r.URL.Query().Get("page"), 1)
	f.mu.Lock()
	var all []*fakeComment
	for _, c := range f.comments {
		if c.issue == issue {
			all = append(all, c)
		}
	}
	lo := min((page-1)*perPage, len(all))
	hi := min(lo+perPage, len(all))
	items := make([]map[string]any, 0, hi-lo)
	for _, c := range all[lo:hi] {
		items = append(items, f.commentJSON(r, c))
	}
	f.mu.Unlock()
	if hi < len(all) {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, f.srv.URL, next.RequestURI()))
	}
	writeJSON(w, http.StatusOK, items)
}

func (f *fakeGitHub) createComment(w http.ResponseWriter, r *http.Request) {
	tk, ok := f.enter(w, r, "POST comments")
	if !ok || f.notWritable(w, tk) {
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	if len([]rune(in.Body)) > MaxCommentChars {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	issue, _ := strconv.Atoi(r.PathValue("number"))
	f.mu.Lock()
	f.nextID++
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &fakeComment{id: f.nextID, issue: issue, author: tk.as, body: in.Body, created: now, updated: now}
	f.comments = append(f.comments, c)
	out := f.commentJSON(r, c)
	f.mu.Unlock()
	w.Header().Set("Location", out["url"].(string))
	writeJSON(w, http.StatusCreated, out)
}

func (f *fakeGitHub) editComment(w http.ResponseWriter, r *http.Request) {
	tk, ok := f.enter(w, r, "PATCH comment")
	if !ok || f.notWritable(w, tk) {
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.comments {
		if c.id != id {
			continue
		}
		if c.author.Login != tk.as.Login {
			// GitHub lets repository admins edit anyone's comment; the gate
			// must never do that, so the fake treats it as a test failure.
			f.t.Errorf("PATCH comment %d: %s edited a comment by %s", id, tk.as.Login, c.author.Login)
		}
		c.body = in.Body
		c.updated = time.Date(2024, 6, 2, 12, 0, 0, 0, time.UTC)
		writeJSON(w, http.StatusOK, f.commentJSON(r, c))
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
}

type checkRunIn struct {
	Name       string `json:"name"`
	HeadSHA    string `json:"head_sha"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	Output     *struct {
		Title       string           `json:"title"`
		Summary     string           `json:"summary"`
		Text        string           `json:"text"`
		Annotations []map[string]any `json:"annotations"`
	} `json:"output"`
}

func (f *fakeGitHub) createCheckRun(w http.ResponseWriter, r *http.Request) {
	tk, ok := f.enter(w, r, "POST check-runs")
	if !ok || f.notWritable(w, tk) {
		return
	}
	var in checkRunIn
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	cr := &fakeCheckRun{id: f.nextID, headSHA: in.HeadSHA, name: in.Name, conclusion: in.Conclusion}
	f.applyOutput(cr, in)
	f.checkRuns[cr.id] = cr
	f.calls[len(f.calls)-1] += fmt.Sprintf(" (%d annotations)", len(in.Output.Annotations))
	writeJSON(w, http.StatusCreated, f.checkRunJSON(r, cr))
}

func (f *fakeGitHub) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	tk, ok := f.enter(w, r, "PATCH check-run")
	if !ok || f.notWritable(w, tk) {
		return
	}
	var in checkRunIn
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	cr, ok := f.checkRuns[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	if in.Conclusion != "" {
		cr.conclusion = in.Conclusion
	}
	f.applyOutput(cr, in)
	n := 0
	if in.Output != nil {
		n = len(in.Output.Annotations)
	}
	f.calls[len(f.calls)-1] += fmt.Sprintf(" (%d annotations)", n)
	writeJSON(w, http.StatusOK, f.checkRunJSON(r, cr))
}

// applyOutput replaces title, summary and text and appends annotations, as
// GitHub does.
func (f *fakeGitHub) applyOutput(cr *fakeCheckRun, in checkRunIn) {
	if in.Output == nil {
		return
	}
	cr.title, cr.summary, cr.text = in.Output.Title, in.Output.Summary, in.Output.Text
	cr.annotations = append(cr.annotations, in.Output.Annotations...)
}

func (f *fakeGitHub) userJSON(a account) map[string]any {
	base := "https://github.example/api/v3/users/" + a.Login
	return map[string]any{
		"login": a.Login, "id": a.ID, "node_id": "MDQ6VXNlcj" + strconv.FormatInt(a.ID, 10),
		"avatar_url": "https://avatars.example/u/" + strconv.FormatInt(a.ID, 10), "gravatar_id": "",
		"url": base, "html_url": "https://github.example/" + a.Login,
		"followers_url": base + "/followers", "following_url": base + "/following{/other_user}",
		"gists_url": base + "/gists{/gist_id}", "starred_url": base + "/starred{/owner}{/repo}",
		"subscriptions_url": base + "/subscriptions", "organizations_url": base + "/orgs",
		"repos_url": base + "/repos", "events_url": base + "/events{/privacy}",
		"received_events_url": base + "/received_events", "type": a.Type, "site_admin": false,
	}
}

func (f *fakeGitHub) commentJSON(r *http.Request, c *fakeComment) map[string]any {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	api := f.srv.URL + f.prefix + "/repos/" + owner + "/" + repo
	return map[string]any{
		"id": c.id, "node_id": "IC_" + strconv.FormatInt(c.id, 10),
		"url":        api + "/issues/comments/" + strconv.FormatInt(c.id, 10),
		"html_url":   fmt.Sprintf("https://github.example/%s/%s/pull/%d#issuecomment-%d", owner, repo, c.issue, c.id),
		"issue_url":  fmt.Sprintf("%s/issues/%d", api, c.issue),
		"body":       c.body,
		"user":       f.userJSON(c.author),
		"created_at": c.created.Format(time.RFC3339), "updated_at": c.updated.Format(time.RFC3339),
		"author_association": "CONTRIBUTOR",
	}
}

func (f *fakeGitHub) checkRunJSON(r *http.Request, cr *fakeCheckRun) map[string]any {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	api := f.srv.URL + f.prefix + "/repos/" + owner + "/" + repo + "/check-runs/" + strconv.FormatInt(cr.id, 10)
	var conclusion any
	status := "in_progress"
	if cr.conclusion != "" {
		conclusion, status = cr.conclusion, "completed"
	}
	return map[string]any{
		"id": cr.id, "node_id": "CR_" + strconv.FormatInt(cr.id, 10), "head_sha": cr.headSHA, "name": cr.name,
		"url": api, "html_url": fmt.Sprintf("https://github.example/%s/%s/runs/%d", owner, repo, cr.id),
		"details_url": nil, "external_id": nil, "status": status, "conclusion": conclusion,
		"started_at": "2024-06-01T12:00:00Z", "completed_at": "2024-06-01T12:05:00Z",
		"output": map[string]any{
			"title": cr.title, "summary": cr.summary, "text": cr.text,
			"annotations_count": len(cr.annotations), "annotations_url": api + "/annotations",
		},
		"check_suite": map[string]any{"id": 5}, "app": nil, "pull_requests": []any{},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

// newTestClient is a client for the fake with a retry policy of
// milliseconds.
func newTestClient(t *testing.T, f *fakeGitHub, secret string, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{Token: secret, APIURL: f.url(), Owner: "acme", Repo: "payments-api", HTTPClient: f.srv.Client()}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	c.newBackOff = func() backoff.BackOff {
		return backoff.NewExponentialBackOff(backoff.WithInitialInterval(time.Millisecond), backoff.WithMaxInterval(5*time.Millisecond), backoff.WithMaxElapsedTime(0))
	}
	c.retryBudget = 2 * time.Second
	return c
}
