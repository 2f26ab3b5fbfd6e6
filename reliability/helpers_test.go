// Package reliability proves, end to end, that the gate holds: under faults
// of the Cortex API, a tenant shared by a fleet, huge scans, secrets in the
// environment, hostile scan text and signals. Every test drives the real
// command (cli.Main in process, or the built binary) against the simulator.
package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/cli"
	"github.com/cortex-gate/cortex-gate/simulator"
)

// The change every test gates, as the built-in scenarios name it.
const (
	org    = "acme"
	repo   = "payments-api"
	prID   = "42"
	commit = "d9d6128af542cff33e8bbe3675aaafaa9e1a2710"
)

// syncBuffer is a bytes.Buffer safe for the writer and a reader at once.
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

// run is one in-process run of `cortex-gate run`.
type run struct {
	code     int
	stdout   string
	stderr   string
	elapsed  time.Duration
	dir      string // the run's files live here
	panicked any
}

func (r run) path(name string) string { return filepath.Join(r.dir, name) }

func (r run) file(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(r.path(name))
	if err != nil {
		t.Fatalf("report %s was not written: %v", name, err)
	}
	return string(b)
}

// lastStderrLine is the sentence the gate ends on.
func (r run) lastStderrLine() string {
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	return lines[len(lines)-1]
}

// gateConfig says how to run the gate.
type gateConfig struct {
	url   string            // Cortex API URL
	flags map[string]string // added to (and overriding) the base flags
	env   map[string]string // the process environment, besides the files
	// noFiles leaves out the report-file flags.
	noFiles bool
	ctx     context.Context
}

// baseFlags gate PR 42 of acme/payments-api with every report file on and
// short waits.
func baseFlags(dir, url string) map[string]string {
	return map[string]string{
		"api-url": url, "api-key-id": simulator.DemoKeyID, "api-key": simulator.DemoKey,
		"scan-type": "pr", "organization": org, "repository": repo, "pr-id": prID, "commit-sha": commit,
		"timeout": "8s", "poll-interval": "100ms", "rate-limit": "50",
		"json-file":        filepath.Join(dir, "cortex-gate.json"),
		"sarif-file":       filepath.Join(dir, "cortex-gate.sarif"),
		"junit-file":       filepath.Join(dir, "junit.xml"),
		"codequality-file": filepath.Join(dir, "codequality.json"),
	}
}

