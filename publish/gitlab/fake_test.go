package gitlab

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"
)

// notesDoc is GitLab's notes API, transcribed from its documentation.
const notesDoc = "../../../shared/oracles/gitlab/notes-api.json"

// notesAPI is what the fake checks traffic against, read from notesDoc.
type notesAPI struct {
	ops map[string]notesOp // list, create, update
	// noteKeys and authorKeys are the fields of a note object.
	noteKeys, authorKeys []string
	example              map[string]any
}

type notesOp struct {
	Method string         `json:"method"`
	Path   string         `json:"path"`
	Body   map[string]any `json:"body"`
	re     *regexp.Regexp
}

var (
	loadNotesOnce sync.Once
	loadedNotes   *notesAPI
	loadNotesErr  error
)

func loadNotesAPI(t *testing.T) *notesAPI {
	t.Helper()
	loadNotesOnce.Do(func() {
		data, err := os.ReadFile(notesDoc)
		if err != nil {
			loadNotesErr = err
			return
		}
		var doc struct {
			List, Create, Update notesOp
			Example              map[string]any `json:"note_object_example"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			loadNotesErr = err
			return
		}
		api := &notesAPI{ops: map[string]notesOp{"list": doc.List, "create": doc.Create, "update": doc.Update}, example: doc.Example}
		for name, op := range api.ops {
			// ":id" and friends are one escaped path segment each.
			pattern := regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(regexp.QuoteMeta(op.Path), `([^/]+)`)
			op.re = regexp.MustCompile(`^/api/v4` + pattern + `$`)
			api.ops[name] = op
		}
		api.noteKeys = slices.Sorted(maps.Keys(doc.Example))
		api.authorKeys = slices.Sorted(maps.Keys(doc.Example["author"].(map[string]any)))
		loadedNotes = api
	})
	if loadNotesErr != nil {
		t.Fatalf("failed to load %s: %v", notesDoc, loadNotesErr)
	}
	return loadedNotes
}

type user struct {
	ID       int64
	Username string
}

var (
	projectBot = user{ID: 9001, Username: "project_42_bot_5f1e"}
	alice      = user{ID: 11, Username: "alice"}
)

type fakeNote struct {
	id     int64
	mr     int
	author user
	body   string
	system bool
}

type fault struct {
	status int
	header http.Header
	body   string
}

// fakeGitLab keeps merge request notes of one project in memory. Every
// request is checked against the documented notes API (method, path, id
// escaping, query values, body fields and limits, authentication) and every
// note it serves has exactly the documented fields.
type fakeGitLab struct {
	t       *testing.T
	api     *notesAPI
	project string // the escaped id the fake answers to
	srv     *httptest.Server

	mu       sync.Mutex
	tokens   map[string]user // PRIVATE-TOKEN values
	readOnly map[string]bool // tokens whose user may read but not write
	notes    []*fakeNote
	nextID   int64
	faults   map[string][]fault
	calls    []string
	perPage  int // the page size the fake serves, at most what was asked
	noNext   bool
}

func newFakeGitLab(t *testing.T, project string) *fakeGitLab {
	t.Helper()
	f := &fakeGitLab{
		t: t, api: loadNotesAPI(t), project: project,
		tokens: map[string]user{}, readOnly: map[string]bool{}, faults: map[string][]fault{}, nextID: 300,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitLab) apiURL() string { return f.srv.URL + "/api/v4" }

func (f *fakeGitLab) seed(mr int, author user, body string, system bool) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.notes = append(f.notes, &fakeNote{id: f.nextID, mr: mr, author: author, body: body, system: system})
	return f.nextID
}

func (f *fakeGitLab) addToken(secret string, u user, readOnly bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[secret] = u
	f.readOnly[secret] = readOnly
}

func (f *fakeGitLab) failNext(op string, ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], ft)
}

func (f *fakeGitLab) notesOn(mr int) []fakeNote {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeNote
	for _, n := range f.notes {
		if n.mr == mr {
			out = append(out, *n)
		}
	}
	return out
}

func (f *fakeGitLab) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := r.URL.EscapedPath()
	op, args := f.route(r.Method, path)
	f.calls = append(f.calls, r.Method+" "+op)
	if op == "" {
		f.t.Errorf("%s %s: not an endpoint of the notes API or GET /user", r.Method, path)
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not Found"})
		return
	}
	if r.Header.Get("JOB-TOKEN") != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	who, ok := f.tokens[r.Header.Get("PRIVATE-TOKEN")]
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	if q := f.faults[op]; len(q) > 0 {
		f.faults[op] = q[1:]
		for k, v := range q[0].header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(q[0].status)
		_, _ = io.WriteString(w, q[0].body)
		return
	}
	if op == "user" {
		writeJSON(w, http.StatusOK, map[string]any{"id": who.ID, "username": who.Username, "name": who.Username, "state": "active"})
		return
	}
	if args[0] != f.project {
		f.t.Errorf("%s %s: project id %q, want %q (numeric, or the path URL-escaped)", r.Method, path, args[0], f.project)
	}
	mr, err := strconv.Atoi(args[1])
	if err != nil {
		f.t.Errorf("%s %s: merge_request_iid %q is not a number", r.Method, path, args[1])
	}
	switch op {
	case "list":
		f.list(w, r, mr)
	case "create", "update":
		body, ok := f.readBody(w, r, op)
		if !ok {
			return
		}
		if f.readOnly[r.Header.Get("PRIVATE-TOKEN")] {
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "403 Forbidden"})
			return
		}
		if op == "create" {
			f.nextID++
			n := &fakeNote{id: f.nextID, mr: mr, author: who, body: body}
			f.notes = append(f.notes, n)
			writeJSON(w, http.StatusCreated, f.noteJSON(n))
			return
		}
		id, _ := strconv.ParseInt(args[2], 10, 64)
		for _, n := range f.notes {
			if n.id == id && n.mr == mr {
				if n.author != who {
					f.t.Errorf("PUT note %d: %s edited a note by %s", id, who.Username, n.author.Username)
					writeJSON(w, http.StatusForbidden, map[string]any{"message": "403 Forbidden"})
					return
				}
				n.body = body
				writeJSON(w, http.StatusOK, f.noteJSON(n))
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Note Not Found"})
	}
}

// route names the operation and its path arguments, still escaped.
func (f *fakeGitLab) route(method, path string) (string, []string) {
	if method == http.MethodGet && path == "/api/v4/user" {
		return "user", nil
	}
	for name, op := range f.api.ops {
		if m := op.re.FindStringSubmatch(path); m != nil && op.Method == method {
			return name, m[1:]
		}
	}
	return "", nil
}

func (f *fakeGitLab) list(w http.ResponseWriter, r *http.Request, mr int) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"sort", "order_by", "per_page", "page"}, k) {
			f.t.Errorf("GET notes: undocumented query parameter %q", k)
		}
	}
	if s := q.Get("sort"); s != "" && s != "asc" && s != "desc" {
		f.t.Errorf("GET notes: sort=%q, want asc or desc", s)
	}
	if s := q.Get("order_by"); s != "" && s != "created_at" && s != "updated_at" {
		f.t.Errorf("GET notes: order_by=%q, want created_at or updated_at", s)
	}
	perPage, page := atoiOr(q.Get("per_page"), 20), atoiOr(q.Get("page"), 1)
	if perPage > 100 {
		f.t.Errorf("GET notes: per_page=%d, GitLab serves at most 100", perPage)
	}
	if f.perPage > 0 {
		perPage = min(perPage, f.perPage)
	}
	var all []*fakeNote
	for _, n := range f.notes {
		if n.mr == mr {
			all = append(all, n)
		}
	}
	if q.Get("sort") != "asc" {
		slices.Reverse(all) // GitLab's default is newest first
	}
	lo := min((page-1)*perPage, len(all))
	hi := min(lo+perPage, len(all))
	items := []map[string]any{}
	for _, n := range all[lo:hi] {
		items = append(items, f.noteJSON(n))
	}
	next := ""
	if hi < len(all) {
		next = strconv.Itoa(page + 1)
	}
	if !f.noNext {
		w.Header().Set("X-Next-Page", next)
		w.Header().Set("X-Page", strconv.Itoa(page))
		w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
		w.Header().Set("X-Total", strconv.Itoa(len(all)))
	}
	writeJSON(w, http.StatusOK, items)
}

func (f *fakeGitLab) readBody(w http.ResponseWriter, r *http.Request, op string) (string, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("%s note: Content-Type %q", op, ct)
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("%s note: body is not a JSON object: %v", op, err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "400 Bad request"})
		return "", false
	}
	for k := range in {
		if _, ok := f.api.ops[op].Body[k]; !ok {
			f.t.Errorf("%s note: undocumented body field %q", op, k)
		}
	}
	body, ok := in["body"].(string)
	if !ok || body == "" {
		f.t.Errorf("%s note: body.body is missing or not a string", op)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is missing"})
		return "", false
	}
	if utf8.RuneCountInString(body) > MaxNoteChars {
		f.t.Errorf("%s note: body has %d characters, the limit is 1,000,000", op, utf8.RuneCountInString(body))
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"note": []string{"is too long (maximum is 1000000 characters)"}}})
		return "", false
	}
	return body, true
}

// noteJSON is a note with exactly the documented fields.
func (f *fakeGitLab) noteJSON(n *fakeNote) map[string]any {
	author := map[string]any{
		"id": n.author.ID, "username": n.author.Username, "email": n.author.Username + "@example.com",
		"name": n.author.Username, "state": "active", "created_at": "2013-09-30T13:46:01Z",
	}
	out := map[string]any{
		"id": n.id, "body": n.body, "attachment": nil, "author": author,
		"created_at": time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).Format(time.RFC3339),
		"updated_at": time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).Format(time.RFC3339),
		"system":     n.system, "noteable_id": 377, "noteable_type": "MergeRequest", "project_id": 42,
		"noteable_iid": n.mr, "resolvable": false, "confidential": false, "internal": false,
		"imported": false, "imported_from": "none",
	}
	if got := slices.Sorted(maps.Keys(out)); !slices.Equal(got, f.api.noteKeys) {
		f.t.Errorf("fake note fields %v, documented %v", got, f.api.noteKeys)
	}
	if got := slices.Sorted(maps.Keys(author)); !slices.Equal(got, f.api.authorKeys) {
		f.t.Errorf("fake author fields %v, documented %v", got, f.api.authorKeys)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

func newTestClient(t *testing.T, f *fakeGitLab, secret, projectID string) *Client {
	t.Helper()
	c, err := New(Config{Token: secret, APIURL: f.apiURL(), ProjectID: projectID,
		ProjectURL: "https://gitlab.example/acme/payments-api", HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	c.newBackOff = func() backoff.BackOff {
		return backoff.NewExponentialBackOff(backoff.WithInitialInterval(time.Millisecond), backoff.WithMaxInterval(5*time.Millisecond), backoff.WithMaxElapsedTime(0))
	}
	c.retryBudget = 2 * time.Second
	return c
}
