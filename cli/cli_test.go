package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/internal/oas"
	"github.com/cortex-gate/cortex-gate/simulator"
)

const (
	demoCommit = "d9d6128af542cff33e8bbe3675aaafaa9e1a2710"
	testKey    = "sk-test-cortex-key-7f3a9c"
)

// tenant serves a built-in scenario (with test credentials), every request
// and response checked against the vendor's API description.
func tenant(t *testing.T, name string, edit func(*simulator.Scenario)) *httptest.Server {
	t.Helper()
	sc, err := simulator.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Auth == nil || sc.Auth.Type != "advanced" {
		sc.Auth = &simulator.Auth{KeyID: "7", Key: testKey}
	}
	if edit != nil {
		edit(sc)
	}
	doc := oas.Load(t, "../shared/cortex/appsec-papi.json")
	srv := httptest.NewServer(doc.Middleware(t, simulator.New(sc, simulator.Options{}), oas.Options{SkipResponses: sc.Dialect == "docs"}))
	t.Cleanup(srv.Close)
	return srv
}

type run struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
	dir            string
}

// gate runs the command in-process with env as the whole environment.
func runGate(t *testing.T, env map[string]string, args ...string) run {
	t.Helper()
	dir := t.TempDir()
	full := map[string]string{
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
	}
	for k, v := range env {
		full[k] = strings.ReplaceAll(v, "$DIR", dir)
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), append([]string{"run"}, args...), Env{
		Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return full[k] }, ReadFile: os.ReadFile,
	})
	r := run{code: code, stdout: stdout.String(), stderr: stderr.String(), dir: dir, outputs: map[string]string{}}
	if raw, err := os.ReadFile(full["GITHUB_OUTPUT"]); err == nil {
		r.outputs = parseOutputs(string(raw))
	}
	if raw, err := os.ReadFile(full["GITHUB_STEP_SUMMARY"]); err == nil {
		r.summary = string(raw)
	}
	return r
}

// parseOutputs reads heredoc-style GITHUB_OUTPUT entries.
func parseOutputs(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		k, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var v []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			v = append(v, lines[i])
		}
		out[k] = strings.Join(v, "\n")
	}
	return out
}

func cortexEnv(url string) map[string]string {
	return map[string]string{
		"CORTEX_API_URL": url + "/public_api/appsec/v1", "CORTEX_API_KEY_ID": "7", "CORTEX_API_KEY": testKey,
		"CORTEX_ORGANIZATION": "acme", "CORTEX_REPOSITORY": "payments-api", "CORTEX_PR_ID": "42",
		"CORTEX_COMMIT_SHA": demoCommit, "CORTEX_POLL_INTERVAL": "50ms", "CORTEX_TIMEOUT": "20s",
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestVerdictsAndExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scenario string
		env      map[string]string
		wantCode int
		verdict  string
		lastHas  string
	}{
		{"blocked-pr", nil, exitBlocked, "blocked", `blocked by Cortex policy "Block critical CVEs"`},
		{"blocked-pr-docs", nil, exitBlocked, "blocked", "fix the issues"},
		{"passed-pr", nil, exitOK, "passed", "Cortex passed"},
		{"advanced-key", map[string]string{"CORTEX_API_KEY_TYPE": "advanced"}, -1, "", ""},
		{"blocked-pr", map[string]string{"CORTEX_MODE": "report"}, exitOK, "blocked", "mode is report"},
		{"error-scan", nil, exitError, "error", "ERROR"},
		{"error-scan", map[string]string{"CORTEX_ON_ERROR": "pass"}, exitOK, "error", "Not enforced (on-error: pass)"},
		{"partial-pr", map[string]string{"CORTEX_PARTIAL_SCAN": "fail"}, exitError, "error", "PARTIALLY_COMPLETED"},
		{"passed-pr", map[string]string{"CORTEX_COMMIT_SHA": "1111111111111111111111111111111111111111", "CORTEX_TIMEOUT": "300ms"}, exitTimeout, "timeout", "raise timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.verdict, func(t *testing.T) {
			t.Parallel()
			srv := tenant(t, tt.scenario, nil)
			env := cortexEnv(srv.URL)
			if tt.scenario == "advanced-key" {
				sc, _ := simulator.Load("advanced-key")
				keyID, key, _ := credentials(sc)
				env["CORTEX_API_KEY"], env["CORTEX_API_KEY_ID"] = key, keyID
				tt.wantCode, tt.verdict = exitCodeOf(t, sc), ""
			}
			for k, v := range tt.env {
				env[k] = v
			}
			env["CORTEX_JSON_FILE"] = "$DIR/report.json"
			r := runGate(t, env)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if tt.verdict != "" && r.outputs["verdict"] != tt.verdict {
				t.Errorf("verdict output %q, want %q", r.outputs["verdict"], tt.verdict)
			}
			if !strings.Contains(lastLine(r.stderr), tt.lastHas) {
				t.Errorf("last stderr line %q lacks %q", lastLine(r.stderr), tt.lastHas)
			}
			if _, err := os.Stat(filepath.Join(r.dir, "report.json")); err != nil {
				t.Errorf("the JSON report was not written: %v", err)
			}
			if r.summary == "" {
				t.Error("no job summary written")
			}
		})
	}
}

