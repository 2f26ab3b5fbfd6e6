package reliability

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/simulator"
)

// Platform limits every report must stay inside.
const (
	maxCommentRunes   = 65536   // GitHub issue comment body
	maxCheckRunOutput = 65535   // GitHub check run output.summary and .text
	maxSummaryBytes   = 1 << 20 // GitHub step summary (a larger one is dropped)
	maxSARIFResults   = 25000   // GitHub code scanning, results per run
	maxAnnotations    = 50      // GitHub check run annotations per request
	maxPeakRSS        = 100 << 20
)

// TestHugeScanStaysWithinPlatformLimits gates the huge-pr scenario (50,000
// issues, 100,000 findings) with every report on, in GitHub Actions with a
// token, and checks each report against its platform's limit.
func TestHugeScanStaysWithinPlatformLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 150,000 items")
	}
	t.Parallel()
	srv, sim := startSimulator(t, loadScenario(t, "huge-pr"), simulator.Options{})
	gh := newFakeGitHub(t, false)
	env := actionsEnv(t, gh, t.TempDir(), false)
	env["GITHUB_TOKEN"] = "ghs_hugeScanTestToken0123456789"
	r := runGate(t, gateConfig{url: srv.URL, env: env, flags: map[string]string{
		"timeout": "2m", "check-run": "true", "rate-limit": "",
	}})
	st := sim.Stats()
	t.Logf("exit %d in %s, %d Cortex requests (%v), %d GitHub requests", r.code, r.elapsed.Round(time.Millisecond), st.Requests, st.ByEndpoint, len(gh.posted()))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (blocked)\n%s", r.code, r.stderr)
	}
	checkLastLine(t, r)

	res := jsonResult(t, r)
	issues, _ := res["issues"].([]any)
	findings, _ := res["findings"].([]any)
	if len(issues) != 50000 || len(findings) != 100000 {
		t.Errorf("JSON report holds %d issues and %d findings, want 50,000 and 100,000", len(issues), len(findings))
	}

	comments := gh.commentBodies(t)
	if len(comments) != 1 {
		t.Fatalf("%d comments posted, want 1", len(comments))
	}
	if n := utf8.RuneCountInString(comments[0]); n > maxCommentRunes {
		t.Errorf("the comment is %d characters, over GitHub's %d", n, maxCommentRunes)
	} else {
		t.Logf("comment: %d characters", n)
	}
	if !strings.Contains(comments[0], "more issues") {
		t.Errorf("the comment does not say that issues were left out")
	}

	outs := gh.checkRunOutputs(t)
	if len(outs) == 0 {
		t.Fatal("no check run was posted")
	}
	annotations := 0
	for _, o := range outs {
		if n := utf8.RuneCountInString(o.Summary); n > maxCheckRunOutput {
			t.Errorf("a check run summary is %d characters, over GitHub's %d", n, maxCheckRunOutput)
		}
		if n := utf8.RuneCountInString(o.Text); n > maxCheckRunOutput {
			t.Errorf("a check run text is %d characters, over GitHub's %d", n, maxCheckRunOutput)
		}
		if len(o.Annotations) > maxAnnotations {
			t.Errorf("a check run request carries %d annotations, over GitHub's %d", len(o.Annotations), maxAnnotations)
		}
		annotations += len(o.Annotations)
	}
	t.Logf("check run: %d requests, summary %d characters, %d annotations", len(outs), utf8.RuneCountInString(outs[0].Summary), annotations)

	summary := r.file(t, "summary.md")
	if len(summary) >= maxSummaryBytes {
		t.Errorf("the job summary is %d bytes, over GitHub's 1 MiB", len(summary))
	}
	t.Logf("summary: %d bytes", len(summary))

	var sarif struct {
		Runs []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	sarifText := r.file(t, "cortex-gate.sarif")
	if err := json.Unmarshal([]byte(sarifText), &sarif); err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	for i, run := range sarif.Runs {
		if len(run.Results) > maxSARIFResults {
			t.Errorf("SARIF run %d holds %d results, over GitHub's %d", i, len(run.Results), maxSARIFResults)
		}
		t.Logf("SARIF run %d: %d results, file %d bytes", i, len(run.Results), len(sarifText))
	}
	if err := xmlWellFormed(r.file(t, "junit.xml")); err != nil {
		t.Errorf("JUnit XML does not parse: %v", err)
	}
	if !json.Valid([]byte(r.file(t, "codequality.json"))) {
		t.Errorf("Code Quality report is not JSON")
	}
}

