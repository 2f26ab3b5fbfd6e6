package reliability

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/simulator"
)

// faultBudget is how long any fault case may take. The client's retries
// start at about 1 s and double, so a case with two or three retries takes
// a few seconds; ten is generous on a loaded 2-core machine.
const faultBudget = 10 * time.Second

// TestFaultMatrix runs the gate against a tenant that misbehaves in every
// way the simulator knows, plus a slow body and a skewed clock, and checks
// that each run ends in the verdict a user would expect, with one sentence
// on stderr, the reports written and no panic, within faultBudget.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	passed := prScan(`"inProgressPolls": 1, "status": "PASSED", "issues": [{"severity": "Low", "alert_name": "minor"}]`)
	blocked := prScan(`"inProgressPolls": 1, "status": "FAILED", "blockingPolicies": [{"id": "p1", "name": "Block critical CVEs"}],
		"issues": [{"severity": "Critical", "alert_name": "CVE-2021-44228 in log4j"}]`)
	some := prScan(`"status": "FAILED", "blockingPolicies": [{"id": "p1", "name": "Block critical CVEs"}], "generate": {"issues": 250, "seed": 3}`)
	// More than one page of issues (5,000 a page).
	pages := prScan(`"status": "FAILED", "blockingPolicies": [{"id": "p1", "name": "Block critical CVEs"}], "generate": {"issues": 12000, "seed": 3}`)

	cases := []struct {
		name     string
		scenario string
		flags    map[string]string
		opts     simulator.Options
		wrap     func(http.Handler) http.Handler
		wantCode int
		// wantLast are words the last stderr line must hold (any case).
		wantLast []string
		// wantJSON are JSON report fields that must hold these values.
		wantVerdict string
		check       func(t *testing.T, r run, st simulator.Stats)
	}{
		{
			name:     "429 storm with Retry-After",
			scenario: `{"scans": [` + blocked + `], "faults": [{"endpoint": "pr", "kind": "status", "status": 429, "retryAfter": "2", "times": 2}]}`,
			wantCode: 1, wantVerdict: "blocked", wantLast: []string{"blocked", "Block critical CVEs"},
			check: func(t *testing.T, r run, st simulator.Stats) {
				if st.Status[429] != 2 {
					t.Errorf("the tenant answered 429 %d times, want 2", st.Status[429])
				}
				// Two Retry-After: 2 waits: the gate must have honoured them.
				if r.elapsed < 4*time.Second {
					t.Errorf("the gate took %s: it did not wait the 2 s the tenant asked for, twice", r.elapsed)
				}
			},
		},
		{
			name:     "429 storm without Retry-After",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "status", "status": 429, "times": 2, "after": 1}]}`,
			wantCode: 0, wantVerdict: "passed", wantLast: []string{"passed"},
		},
		{
			name:     "5xx burst that recovers",
			scenario: `{"scans": [` + blocked + `], "faults": [{"kind": "status", "status": 503, "times": 2, "after": 1}, {"endpoint": "issues", "kind": "status", "status": 500, "times": 1}]}`,
			wantCode: 1, wantVerdict: "blocked", wantLast: []string{"blocked"},
		},
		{
			name:     "5xx on the issues until the retry budget is spent",
			scenario: `{"scans": [` + blocked + `], "faults": [{"endpoint": "issues", "kind": "status", "status": 500}]}`,
			// The retry budget (2 m) outlasts this timeout: the gate's own
			// deadline ends the retries. What the server said must survive.
			flags:    map[string]string{"timeout": "4s"},
			wantCode: 2, wantVerdict: "error", wantLast: []string{"500"},
		},
		{
			name:     "5xx on every list until the timeout",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "status", "status": 502}]}`,
			flags:    map[string]string{"timeout": "4s"},
			wantCode: 2, wantVerdict: "error", wantLast: []string{"502"},
		},
		{
			name:     "connection resets",
			scenario: `{"scans": [` + passed + `], "faults": [{"kind": "reset", "times": 2}]}`,
			wantCode: 0, wantVerdict: "passed", wantLast: []string{"passed"},
			check: func(t *testing.T, r run, st simulator.Stats) {
				if st.Status[0] < 2 {
					t.Errorf("the simulator reset %d connections, want 2 (is the writer hijackable?)", st.Status[0])
				}
			},
		},
		{
			name:     "one hung request ended by the gate's timeout",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "hang", "times": 1, "after": 1}]}`,
			flags:    map[string]string{"timeout": "3s"},
			wantCode: 3, wantVerdict: "timeout", wantLast: []string{"timed out after 3s"},
		},
		{
			name:     "a hung request the gateway ends with 504",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "hang", "delayMs": 1500, "times": 1}]}`,
			wantCode: 0, wantVerdict: "passed", wantLast: []string{"passed"},
		},
		{
			name:     "a slow body",
			scenario: `{"scans": [` + some + `]}`,
			wrap:     trickle(30 * time.Millisecond),
			wantCode: 1, wantVerdict: "blocked", wantLast: []string{"blocked"},
			check: func(t *testing.T, r run, _ simulator.Stats) {
				if n := issueCount(t, r); n != 250 {
					t.Errorf("JSON report lists %d issues, want 250", n)
				}
			},
		},
		{
			name:     "a truncated body",
			scenario: `{"scans": [` + blocked + `], "faults": [{"endpoint": "issues", "kind": "truncate", "times": 1}, {"endpoint": "pr", "kind": "truncate", "times": 1}]}`,
			wantCode: 1, wantVerdict: "blocked", wantLast: []string{"blocked"},
		},
		{
			name:     "malformed JSON",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "malformed", "after": 1}]}`,
			wantCode: 2, wantVerdict: "error", wantLast: []string{"malformed", "invalid JSON"},
		},
		{
			name:     "an empty 200 body",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "empty"}]}`,
			wantCode: 2, wantVerdict: "error", wantLast: []string{"empty body"},
		},
		{
			name:     "an HTML sign-in page with 200",
			scenario: `{"scans": [` + passed + `], "faults": [{"endpoint": "pr", "kind": "html"}]}`,
			wantCode: 2, wantVerdict: "error", wantLast: []string{"HTML"},
		},
		{
			name:     "a proxy's 502 HTML page that passes",
			scenario: `{"scans": [` + passed + `], "faults": [{"kind": "html", "status": 502, "times": 2}]}`,
			wantCode: 0, wantVerdict: "passed", wantLast: []string{"passed"},
		},
		{
			name:     "a proxy's 502 HTML page that stays",
			scenario: `{"scans": [` + passed + `], "faults": [{"kind": "html", "status": 502}]}`,
			flags:    map[string]string{"timeout": "4s"},
			wantCode: 2, wantVerdict: "error", wantLast: []string{"502", "HTML"},
		},
		{
			name:     "a server that ignores offset",
			scenario: `{"scans": [` + pages + `], "faults": [{"endpoint": "issues", "kind": "ignoreOffset"}]}`,
			wantCode: 1, wantVerdict: "blocked", wantLast: []string{"blocked"},
			check: func(t *testing.T, r run, _ simulator.Stats) {
				// Only the first page can be read. The counts must not
				// pretend the scan had 5,000 issues: Cortex says 12,000.
				counts, _ := jsonResult(t, r)["counts"].(map[string]any)
				if n, _ := counts["issues"].(float64); n != 12000 {
					t.Errorf("BUG: JSON report counts %v issues, Cortex's issuesFound says 12000: a server that ignores offset silently shrinks the counts", counts["issues"])
				}
				warnings, _ := jsonResult(t, r)["warnings"].([]any)
				if !strings.Contains(fmt.Sprint(warnings...), "12000") {
					t.Errorf("BUG: no warning tells the user that only part of the 12000 issues could be read (warnings: %v)", warnings)
				}
			},
		},
		{
			name:     "a scan that disappears between polls",
			scenario: `{"scans": [` + prScan(`"inProgressPolls": 100, "disappearAfterPolls": 2`) + `]}`,
			flags:    map[string]string{"timeout": "2s"},
			wantCode: 3, wantVerdict: "timeout", wantLast: []string{"timed out"},
			check: func(t *testing.T, r run, _ simulator.Stats) {
				if !strings.Contains(r.stdout, "no longer listed") {
					t.Errorf("stdout does not say the scan vanished:\n%s", r.stdout)
				}
			},
		},
		{
			name:     "an unknown status",
			scenario: `{"scans": [` + prScan(`"status": "QUARANTINED"`) + `]}`,
			wantCode: 2, wantVerdict: "error", wantLast: []string{"QUARANTINED"},
		},
		{
			name:     "an unknown health",
			scenario: `{"scans": [` + prScan(`"health": "QUEUED_FOR_RESCAN", "status": "PASSED"`) + `]}`,
			// SPEC.md polls until the health is one it knows: an unknown
			// one is waited on, and the gate must name it when time runs out.
			flags:    map[string]string{"timeout": "2s"},
			wantCode: 3, wantVerdict: "timeout", wantLast: []string{"QUEUED_FOR_RESCAN"},
		},
		{
			name:     "advanced key refused for clock skew",
			scenario: `{"auth": {"type": "advanced"}, "scans": [` + passed + `]}`,
			flags:    map[string]string{"api-key-type": "advanced"},
			// The tenant's clock is ten minutes ahead of this machine's.
			opts:     simulator.Options{Now: func() time.Time { return time.Now().Add(10 * time.Minute) }},
			wantCode: 2, wantVerdict: "error", wantLast: []string{"401", "clock"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var wrap []func(http.Handler) http.Handler
			if tc.wrap != nil {
				wrap = append(wrap, tc.wrap)
			}
			srv, sim := startSimulator(t, parseScenario(t, tc.scenario), tc.opts, wrap...)
			r := runGate(t, gateConfig{url: srv.URL, flags: tc.flags})
			if r.code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", r.code, tc.wantCode, r.stderr)
			}
			if r.elapsed > faultBudget {
				t.Errorf("took %s, over the %s budget", r.elapsed, faultBudget)
			}
			checkLastLine(t, r)
			last := strings.ToLower(r.lastStderrLine())
			for _, w := range tc.wantLast {
				if !strings.Contains(last, strings.ToLower(w)) {
					t.Errorf("last stderr line does not mention %q:\n%s", w, r.lastStderrLine())
				}
			}
			rep := jsonReport(t, r)
			if rep["verdict"] != tc.wantVerdict {
				t.Errorf("JSON report verdict %v, want %s", rep["verdict"], tc.wantVerdict)
			}
			for _, f := range []string{"cortex-gate.sarif", "junit.xml", "codequality.json", "summary.md", "outputs.txt"} {
				r.file(t, f)
			}
			if tc.check != nil {
				tc.check(t, r, sim.Stats())
			}
			t.Logf("exit %d in %s, %d requests: %s", r.code, r.elapsed.Round(time.Millisecond), sim.Stats().Requests, r.lastStderrLine())
		})
	}
}

func issueCount(t *testing.T, r run) int {
	t.Helper()
	issues, _ := jsonResult(t, r)["issues"].([]any)
	return len(issues)
}

// trickle sends every 2xx body of the issues endpoint in 4 KiB pieces,
// pausing between them: a slow link, not a dead one.
func trickle(pause time.Duration) func(http.Handler) http.Handler {
	return rewriteThen(func(w http.ResponseWriter, r *http.Request, body []byte) {
		if !strings.HasSuffix(r.URL.Path, "/issues") {
			_, _ = w.Write(body)
			return
		}
		f, _ := w.(http.Flusher)
		for len(body) > 0 {
			n := min(4096, len(body))
			_, _ = w.Write(body[:n])
			body = body[n:]
			if f != nil {
				f.Flush()
			}
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
		}
	})
}