// exitCodeOf is the code a scenario's single scan should give.
func exitCodeOf(t *testing.T, sc *simulator.Scenario) int {
	t.Helper()
	s := sc.Scans[0]
	if len(s.BlockingPolicies) > 0 || strings.EqualFold(s.Status, "FAILED") {
		return exitBlocked
	}
	return exitOK
}

func TestOutputsAreTheSpecsList(t *testing.T) {
	t.Parallel()
	srv := tenant(t, "blocked-pr", nil)
	env := cortexEnv(srv.URL)
	env["CORTEX_JSON_FILE"] = "$DIR/cortex.json"
	r := runGate(t, env)
	want := []string{"verdict", "blocked", "scan-id", "scan-type", "scan-health", "scan-status", "blocking-policies",
		"issues-count", "findings-count", "critical-count", "high-count", "medium-count", "low-count", "comment-url", "report-file"}
	for _, k := range want {
		if _, ok := r.outputs[k]; !ok {
			t.Errorf("output %s missing; got %v", k, r.outputs)
		}
	}
	if len(r.outputs) != len(want) {
		t.Errorf("outputs %v, want exactly %v", r.outputs, want)
	}
	var policies []string
	if err := json.Unmarshal([]byte(r.outputs["blocking-policies"]), &policies); err != nil || len(policies) != 2 {
		t.Errorf("blocking-policies = %q, want a JSON array of two names", r.outputs["blocking-policies"])
	}
	if r.outputs["blocked"] != "true" || r.outputs["scan-type"] != "pr" || r.outputs["scan-id"] != "sim-pr-42-blocked" ||
		r.outputs["issues-count"] != "12" || r.outputs["report-file"] != filepath.Join(r.dir, "cortex.json") {
		t.Errorf("outputs = %v", r.outputs)
	}
}

func TestBadSettingsAreAllNamedAtOnce(t *testing.T) {
	t.Parallel()
	r := runGate(t, map[string]string{"CORTEX_TIMEOUT": "forever", "CORTEX_MODE": "loud"}, "--fail-on-severity", "urgent")
	if r.code != exitError {
		t.Fatalf("exit %d, want 2", r.code)
	}
	for _, want := range []string{"invalid timeout \"forever\" (from CORTEX_TIMEOUT)", "invalid mode \"loud\"", "invalid fail-on-severity \"urgent\" (from flag --fail-on-severity)", "3 settings are invalid"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.outputs["verdict"] != "error" || r.outputs["blocked"] != "false" {
		t.Errorf("outputs %v, want verdict error even for bad settings", r.outputs)
	}
}

func TestMissingKeyOnForkPRExplainsSecrets(t *testing.T) {
	t.Parallel()
	event := filepath.Join(t.TempDir(), "event.json")
	payload := `{"action":"opened","number":7,"pull_request":{"number":7,"head":{"sha":"` + demoCommit + `","ref":"patch-1","repo":{"full_name":"someone/payments-api"}},"base":{"ref":"main","repo":{"full_name":"acme/payments-api"}}},"repository":{"full_name":"acme/payments-api","name":"payments-api","owner":{"login":"acme"}}}`
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runGate(t, map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event,
		"GITHUB_REPOSITORY": "acme/payments-api", "GITHUB_SHA": "ffffffffffffffffffffffffffffffffffffffff", "GITHUB_REF_NAME": "7/merge",
		"CORTEX_API_URL": "https://api-x.example", "CORTEX_API_KEY_ID": "7",
	})
	if r.code != exitError {
		t.Fatalf("exit %d, want 2", r.code)
	}
	for _, want := range []string{"api-key is required", "forks", "pull_request_target", "on-error: pass"} {
		if !strings.Contains(lastLine(r.stderr), want) {
			t.Errorf("last line lacks %q: %s", want, lastLine(r.stderr))
		}
	}
}

