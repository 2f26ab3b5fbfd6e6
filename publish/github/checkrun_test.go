package github

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
)

const headSHA = "4f2d6c1b9e0a7d3c5b8a1f0e2d4c6b8a0f1e3d5c"

func manyAnnotations(n int) []Annotation {
	out := make([]Annotation, n)
	for i := range out {
		out[i] = Annotation{Path: fmt.Sprintf("src/f%03d.go", i), StartLine: 1, EndLine: 1, Level: LevelWarning, Title: "t", Message: fmt.Sprintf("issue %d", i)}
	}
	return out
}

func TestCheckRun_SendsAnnotationsFiftyAtATime(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	c := newTestClient(t, f, patSecret)

	u, err := c.CheckRun(context.Background(), CheckRun{
		HeadSHA:     headSHA,
		Title:       "Blocked: 2 blocking policies",
		Summary:     "## Cortex Code Security\nBlocked.",
		Text:        "details",
		Conclusion:  "failure",
		DetailsURL:  "https://github.example/acme/payments-api/actions/runs/1",
		Annotations: manyAnnotations(120),
		StartedAt:   time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC),
		CompletedAt: time.Date(2024, 6, 1, 12, 4, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("CheckRun() error = %v", err)
	}

	want := []string{"POST check-runs (50 annotations)", "PATCH check-run (50 annotations)", "PATCH check-run (20 annotations)"}
	if diff := cmp.Diff(want, f.callLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	runs := f.runs()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	r := runs[0]
	if r.name != "Cortex Code Security" || r.headSHA != headSHA || r.conclusion != "failure" {
		t.Errorf("check run = %q on %s, %s; want Cortex Code Security on the head commit, failure", r.name, r.headSHA, r.conclusion)
	}
	if r.title != "Blocked: 2 blocking policies" || r.summary != "## Cortex Code Security\nBlocked." || r.text != "details" {
		t.Errorf("output after the updates = %q / %q / %q, want the run's title, summary and text kept", r.title, r.summary, r.text)
	}
	if len(r.annotations) != 120 || r.annotations[119]["message"] != "issue 119" {
		t.Errorf("check run has %d annotations, want all 120 in order", len(r.annotations))
	}
	if !strings.HasSuffix(u, fmt.Sprintf("/runs/%d", r.id)) {
		t.Errorf("html_url = %q, want the run's", u)
	}
}

func TestCheckRun_FewAnnotationsNeedNoUpdate(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 50} {
		f := newPATFake(t)
		c := newTestClient(t, f, patSecret)
		if _, err := c.CheckRun(context.Background(), CheckRun{HeadSHA: headSHA, Conclusion: "success", Annotations: manyAnnotations(n)}); err != nil {
			t.Fatalf("CheckRun(%d annotations) error = %v", n, err)
		}
		want := []string{fmt.Sprintf("POST check-runs (%d annotations)", n)}
		if diff := cmp.Diff(want, f.callLog()); diff != "" {
			t.Errorf("%d annotations: requests (-want +got):\n%s", n, diff)
		}
		if r := f.runs()[0]; r.title != CheckRunName || r.summary != CheckRunName {
			t.Errorf("empty title and summary became %q / %q, want the check's name", r.title, r.summary)
		}
	}
}

func TestCheckRun_LongSummaryIsCut(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	c := newTestClient(t, f, patSecret)
	long := strings.Repeat("| `x` | é |\n", 10000) // 120,000 characters

	if _, err := c.CheckRun(context.Background(), CheckRun{HeadSHA: headSHA, Conclusion: "failure", Summary: long, Text: long}); err != nil {
		t.Fatalf("CheckRun() error = %v", err)
	}
	r := f.runs()[0]
	for name, got := range map[string]string{"summary": r.summary, "text": r.text} {
		if n := utf8.RuneCountInString(got); n > MaxOutputChars {
			t.Errorf("%s has %d characters, want at most %d", name, n, MaxOutputChars)
		}
		if !strings.HasSuffix(got, outputTrimmedNote) || !strings.HasSuffix(strings.TrimSuffix(got, outputTrimmedNote), "|\n") {
			t.Errorf("%s was not cut at a line end with the note: ...%q", name, got[len(got)-150:])
		}
	}
}

func TestCheckRun_Errors(t *testing.T) {
	t.Parallel()
	t.Run("read-only token", func(t *testing.T) {
		t.Parallel()
		f := newFakeGitHub(t, "/api/v3")
		f.addToken(forkSecret, token{as: actionsBot, installation: true, readOnly: true})
		c := newTestClient(t, f, forkSecret)
		_, err := c.CheckRun(context.Background(), CheckRun{HeadSHA: headSHA, Conclusion: "failure"})
		if !IsPermission(err) || !strings.Contains(err.Error(), "failed to create check run on acme/payments-api at 4f2d6c1b9e0a: POST") {
			t.Errorf("CheckRun() error = %v, want a permission error naming the run", err)
		}
	})
	t.Run("failed update keeps the URL", func(t *testing.T) {
		t.Parallel()
		f := newPATFake(t)
		f.failNext("PATCH check-run", fault{status: 422, body: `{"message":"Validation Failed","documentation_url":"https://docs.github.com/rest","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long"}]}`})
		c := newTestClient(t, f, patSecret)
		u, err := c.CheckRun(context.Background(), CheckRun{HeadSHA: headSHA, Conclusion: "failure", Annotations: manyAnnotations(70)})
		if err == nil || !strings.Contains(err.Error(), "failed to add annotations 51-70 of 70 to check run") {
			t.Errorf("CheckRun() error = %v, want one naming the batch", err)
		}
		if u == "" {
			t.Error("CheckRun() returned no URL for the run it created")
		}
	})
	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		f := newPATFake(t)
		c := newTestClient(t, f, patSecret)
		for _, run := range []CheckRun{{Conclusion: "success"}, {HeadSHA: headSHA, Conclusion: "passed"}, {HeadSHA: headSHA}} {
			if _, err := c.CheckRun(context.Background(), run); err == nil {
				t.Errorf("CheckRun(%+v) succeeded, want an error", run)
			}
		}
		if calls := f.callLog(); len(calls) != 0 {
			t.Errorf("bad input made requests %v, want none", calls)
		}
	})
}

