package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cli"
	"github.com/cortex-gate/cortex-gate/simulator"
)

// The change every case gates: PR 42 of acme/payments-api at its head commit.
const (
	org     = "acme"
	repo    = "payments-api"
	prID    = "42"
	headSHA = "d9d6128af542cff33e8bbe3675aaafaa9e1a2710"
	scanID  = "bench-pr-42"
)

// finishedScan is a tenant holding one finished, blocked PR scan with that
// many synthetic issues and findings.
func finishedScan(issues, findings int) *simulator.Scenario {
	return &simulator.Scenario{Scans: []simulator.Scan{{
		Type: "pr", ScanID: scanID, OrganizationName: org, RepoName: repo,
		BranchName: "feature/checkout", PullRequestID: prID, CommitID: headSHA, AgeSeconds: 60,
		Health: "COMPLETED", Status: "FAILED",
		BlockingPolicies: []simulator.Policy{{ID: "pol-0001", Name: "Block critical CVEs"}},
		Generate:         &simulator.Generate{Issues: issues, Findings: findings, Seed: 1},
	}}}
}

// replay answers from memory what the simulator answered once, so that a
// benchmark counts the gate's allocations and not the simulator's (which
// builds and encodes every item of every page on each request). Only 200
// answers are kept; the scan is final from the start, so they never change.
type replay struct {
	sim http.Handler
	mu  sync.Mutex
	got map[string][]byte
}

func newReplay(sc *simulator.Scenario) *replay {
	return &replay{sim: simulator.New(sc, simulator.Options{}), got: map[string][]byte{}}
}

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	key := req.URL.Path + "?" + req.URL.Query().Encode() // sorted: the order of the client's parameters does not matter
	r.mu.Lock()
	body, ok := r.got[key]
	r.mu.Unlock()
	if !ok {
		rec := httptest.NewRecorder()
		r.sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		body = rec.Body.Bytes()
		r.mu.Lock()
		r.got[key] = body
		r.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// gateRun is one run of the whole command, in process, as a GitHub Actions
// pull_request job with every report on: JSON, SARIF, JUnit, Code Quality,
// the job summary and the step outputs.
type gateRun struct {
	dir  string
	args []string
	vars map[string]string
}

func newGateRun(tb testing.TB, apiURL string) *gateRun {
	tb.Helper()
	dir := tb.TempDir()
	event := `{"action":"synchronize","number":42,"pull_request":{"number":42,"state":"open",` +
		`"head":{"ref":"feature/checkout","sha":"` + headSHA + `","repo":{"full_name":"acme/payments-api"}},` +
		`"base":{"ref":"main","sha":"e9b356a7e267713ad3d709e80949d990ffacfee4","repo":{"full_name":"acme/payments-api"}}},` +
		`"repository":{"full_name":"acme/payments-api"}}`
	if err := os.WriteFile(filepath.Join(dir, "event.json"), []byte(event), 0o644); err != nil {
		tb.Fatal(err)
	}
	return &gateRun{
		dir: dir,
		args: []string{"run",
			"--json-file", filepath.Join(dir, "cortex-gate.json"),
			"--sarif-file", filepath.Join(dir, "cortex-gate.sarif"),
			"--junit-file", filepath.Join(dir, "junit.xml"),
			"--codequality-file", filepath.Join(dir, "gl-code-quality-report.json"),
			// The most the settings allow: the benchmark is after the
			// gate's own cost, not its politeness.
			"--rate-limit", "100",
		},
		vars: map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
			"GITHUB_EVENT_PATH": filepath.Join(dir, "event.json"), "GITHUB_REPOSITORY": org + "/" + repo,
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REF": "refs/pull/42/merge",
			"GITHUB_SHA": "1111111111111111111111111111111111111111", "GITHUB_HEAD_REF": "feature/checkout",
			"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"), "GITHUB_OUTPUT": filepath.Join(dir, "outputs.txt"),
			"CORTEX_API_URL": apiURL, "CORTEX_API_KEY_ID": simulator.DemoKeyID, "CORTEX_API_KEY": simulator.DemoKey,
			"CORTEX_REPOSITORY": repo,
		},
	}
}

// run runs the command once and returns its exit code and stderr.
func (g *gateRun) run() (int, string) {
	for _, f := range []string{"summary.md", "outputs.txt"} {
		_ = os.Remove(filepath.Join(g.dir, f)) // appended to by each run
	}
	var stderr bytes.Buffer
	env := cli.Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return g.vars[k] }, ReadFile: os.ReadFile}
	code := cli.Main(context.Background(), g.args, env)
	return code, stderr.String()
}