func TestActionsLogMasksFirstAndGroups(t *testing.T) {
	t.Parallel()
	srv := tenant(t, "blocked-pr", nil)
	env := cortexEnv(srv.URL)
	env["GITHUB_ACTIONS"] = "true"
	env["GITHUB_REPOSITORY"] = "acme/payments-api"
	env["GITHUB_EVENT_NAME"] = "workflow_dispatch"
	env["GITHUB_SHA"] = demoCommit
	env["GITHUB_REF_NAME"] = "main"
	env["CORTEX_SCAN_TYPE"] = "pr"
	r := runGate(t, env)
	if r.code != exitBlocked {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	first := strings.SplitN(r.stdout, "\n", 2)[0]
	if first != "::add-mask::"+testKey {
		t.Errorf("first line %q, want the mask before anything else", first)
	}
	if strings.Count(r.stdout, testKey) != 1 || strings.Contains(r.stderr, testKey) {
		t.Error("the key appears in the log beyond its mask command")
	}
	for _, want := range []string{"::group::", "::endgroup::", "::error file=ledger/build.gradle"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if n := strings.Count(r.stdout, "::error "); n > 10 {
		t.Errorf("%d error annotations, GitHub shows only 10", n)
	}
}

// fakeGitHub keeps issue comments in memory, checked against GitHub's REST description.
type fakeGitHub struct {
	mu        sync.Mutex
	comments  []map[string]any
	posts     int
	patches   int
	checkRuns []map[string]any // the bodies of check-run creates and updates
}

func (f *fakeGitHub) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/payments-api/issues/42/comments", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(append([]map[string]any{}, f.comments...))
	})
	mux.HandleFunc("POST /repos/acme/payments-api/issues/42/comments", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.posts++
		c := comment(len(f.comments)+1, in.Body)
		f.comments = append(f.comments, c)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("PATCH /repos/acme/payments-api/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.patches++
		for _, c := range f.comments {
			if r.PathValue("id") == strings.TrimPrefix(c["node_id"].(string), "IC_") {
				c["body"] = in.Body
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(c)
				return
			}
		}
		http.NotFound(w, r)
	})
	checks := http.NewServeMux()
	recordCheck := func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		f.checkRuns = append(f.checkRuns, in)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write([]byte(`{"id":7,"html_url":"https://github.com/acme/payments-api/runs/7"}`))
	}
	checks.HandleFunc("POST /repos/acme/payments-api/check-runs", recordCheck)
	checks.HandleFunc("PATCH /repos/acme/payments-api/check-runs/7", recordCheck)
	doc := oas.Load(t, "../shared/oracles/github-openapi-subset.json")
	// Served under /api/v3, as GitHub Enterprise Server is.
	checked := doc.Middleware(t, http.StripPrefix("/api/v3", mux), oas.Options{PathPrefix: "/api/v3"})
	// Check-run answers are trimmed to what the client reads; the
	// requests are still checked.
	checkedRuns := doc.Middleware(t, http.StripPrefix("/api/v3", checks), oas.Options{PathPrefix: "/api/v3", SkipResponses: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/check-runs") {
			checkedRuns.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/api/v3/user" { // not in the subset: the Actions token may not read it
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"Resource not accessible by integration"}`))
			return
		}
		checked.ServeHTTP(w, r)
	})
}

func comment(id int, body string) map[string]any {
	return map[string]any{
		"id": id, "node_id": "IC_" + itoa(id), "url": "https://api.github.com/repos/acme/payments-api/issues/comments/" + itoa(id),
		"html_url": "https://github.com/acme/payments-api/pull/42#issuecomment-" + itoa(id), "body": body,
		"user":       map[string]any{"login": "github-actions[bot]", "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=", "avatar_url": "https://x", "gravatar_id": "", "url": "https://x", "html_url": "https://x", "followers_url": "https://x", "following_url": "https://x", "gists_url": "https://x", "starred_url": "https://x", "subscriptions_url": "https://x", "organizations_url": "https://x", "repos_url": "https://x", "events_url": "https://x", "received_events_url": "https://x", "type": "Bot", "site_admin": false},
		"created_at": "2026-12-04T09:00:00Z", "updated_at": "2026-12-04T09:00:00Z", "issue_url": "https://api.github.com/repos/acme/payments-api/issues/42",
		"author_association": "NONE",
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestStickyCommentOnRerun: two runs of the same PR leave one comment,
// updated in place, and the comment-url output names it.
func TestStickyCommentOnRerun(t *testing.T) {
	t.Parallel()
	srv := tenant(t, "passed-pr", nil)
	gh := &fakeGitHub{}
	ghSrv := httptest.NewServer(gh.handler(t))
	defer ghSrv.Close()
	event := filepath.Join(t.TempDir(), "event.json")
	payload := `{"action":"synchronize","number":42,"pull_request":{"number":42,"head":{"sha":"` + demoCommit + `","ref":"feature/checkout","repo":{"full_name":"acme/payments-api"}},"base":{"ref":"main","repo":{"full_name":"acme/payments-api"}}},"repository":{"full_name":"acme/payments-api","name":"payments-api","owner":{"login":"acme"}}}`
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event,
		"GITHUB_REPOSITORY": "acme/payments-api", "GITHUB_SHA": "ffffffffffffffffffffffffffffffffffffffff",
		"GITHUB_API_URL": ghSrv.URL + "/api/v3", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_TOKEN": "ghs_testtoken123",
		"CORTEX_API_URL": srv.URL, "CORTEX_API_KEY_ID": "7", "CORTEX_API_KEY": testKey, "CORTEX_POLL_INTERVAL": "50ms",
	}
	first := runGate(t, env)
	second := runGate(t, env)
	if first.code != exitOK || second.code != exitOK {
		t.Fatalf("exit %d, %d; want 0, 0\n%s\n%s", first.code, second.code, first.stdout, first.stderr)
	}
	if len(gh.comments) != 1 || gh.posts != 1 {
		t.Fatalf("%d comments after two runs (%d posts), want exactly one", len(gh.comments), gh.posts)
	}
	if want := "https://github.com/acme/payments-api/pull/42#issuecomment-1"; first.outputs["comment-url"] != want || second.outputs["comment-url"] != want {
		t.Errorf("comment-url %q / %q, want %q", first.outputs["comment-url"], second.outputs["comment-url"], want)
	}
	if body := gh.comments[0]["body"].(string); !strings.Contains(body, "<!-- cortex-gate") || !strings.Contains(body, "passed") {
		t.Errorf("comment body lacks the marker or the verdict:\n%s", body)
	}
}

// TestPrivateCA: an HTTPS tenant with a certificate the machine does not
// trust fails with a sentence naming the host and ca-cert; with its PEM
// in ca-cert the gate gets through.
func TestPrivateCA(t *testing.T) {
	t.Parallel()
	sc, err := simulator.Load("blocked-pr")
	if err != nil {
		t.Fatal(err)
	}
	sc.Auth = &simulator.Auth{KeyID: "7", Key: testKey}
	srv := httptest.NewTLSServer(simulator.New(sc, simulator.Options{}))
	defer srv.Close()
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(pemFile, block, 0o644); err != nil {
		t.Fatal(err)
	}

	without := runGate(t, cortexEnv(srv.URL))
	host := strings.TrimPrefix(srv.URL, "https://")
	if without.code != exitError || !strings.Contains(lastLine(without.stderr), "ca-cert") || !strings.Contains(lastLine(without.stderr), host) {
		t.Errorf("untrusted: exit %d, last line %q; want 2 naming %s and ca-cert", without.code, lastLine(without.stderr), host)
	}

	env := cortexEnv(srv.URL)
	env["CORTEX_CA_CERT"] = pemFile
	with := runGate(t, env)
	if with.code != exitBlocked {
		t.Errorf("with ca-cert: exit %d, want 1\n%s", with.code, with.stderr)
	}
}

// TestGitLabMRNoteIsSticky: an MR pipeline posts one note and updates it in
// place on the next run; the code-quality report lands where asked.
func TestGitLabMRNoteIsSticky(t *testing.T) {
	t.Parallel()
	srv := tenant(t, "blocked-pr", nil)
	var mu sync.Mutex
	type note struct {
		ID     int            `json:"id"`
		Body   string         `json:"body"`
		System bool           `json:"system"`
		Author map[string]any `json:"author"`
	}
	var notes []*note
	posts, puts := 0, 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("PRIVATE-TOKEN") != "glpat-test-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"id":5,"username":"project_99_bot"}`))
	})
	mux.HandleFunc("GET /api/v4/projects/99/merge_requests/42/notes", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(append([]*note{}, notes...))
	})
	mux.HandleFunc("POST /api/v4/projects/99/merge_requests/42/notes", func(w http.ResponseWriter, r *http.Request) {
		var in note
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		defer mu.Unlock()
		posts++
		n := &note{ID: 1000 + len(notes), Body: in.Body, Author: map[string]any{"id": 5}}
		notes = append(notes, n)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(n)
	})
	mux.HandleFunc("PUT /api/v4/projects/99/merge_requests/42/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in note
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		defer mu.Unlock()
		puts++
		for _, n := range notes {
			if strconv.Itoa(n.ID) == r.PathValue("id") {
				n.Body = in.Body
				_ = json.NewEncoder(w).Encode(n)
				return
			}
		}
		http.NotFound(w, r)
	})
	gl := httptest.NewServer(mux)
	defer gl.Close()
	env := map[string]string{
		"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "42", "CI_MERGE_REQUEST_ID": "777",
		"CI_COMMIT_SHA": demoCommit, "CI_PROJECT_NAMESPACE": "acme", "CI_PROJECT_NAME": "payments-api", "CI_PROJECT_PATH": "acme/payments-api",
		"CI_PROJECT_ID": "99", "CI_API_V4_URL": gl.URL + "/api/v4", "CI_SERVER_URL": "https://gitlab.example", "CI_PROJECT_URL": "https://gitlab.example/acme/payments-api",
		"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/checkout", "CI_COMMIT_REF_NAME": "feature/checkout", "GITLAB_TOKEN": "glpat-test-token",
		"CORTEX_API_URL": srv.URL, "CORTEX_API_KEY_ID": "7", "CORTEX_API_KEY": testKey, "CORTEX_POLL_INTERVAL": "50ms",
		"CORTEX_CODEQUALITY_FILE": "$DIR/gl-code-quality-report.json",
	}
	first := runGate(t, env)
	second := runGate(t, env)
	if first.code != exitBlocked || second.code != exitBlocked {
		t.Fatalf("exit %d, %d; want 1, 1\n%s\n%s", first.code, second.code, first.stdout, first.stderr)
	}
	if len(notes) != 1 || posts != 1 {
		t.Fatalf("%d notes after two runs (%d posts, %d puts), want one\n%s", len(notes), posts, puts, second.stdout)
	}
	if !strings.Contains(notes[0].Body, "<!-- cortex-gate") || !strings.Contains(notes[0].Body, "https://gitlab.example/acme/payments-api/-/blob/"+demoCommit) {
		t.Errorf("note lacks the marker or GitLab blob links:\n%s", notes[0].Body)
	}
	if _, err := os.Stat(filepath.Join(first.dir, "gl-code-quality-report.json")); err != nil {
		t.Errorf("code quality report: %v", err)
	}
}

