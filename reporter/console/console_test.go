package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

// vectorsPath finds the actions/toolkit vectors: in ../shared beside the
// module root when this tree has it, else the copy in testdata/ (a clean
// clone of the repository has no ../shared).
func vectorsPath(t *testing.T) (shared, local string) {
	t.Helper()
	local = filepath.Join("testdata", "workflow-command-vectors.json")
	shared = filepath.Join(reporttest.ModuleRoot(t), "..", "shared", "oracles", "actions", "workflow-command-vectors.json")
	if _, err := os.Stat(shared); err != nil {
		shared = ""
	}
	return shared, local
}

type vector struct {
	Command    string
	Properties []property
	Message    string
	Expect     string
}

// UnmarshalJSON keeps the properties in file order: the toolkit writes
// them in insertion order, and so must command.
func (v *vector) UnmarshalJSON(b []byte) error {
	var raw struct {
		Command    string          `json:"command"`
		Properties json.RawMessage `json:"properties"`
		Message    string          `json:"message"`
		Expect     string          `json:"expect"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v.Command, v.Message, v.Expect = raw.Command, raw.Message, raw.Expect
	dec := json.NewDecoder(bytes.NewReader(raw.Properties))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var val string
		if err := dec.Decode(&val); err != nil {
			return err
		}
		v.Properties = append(v.Properties, property{k.(string), val})
	}
	return nil
}

func TestToolkitVectors(t *testing.T) {
	t.Parallel()
	shared, local := vectorsPath(t)
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	if shared != "" {
		s, err := os.ReadFile(shared)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s, data) {
			t.Fatalf("testdata/workflow-command-vectors.json is stale: copy %s again", shared)
		}
	} else {
		t.Logf("../shared not found: using the copy in testdata/")
	}
	var file struct{ Cases []vector }
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 10 {
		t.Fatalf("only %d vectors read", len(file.Cases))
	}
	for _, v := range file.Cases {
		if got := command(v.Command, v.Properties, v.Message); got != v.Expect {
			t.Errorf("command(%q, %v, %q) = %q, want %q", v.Command, v.Properties, v.Message, got, v.Expect)
		}
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	if got, want := EscapeData("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e"; got != want {
		t.Errorf("EscapeData = %q, want %q", got, want)
	}
	if got, want := EscapeProperty("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce"; got != want {
		t.Errorf("EscapeProperty = %q, want %q", got, want)
	}
}

var scanDate = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func issues(n int) []cortex.Issue {
	sev := []string{"Critical", "High", "Medium", "Low", "High"}
	meth := []string{"CVE Security", "Secrets Security", "IaC Security", "License Security", "Operational Risk Security"}
	out := make([]cortex.Issue, n)
	for i := range out {
		out[i] = cortex.Issue{
			ID: fmt.Sprintf("ISS-%03d", i), Severity: sev[i%len(sev)], DetectionMethod: meth[i%len(meth)],
			AlertName: fmt.Sprintf("Finding %d", i), FilePath: fmt.Sprintf("/src/pkg%d/file.go", i%7),
		}
		if i%6 == 5 {
			out[i].ResolutionStatus = "Resolved"
		}
		if i%9 == 4 {
			out[i].FilePath = ""
		}
	}
	return out
}

func result(v gate.Verdict, is []cortex.Issue) *gate.Result {
	r := &gate.Result{
		Verdict: v, Enforced: true, Message: "The change is blocked by 1 Cortex policy: fix the issues below.",
		Scan: &cortex.Scan{ID: "scan-7f3a", Health: cortex.HealthCompleted, Date: scanDate,
			CommitID: "0123456789abcdef0123456789abcdef01234567"},
		Selection: "PR scan scan-7f3a of PR 42 at the head commit 0123456",
		Issues:    is, Counts: gate.Counts{Issues: len(is), Findings: 3 * len(is), Critical: 1, High: 2, Medium: 3, Low: 4},
	}
	if v == gate.VerdictBlocked {
		r.BlockedByCortex = true
		r.BlockingPolicies = []string{"No critical CVEs"}
		r.Reasons = []string{"Cortex status BLOCKED"}
	}
	return r
}

// hostileText is scan text that tries to become a workflow command, a
// terminal escape, or extra lines.
var hostileText = []string{
	"::add-mask::x",
	"::stop-commands::pwned",
	"  ::error file=x::fake",
	"line one\n::warning::injected\r\n##[error]legacy",
	"text ##[add-mask]secret",
	"\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \x1b[2J\x9b31m",
	"bell\a nul\x00 del\x7f tab\t \u202eevil\u202c",
	"percent %0A %25 comma, colon: done",
	"::set-output name=verdict::passed",
	"\xff\xfe invalid",
}

func hostile() *gate.Result {
	var is []cortex.Issue
	for i, h := range hostileText {
		is = append(is, cortex.Issue{ID: h, Severity: []string{"Critical", "High"}[i%2], AlertName: h,
			DetectionMethod: h, FilePath: h})
	}
	r := result(gate.VerdictBlocked, is)
	r.Message = "blocked\n::add-mask::" + hostileText[5]
	r.BlockingPolicies = hostileText
	r.Reasons = hostileText[:3]
	r.Warnings = hostileText[3:5]
	r.Selection = hostileText[1]
	r.Scan.ID = hostileText[0]
	r.Scan.CommitID = hostileText[3]
	return r
}

func cases() map[string]*gate.Result {
	report := result(gate.VerdictBlocked, issues(4))
	report.Enforced = false
	passed := result(gate.VerdictPassed, nil)
	passed.Message = "No blocking issues: the change passes the Cortex gate."
	passed.Counts = gate.Counts{}
	cancelled := &gate.Result{Verdict: gate.VerdictError, Enforced: true, Cancelled: true,
		Message: "The wait was cancelled by a signal; re-run the job."}
	timeout := &gate.Result{Verdict: gate.VerdictTimeout, Enforced: true,
		Message: "The scan did not finish within 30m: raise timeout or check the Cortex console.",
		Scan:    &cortex.Scan{ID: "scan-7f3a", Health: cortex.HealthInProgress}}
	return map[string]*gate.Result{
		"blocked":     result(gate.VerdictBlocked, issues(30)),
		"passed":      passed,
		"error":       {Verdict: gate.VerdictError, Enforced: true, Message: "failed to authenticate to Cortex: check api-key-id and api-key (HTTP 401)."},
		"cancelled":   cancelled,
		"timeout":     timeout,
		"report-mode": report,
		"hostile":     hostile(),
	}
}

func TestVerdictGolden(t *testing.T) {
	t.Parallel()
	for name, r := range cases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := Verdict(&b, r, 10); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			reporttest.Golden(t, name+".verdict.golden", []byte(got))
			checkLog(t, got)

			ann := strings.Join(Annotations(r), "\n")
			reporttest.Golden(t, name+".annotations.golden", []byte(ann))
		})
	}
}

var reControl = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e\u2066-\u2069]")

// checkLog fails on any line the runner could read as a workflow command,
// and on any terminal control character.
func checkLog(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			t.Errorf("line is a workflow command: %q", line)
		}
		if strings.Contains(line, "##[") {
			t.Errorf("line holds a legacy workflow command: %q", line)
		}
		if reControl.MatchString(line) {
			t.Errorf("line holds a control character: %q", line)
		}
	}
}

// parse reads a workflow command line as actions/runner's ActionCommand
// TryParseV2 does, unescaping the values.
func parse(t *testing.T, line string) (cmd string, props map[string]string, msg string) {
	t.Helper()
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	if !strings.HasPrefix(line, "::") || strings.ContainsAny(line, "\r\n") {
		t.Fatalf("not a one-line workflow command: %q", line)
	}
	end := strings.Index(line[2:], "::")
	if end < 0 {
		t.Fatalf("no end of command in %q", line)
	}
	info := line[2 : 2+end]
	msg = unescape.Replace(line[2+end+2:])
	cmd, rest, _ := strings.Cut(info, " ")
	props = map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("property without a value in %q", line)
		}
		props[k] = unescape.Replace(v)
	}
	return cmd, props, msg
}

func TestAnnotations(t *testing.T) {
	t.Parallel()
	r := result(gate.VerdictBlocked, issues(60))
	lines := Annotations(r)
	var errs, warns int
	for _, l := range lines {
		cmd, props, msg := parse(t, l)
		switch cmd {
		case "error":
			errs++
			if warns > 0 {
				t.Errorf("an error follows a warning: %q", l)
			}
			if !strings.Contains(msg, "(blocks this change") {
				t.Errorf("error annotation does not say it blocks: %q", msg)
			}
		case "warning":
			warns++
		default:
			t.Errorf("unexpected command %q", cmd)
		}
		if f, ok := props["file"]; ok && (f == "" || strings.HasPrefix(f, "/")) {
			t.Errorf("file property %q is not a repository path", f)
		}
	}
	if errs != 10 {
		t.Errorf("%d error annotations, want 10 (GitHub shows 10 per step)", errs)
	}
	if warns != 0 {
		t.Errorf("%d warnings on a Cortex block: every unresolved issue blocks, so none is left to warn about", warns)
	}

	// Blocked by fail-on-severity: criticals block, highs warn.
	r.BlockedByCortex, r.BlockedBySeverity, r.SeverityThreshold = false, true, "critical"
	errs, warns = 0, 0
	for _, l := range Annotations(r) {
		cmd, props, msg := parse(t, l)
		if cmd == "error" {
			errs++
		} else {
			warns++
			if !strings.HasPrefix(props["title"], "Cortex: High ") {
				t.Errorf("warning for a non-high issue: %q", l)
			}
			if !strings.Contains(msg, "(does not block") {
				t.Errorf("warning message: %q", msg)
			}
		}
	}
	if errs != 10 || warns != 10 {
		t.Errorf("got %d errors and %d warnings, want 10 and 10", errs, warns)
	}

	noFile := result(gate.VerdictBlocked, []cortex.Issue{{ID: "I-1", Severity: "High", AlertName: "no file"}})
	if got, want := Annotations(noFile), []string{"::error title=Cortex%3A High Other issue::no file (blocks this change; Cortex issue I-1)"}; !cmp.Equal(want, got) {
		t.Errorf("issue without a file (-want +got):\n%s", cmp.Diff(want, got))
	}
	if got := Annotations(result(gate.VerdictPassed, nil)); len(got) != 0 {
		t.Errorf("a clean pass has annotations: %q", got)
	}
}

func TestAnnotationsHostile(t *testing.T) {
	t.Parallel()
	r := hostile()
	for _, l := range Annotations(r) {
		_, props, msg := parse(t, l)
		for k, v := range props {
			if strings.ContainsAny(v, "\r\n\x1b") || strings.Contains(v, "##[") {
				t.Errorf("property %s=%q is not clean", k, v)
			}
		}
		if strings.ContainsAny(msg, "\r\n\x1b") || strings.Contains(msg, "##[") {
			t.Errorf("message %q is not clean", msg)
		}
	}
	// The values decode back to the cleaned scan text, exactly.
	const want = "percent %0A %25 comma, colon: done"
	found := false
	for _, l := range Annotations(r) {
		if _, props, msg := parse(t, l); props["file"] == want {
			found = true
			if !strings.HasPrefix(msg, want+" (") || !strings.HasSuffix(msg, "; Cortex issue "+want+")") {
				t.Errorf("round trip: message %q; want it to start with %q", msg, want)
			}
		}
	}
	if !found {
		t.Errorf("no annotation decodes to file %q", want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestVerdictWriteError(t *testing.T) {
	t.Parallel()
	err := Verdict(failWriter{}, result(gate.VerdictPassed, nil), 5)
	if err == nil || !strings.Contains(err.Error(), "failed to write the verdict block: disk full") {
		t.Errorf("Verdict error = %v", err)
	}
	var b strings.Builder
	if err := Verdict(&b, nil, 5); err != nil || !strings.HasPrefix(b.String(), "Cortex Code Security: ERROR") {
		t.Errorf("Verdict(nil) = %q, %v", b.String(), err)
	}
}

func FuzzConsole(f *testing.F) {
	for _, h := range hostileText {
		f.Add(h, h)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		r := result(gate.VerdictBlocked, []cortex.Issue{
			{ID: a, Severity: "High", AlertName: a, DetectionMethod: b, FilePath: b},
			{ID: b, Severity: "Critical", AlertName: b, FilePath: a, ResolutionStatus: "Open"},
		})
		r.Message, r.Selection = a, b
		r.BlockingPolicies, r.Reasons, r.Warnings = []string{a}, []string{b}, []string{a + b}
		var out strings.Builder
		if err := Verdict(&out, r, 5); err != nil {
			t.Fatal(err)
		}
		checkLog(t, out.String())
		lines := Annotations(r)
		if len(lines) != 2 {
			t.Fatalf("%d annotations for 2 blocking issues", len(lines))
		}
		// The high issue, second, is annotated on file b.
		if _, props, _ := parse(t, lines[1]); props["file"] != strings.TrimLeft(clean(b, 1000), "/") {
			t.Errorf("file %q does not round-trip to %q", props["file"], clean(b, 1000))
		}
		for _, l := range lines {
			_, _, msg := parse(t, l)
			if reControl.MatchString(msg) || strings.Contains(msg, "##[") {
				t.Errorf("message %q is not clean", msg)
			}
		}
		if got := EscapeData(a); strings.ContainsAny(got, "\r\n") {
			t.Errorf("EscapeData(%q) = %q keeps a line break", a, got)
		}
		if got := EscapeProperty(a); strings.ContainsAny(got, "\r\n,:") {
			t.Errorf("EscapeProperty(%q) = %q keeps a separator", a, got)
		}
	})
}