// BenchmarkHugeScan runs the whole gate on huge-pr with every report file
// on: reading 150,000 items, deciding and rendering every report.
func BenchmarkHugeScan(b *testing.B) {
	srv, _ := startSimulator(b, loadScenario(b, "huge-pr"), simulator.Options{})
	b.ReportAllocs()
	for b.Loop() {
		r := runGate(b, gateConfig{url: srv.URL, flags: map[string]string{"timeout": "2m", "rate-limit": "100"}})
		if r.code != 1 {
			b.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
	}
}

// TestHugeScanPeakMemory runs the built binary on huge-pr with every report
// on and reads its peak resident set size from the kernel.
func TestHugeScanPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and reads 150,000 items")
	}
	t.Parallel()
	bin := buildBinary(t)
	srv := httptest.NewServer(simulator.New(loadScenario(t, "huge-pr"), simulator.Options{}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	args := []string{"run"}
	for k, v := range baseFlags(dir, srv.URL) {
		args = append(args, "--"+k+"="+v)
	}
	args = append(args, "--timeout=2m", "--rate-limit=100")
	// The binary is started by a small helper process (this test binary,
	// run afresh): Linux records a child's maxrss at exec from the memory
	// it shared with its parent under vfork, so started from this big test
	// process it would report this process's size, not its own.
	helper := exec.Command(os.Args[0], "-test.run=^TestPeakRSSHelper$")
	helper.Env = append(os.Environ(), "CORTEX_GATE_RSS_HELPER=1",
		"CORTEX_GATE_RSS_ARGS="+strings.Join(append([]string{bin}, args...), rssSep),
		"CORTEX_GATE_RSS_ENV="+strings.Join([]string{"GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary.md"), "GITHUB_OUTPUT=" + filepath.Join(dir, "outputs.txt")}, rssSep))
	start := time.Now()
	out, err := helper.Output()
	if err != nil {
		t.Fatalf("rss helper: %v", err)
	}
	var code int
	var maxrssKiB int64
	if _, err := fmt.Sscanf(string(out), "exit=%d maxrss=%d", &code, &maxrssKiB); err != nil {
		t.Fatalf("rss helper said %q: %v", out, err)
	}
	if code != 1 {
		t.Fatalf("cortex-gate run: exit %d, want 1\n%s", code, out)
	}
	peak := maxrssKiB << 10
	t.Logf("peak RSS %.1f MB in %s", float64(peak)/(1<<20), time.Since(start).Round(time.Millisecond))
	if peak > maxPeakRSS {
		t.Errorf("peak RSS %.1f MB, over the %d MB budget", float64(peak)/(1<<20), maxPeakRSS>>20)
	}
	if _, err := os.Stat(filepath.Join(dir, "cortex-gate.json")); err != nil {
		t.Errorf("no JSON report: %v", err)
	}
}

// rssSep separates the helper's arguments in one environment variable.
const rssSep = "\x1f"

// TestPeakRSSHelper is not a test: TestHugeScanPeakMemory runs this test
// binary afresh to start the gate from a small process and read its rusage.
func TestPeakRSSHelper(t *testing.T) {
	if os.Getenv("CORTEX_GATE_RSS_HELPER") != "1" {
		t.Skip("a helper process of TestHugeScanPeakMemory")
	}
	args := strings.Split(os.Getenv("CORTEX_GATE_RSS_ARGS"), rssSep)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = strings.Split(os.Getenv("CORTEX_GATE_RSS_ENV"), rssSep)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		code = -1
	}
	var maxrss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxrss = ru.Maxrss
	}
	fmt.Printf("exit=%d maxrss=%d\n%s", code, maxrss, stderr.String())
	os.Exit(0) // print nothing of the test framework's own
}