// TestCheckRunOnTheHeadCommit: check-run: true makes one check run named
// Cortex Code Security on the PR head (not GITHUB_SHA, the merge commit),
// failed, with its annotations in batches of at most 50.
func TestCheckRunOnTheHeadCommit(t *testing.T) {
	t.Parallel()
	srv := tenant(t, "blocked-pr", nil)
	gh := &fakeGitHub{}
	ghSrv := httptest.NewServer(gh.handler(t))
	defer ghSrv.Close()
	event := filepath.Join(t.TempDir(), "event.json")
	payload := `{"action":"opened","number":42,"pull_request":{"number":42,"head":{"sha":"` + demoCommit + `","ref":"feature/checkout","repo":{"full_name":"acme/payments-api"}},"base":{"ref":"main","repo":{"full_name":"acme/payments-api"}}},"repository":{"full_name":"acme/payments-api","name":"payments-api","owner":{"login":"acme"}}}`
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runGate(t, map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event,
		"GITHUB_REPOSITORY": "acme/payments-api", "GITHUB_SHA": "ffffffffffffffffffffffffffffffffffffffff",
		"GITHUB_API_URL": ghSrv.URL + "/api/v3", "GITHUB_TOKEN": "ghs_testtoken123", "INPUT_CHECK-RUN": "true", "INPUT_COMMENT": "off",
		"CORTEX_API_URL": srv.URL, "CORTEX_API_KEY_ID": "7", "CORTEX_API_KEY": testKey, "CORTEX_POLL_INTERVAL": "50ms",
	})
	if r.code != exitBlocked {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if len(gh.comments) != 0 {
		t.Errorf("comment: off still posted %d comments", len(gh.comments))
	}
	if len(gh.checkRuns) != 1 {
		t.Fatalf("%d check-run calls, want 1 (12 annotations fit one batch)", len(gh.checkRuns))
	}
	c := gh.checkRuns[0]
	out, _ := c["output"].(map[string]any)
	anns, _ := out["annotations"].([]any)
	if c["name"] != "Cortex Code Security" || c["head_sha"] != demoCommit || c["conclusion"] != "failure" || len(anns) == 0 || len(anns) > 50 {
		t.Errorf("check run name %v head %v conclusion %v with %d annotations; want Cortex Code Security on %s, failure, 1-50 annotations",
			c["name"], c["head_sha"], c["conclusion"], len(anns), demoCommit)
	}
	if summary, _ := out["summary"].(string); len([]rune(summary)) > 65535 || strings.Contains(summary, "<!-- cortex-gate") {
		t.Errorf("check-run summary is %d characters or holds the comment marker", len([]rune(summary)))
	}
}