// BenchmarkHugeScan runs the whole command in process (cli.Main) on a
// finished scan with 50,000 issues and 100,000 findings and every report on.
// Run it with -benchmem -benchtime 1x. ns/op includes the client's rate limit
// (the settings' highest, 100/s); B/op and allocs/op are the gate's, plus the
// small share of the loopback server that replays the simulator's pages.
func BenchmarkHugeScan(b *testing.B) {
	const issues, findings = 50_000, 100_000
	srv := httptest.NewServer(newReplay(finishedScan(issues, findings)))
	defer srv.Close()
	g := newGateRun(b, srv.URL)
	// A first run fills the replay with every page, at whatever page size
	// the client asks for.
	if code, stderr := g.run(); code != 1 {
		b.Fatalf("exit %d, want 1 (blocked): %s", code, stderr)
	}

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code, stderr := g.run(); code != 1 {
			b.Fatalf("exit %d, want 1 (blocked): %s", code, stderr)
		}
	}
}

// reportOutputs reads the step outputs from the JSON report of a run.
func reportOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to read the JSON report: %v", err)
	}
	var doc struct {
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("failed to parse the JSON report: %v", err)
	}
	return doc.Outputs
}

// TestHarnessGatesSmallScan runs BenchmarkHugeScan's harness on a small scan,
// so `go test ./bench` proves the benchmark would measure a correct run.
func TestHarnessGatesSmallScan(t *testing.T) {
	t.Parallel()
	const issues, findings = 250, 480
	srv := httptest.NewServer(newReplay(finishedScan(issues, findings)))
	defer srv.Close()
	g := newGateRun(t, srv.URL)

	code, stderr := g.run()
	if code != 1 {
		t.Fatalf("exit %d, want 1 (blocked): %s", code, stderr)
	}
	out := reportOutputs(t, filepath.Join(g.dir, "cortex-gate.json"))
	got := map[string]string{"verdict": out["verdict"], "issues-count": out["issues-count"], "findings-count": out["findings-count"]}
	want := map[string]string{"verdict": "blocked", "issues-count": strconv.Itoa(issues), "findings-count": strconv.Itoa(findings)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON report outputs (-want +got):\n%s", diff)
	}
	for _, f := range []string{"cortex-gate.sarif", "junit.xml", "gl-code-quality-report.json", "summary.md", "outputs.txt"} {
		if st, err := os.Stat(filepath.Join(g.dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("report %s is missing or empty (%v)", f, err)
		}
	}
}

// TestBaselineAgreesWithGate checks that baseline.sh, the reference point of
// bench/run, reaches the same verdict on the same data as cortex-gate: a
// comparison with a script that skipped work would mean nothing.
func TestBaselineAgreesWithGate(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("baseline.sh needs %s: %v", tool, err)
		}
	}
	const issues, findings = 230, 401 // pages end both full and short
	srv := httptest.NewServer(simulator.New(finishedScan(issues, findings), simulator.Options{}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "baseline.json")

	cmd := exec.Command("bash", "baseline.sh")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"CORTEX_API_URL=" + srv.URL, "CORTEX_API_KEY_ID=" + simulator.DemoKeyID, "CORTEX_API_KEY=" + simulator.DemoKey,
		"CORTEX_REPOSITORY=" + repo, "CORTEX_PR_ID=" + prID, "CORTEX_JSON_FILE=" + out, "CORTEX_TIMEOUT=30",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 1 {
		t.Fatalf("baseline.sh exit %d (%v), want 1 (blocked)\nstdout: %s\nstderr: %s", code, err, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("baseline.sh wrote no JSON file: %v", err)
	}
	var doc struct {
		Scan     struct{ ScanID string }
		Issues   []map[string]any
		Findings []map[string]any
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("baseline.sh wrote invalid JSON: %v", err)
	}
	got := fmt.Sprintf("scan %s, %d issues, %d findings", doc.Scan.ScanID, len(doc.Issues), len(doc.Findings))
	want := fmt.Sprintf("scan %s, %d issues, %d findings", scanID, issues, findings)
	if got != want {
		t.Errorf("baseline.sh read %q, want %q", got, want)
	}
	if !strings.Contains(stderr.String(), "BLOCKED by Block critical CVEs") {
		t.Errorf("baseline.sh stderr = %q, want the blocking policy named", stderr.String())
	}
}