// runGate runs `cortex-gate run` in process with flags built from cfg, and
// GITHUB_OUTPUT / GITHUB_STEP_SUMMARY in a temporary folder.
func runGate(t testing.TB, cfg gateConfig) run {
	t.Helper()
	dir := t.TempDir()
	flags := baseFlags(dir, cfg.url)
	if cfg.noFiles {
		for _, k := range []string{"json-file", "sarif-file", "junit-file", "codequality-file"} {
			delete(flags, k)
		}
	}
	for k, v := range cfg.flags {
		if v == "" {
			delete(flags, k)
			continue
		}
		flags[k] = v
	}
	env := map[string]string{
		"GITHUB_OUTPUT":       filepath.Join(dir, "outputs.txt"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
	}
	for k, v := range cfg.env {
		env[k] = v
	}
	args := []string{"run"}
	for k, v := range flags {
		args = append(args, "--"+k+"="+v)
	}
	ctx := cfg.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var stdout, stderr syncBuffer
	r := run{dir: dir}
	start := time.Now()
	func() {
		defer func() { r.panicked = recover() }()
		r.code = cli.Main(ctx, args, cli.Env{
			Stdout: &stdout, Stderr: &stderr,
			Getenv:   func(k string) string { return env[k] },
			ReadFile: os.ReadFile,
		})
	}()
	r.elapsed = time.Since(start)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if r.panicked != nil {
		t.Fatalf("cortex-gate panicked: %v\nstdout:\n%s\nstderr:\n%s", r.panicked, r.stdout, r.stderr)
	}
	return r
}

// startSimulator serves sc over real HTTP (so resets are real TCP resets)
// and returns the server, for its URL and Stats.
func startSimulator(t testing.TB, sc *simulator.Scenario, opts simulator.Options, wrap ...func(http.Handler) http.Handler) (*httptest.Server, *simulator.Server) {
	t.Helper()
	sim := simulator.New(sc, opts)
	var h http.Handler = sim
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, sim
}

// parseScenario reads a scenario given as JSON text.
func parseScenario(t testing.TB, text string) *simulator.Scenario {
	t.Helper()
	sc, err := simulator.Parse([]byte(text))
	if err != nil {
		t.Fatalf("bad test scenario: %v\n%s", err, text)
	}
	return sc
}

// loadScenario reads a built-in scenario or a file under testdata/.
func loadScenario(t testing.TB, name string) *simulator.Scenario {
	t.Helper()
	sc, err := simulator.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// prScan is the JSON of PR 42's scan with the given extra fields, for
// scenarios built in tests.
func prScan(extra string) string {
	s := `{"type": "pr", "scanId": "rel-pr-42", "organizationName": "acme", "repoName": "payments-api",
		"branchName": "feature/checkout", "pullRequestId": "42", "commitId": "` + commit + `", "ageSeconds": 30`
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

// sentences counts sentence ends inside a line: ". X", "! X", "? X".
var secondSentence = regexp.MustCompile(`[.!?] +[A-Z][a-z]`)

// checkLastLine asserts the gate ended on one sentence, as SPEC.md asks.
func checkLastLine(t *testing.T, r run) {
	t.Helper()
	line := r.lastStderrLine()
	if !strings.HasPrefix(line, "cortex-gate: ") {
		t.Errorf("last stderr line %q does not start with cortex-gate:", line)
	}
	if !strings.HasSuffix(line, ".") {
		t.Errorf("last stderr line %q does not end a sentence", line)
	}
	if loc := secondSentence.FindStringIndex(line); loc != nil {
		t.Errorf("last stderr line holds more than one sentence (at %q): %q", line[loc[0]:min(len(line), loc[1]+20)], line)
	}
}

// jsonReport reads the JSON report as a generic map.
func jsonReport(t *testing.T, r run) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.file(t, "cortex-gate.json")), &m); err != nil {
		t.Fatalf("JSON report is not JSON: %v", err)
	}
	return m
}

// jsonResult is the report's "result": the gate.Result.
func jsonResult(t *testing.T, r run) map[string]any {
	t.Helper()
	m, _ := jsonReport(t, r)["result"].(map[string]any)
	return m
}

// outputs parses the GITHUB_OUTPUT file (heredoc form) into a map.
func outputs(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, delim, ok := strings.Cut(line, "<<")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is not name<<delimiter", line)
		}
		var value []string
		closed := false
		for sc.Scan() {
			if sc.Text() == delim {
				closed = true
				break
			}
			value = append(value, sc.Text())
		}
		if !closed {
			t.Fatalf("GITHUB_OUTPUT value of %s never closed", name)
		}
		if _, dup := out[name]; dup {
			t.Errorf("GITHUB_OUTPUT sets %s twice", name)
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}

// binary builds cortex-gate once per test process.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cortex-gate-reliability-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cortex-gate")
	cmd := exec.Command("go", "build", "-o", bin, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// rewriteBody buffers a handler's answer and passes its body through edit,
// fixing Content-Length: it smuggles bytes JSON cannot carry (invalid UTF-8)
// into a simulated tenant's answers.
func rewriteBody(edit func([]byte) []byte) func(http.Handler) http.Handler {
	return rewriteThen(func(w http.ResponseWriter, _ *http.Request, body []byte) {
		_, _ = w.Write(edit(body))
	}, edit)
}

// rewriteThen buffers a handler's answer and lets send write its body, with
// the headers and status already sent. size, when given, says how long the
// body send writes will be (for Content-Length).
func rewriteThen(send func(http.ResponseWriter, *http.Request, []byte), size ...func([]byte) []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			n := len(body)
			for _, f := range size {
				n = len(f(body))
			}
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.WriteHeader(rec.Code)
			send(w, r, body)
		})
	}
}

// drain discards a body, for handlers that ignore it.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }

// xmlWellFormed reads every token of doc.
func xmlWellFormed(doc string) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