func TestConclusion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verdict  gate.Verdict
		enforced bool
		want     string
	}{
		{gate.VerdictPassed, true, "success"},
		{gate.VerdictPassed, false, "success"},
		{gate.VerdictBlocked, true, "failure"},
		{gate.VerdictBlocked, false, "neutral"},
		{gate.VerdictError, true, "failure"},
		{gate.VerdictError, false, "failure"},
		{gate.VerdictTimeout, true, "timed_out"},
		{gate.VerdictTimeout, false, "timed_out"},
		{"", true, "failure"},
	}
	for _, tt := range tests {
		if got := Conclusion(tt.verdict, tt.enforced); got != tt.want {
			t.Errorf("Conclusion(%q, enforced=%v) = %q, want %q", tt.verdict, tt.enforced, got, tt.want)
		}
	}
}

func TestAnnotationsFor(t *testing.T) {
	t.Parallel()
	issues := []cortex.Issue{
		{ID: "I-1", Severity: "Low", AlertName: "Outdated base image", DetectionMethod: "IaC Security", FilePath: "Dockerfile"},
		{ID: "I-2", Severity: "Critical", AlertName: "AWS key\nin code\x1b[31m", DetectionMethod: "Secrets Security", FilePath: "/src/config.py", AssetName: "payments-api"},
		{ID: "I-3", Severity: "High", AlertName: "CVE-2024-0001 in lodash", DetectionMethod: "CVE Security", FilePath: "./package.json"},
		{ID: "I-4", Severity: "High", AlertName: "no file", DetectionMethod: "CVE Security"},
		{ID: "I-5", Severity: "Critical", AlertName: "resolved", FilePath: "a.go", ResolutionStatus: "Resolved"},
		{ID: "I-6", Severity: "Medium", AlertName: strings.Repeat("long ", 100), DetectionMethod: "Operational Risk Security", FilePath: "go.mod"},
	}
	t.Run("blocked by severity", func(t *testing.T) {
		t.Parallel()
		r := &gate.Result{Verdict: gate.VerdictBlocked, Enforced: true, BlockedBySeverity: true, SeverityThreshold: "high", Issues: issues}
		want := []Annotation{
			{Path: "src/config.py", StartLine: 1, EndLine: 1, Level: LevelFailure, Title: "Critical: AWS key in code[31m",
				Message: "AWS key in code[31m (Critical, Secrets)\nThis issue blocks the change.\nAsset: payments-api\nCortex issue ID: I-2"},
			{Path: "package.json", StartLine: 1, EndLine: 1, Level: LevelFailure, Title: "High: CVE-2024-0001 in lodash",
				Message: "CVE-2024-0001 in lodash (High, Vulnerabilities)\nThis issue blocks the change.\nCortex issue ID: I-3"},
			{Path: "go.mod", StartLine: 1, EndLine: 1, Level: LevelNotice, Title: ("Medium: " + strings.Repeat("long ", 100))[:MaxAnnotationTitleChars],
				Message: strings.TrimSpace(strings.Repeat("long ", 100)) + " (Medium, Operational risk)\nCortex issue ID: I-6"},
			{Path: "Dockerfile", StartLine: 1, EndLine: 1, Level: LevelNotice, Title: "Low: Outdated base image",
				Message: "Outdated base image (Low, IaC)\nCortex issue ID: I-1"},
		}
		if diff := cmp.Diff(want, AnnotationsFor(r)); diff != "" {
			t.Errorf("AnnotationsFor() (-want +got):\n%s", diff)
		}
	})
	t.Run("passed, and report mode", func(t *testing.T) {
		t.Parallel()
		passed := AnnotationsFor(&gate.Result{Verdict: gate.VerdictPassed, Enforced: true, Issues: issues})
		var levels []string
		for _, a := range passed {
			levels = append(levels, a.Path+" "+a.Level)
		}
		want := []string{"src/config.py warning", "package.json warning", "go.mod notice", "Dockerfile notice"}
		if diff := cmp.Diff(want, levels); diff != "" {
			t.Errorf("passed: levels (-want +got):\n%s", diff)
		}
		report := AnnotationsFor(&gate.Result{Verdict: gate.VerdictBlocked, BlockedByCortex: true, Issues: issues[:1]})
		if len(report) != 1 || report[0].Level != LevelFailure || !strings.Contains(report[0].Message, "would block the change under mode: enforce") {
			t.Errorf("report mode: %+v, want a failure that says it would block", report)
		}
		if got := AnnotationsFor(nil); got != nil {
			t.Errorf("AnnotationsFor(nil) = %v, want nil", got)
		}
	})
}
