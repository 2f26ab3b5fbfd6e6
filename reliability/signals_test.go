package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/simulator"
)

// TestSignalEndsTheWait starts the built binary on a scan that never
// finishes, sends SIGTERM (as a CI runner cancelling a job does) or SIGINT
// (Ctrl-C) after the first progress line, and checks the gate stops within
// 2 s, exits 2, says it was cancelled, and still writes its reports.
func TestSignalEndsTheWait(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			sc := parseScenario(t, `{"scans": [`+prScan(`"inProgressPolls": 1000000`)+`]}`)
			srv := httptest.NewServer(simulator.New(sc, simulator.Options{}))
			t.Cleanup(srv.Close)
			dir := t.TempDir()
			cmd := exec.Command(bin, "run",
				"--api-url", srv.URL, "--api-key-id", simulator.DemoKeyID, "--scan-type", "pr",
				"--organization", org, "--repository", repo, "--pr-id", prID, "--commit-sha", commit,
				"--timeout", "5m", "--poll-interval", "200ms",
				"--json-file", filepath.Join(dir, "cortex-gate.json"))
			summary := filepath.Join(dir, "summary.md")
			cmd.Env = []string{
				"CORTEX_API_KEY=" + simulator.DemoKey,
				"GITHUB_STEP_SUMMARY=" + summary, "GITHUB_OUTPUT=" + filepath.Join(dir, "outputs.txt"),
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			progress := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(stdout)
				seen := false
				for sc.Scan() {
					if !seen && strings.Contains(sc.Text(), "Waiting for Cortex scan") {
						seen = true
						close(progress)
					}
				}
				_, _ = io.Copy(io.Discard, stdout)
			}()
			select {
			case <-progress:
			case <-time.After(20 * time.Second):
				t.Fatalf("no progress line within 20 s\n%s", stderr.String())
			}

			sent := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var werr error
			select {
			case werr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("the gate still runs 10 s after %s", sig)
			}
			took := time.Since(sent)
			t.Logf("%s: ended %s after the signal", sig, took.Round(time.Millisecond))
			if took > 2*time.Second {
				t.Errorf("the gate took %s to stop after %s, want under 2 s", took, sig)
			}
			var exit *exec.ExitError
			if !errors.As(werr, &exit) || exit.ExitCode() != 2 {
				t.Errorf("exit %v, want 2 (cancelled is an error)", werr)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(strings.ToLower(last), "cancelled") {
				t.Errorf("the last stderr line does not say the gate was cancelled: %q", last)
			}

			b, err := os.ReadFile(summary)
			if err != nil {
				t.Fatalf("no job summary after %s: %v", sig, err)
			}
			if !strings.Contains(strings.ToLower(string(b)), "cancelled") {
				t.Errorf("the job summary does not say cancelled:\n%s", b)
			}
			var rep struct {
				Verdict string `json:"verdict"`
				Result  struct {
					Cancelled bool `json:"cancelled"`
				} `json:"result"`
			}
			b, err = os.ReadFile(filepath.Join(dir, "cortex-gate.json"))
			if err != nil {
				t.Fatalf("no JSON report after %s: %v", sig, err)
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != "error" || !rep.Result.Cancelled {
				t.Errorf("JSON report: verdict %q, cancelled %v; want error, true", rep.Verdict, rep.Result.Cancelled)
			}
		})
	}
}