// syncBuffer is a bytes.Buffer safe to read while another goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSimulateServesADryRun: `simulate` prints a command line that, run as
// printed, gates against it; a cancel stops it with exit 0.
func TestSimulateServesADryRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"simulate", "--listen", "127.0.0.1:0", "--scenario", "passed-pr", "--quiet"},
			Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
	}()
	var url string
	for range 200 {
		if m := regexp.MustCompile(`CORTEX_API_URL=(\S+)`).FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url == "" {
		t.Fatalf("simulate printed no URL:\n%s", out.String())
	}
	env := map[string]string{"CORTEX_API_URL": url, "CORTEX_API_KEY_ID": simulator.DemoKeyID, "CORTEX_API_KEY": simulator.DemoKey, "CORTEX_POLL_INTERVAL": "50ms"}
	r := runGate(t, env, "--scan-type", "pr", "--organization", "acme", "--repository", "payments-api", "--pr-id", "42", "--commit-sha", demoCommit)
	if r.code != exitOK {
		t.Errorf("gate against simulate: exit %d\n%s", r.code, r.stderr)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("simulate exit %d after cancel, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("simulate did not stop on cancel")
	}
}

// TestTenantTextCannotForgeWorkflowCommands: a scan id and a health from the
// tenant are printed in the progress lines; line breaks in them must not
// let a line start a workflow command.
func TestTenantTextCannotForgeWorkflowCommands(t *testing.T) {
	t.Parallel()
	srv := tenant(t, "passed-pr", func(sc *simulator.Scenario) {
		sc.Scans[0].ScanID = "s1\n::error title=forged::pwned\n##[warning]forged"
		sc.Scans[0].InProgressPolls = 2
	})
	env := cortexEnv(srv.URL)
	env["GITHUB_ACTIONS"] = "true"
	r := runGate(t, env)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, line := range strings.Split(r.stdout+r.stderr, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, "::error title=forged") || strings.Contains(line, "##[warning]") {
			t.Errorf("a line from tenant text issues a workflow command: %q", line)
		}
	}
}
