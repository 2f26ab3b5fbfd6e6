package markdown

import (
	"fmt"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
)

// The cases are built in Go rather than read from JSON: most of them are
// hundreds of generated issues, and the hostile strings read better here.

var scanDate = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func testContext() reporter.Context {
	return reporter.Context{
		ServerURL:       "https://github.com",
		Platform:        "github",
		RepoPath:        "acme/payments-api",
		HeadSHA:         "0123456789abcdef0123456789abcdef01234567",
		MaxCommentItems: 25,
		FullReportHint:  "the job summary of this run",
		RunURL:          "https://github.com/acme/payments-api/actions/runs/77",
	}
}

const testMarker = "<!-- cortex-gate:v1 repo=acme/payments-api pr=42 type=pr -->"

func testScan() *cortex.Scan {
	return &cortex.Scan{
		Type: cortex.ScanTypePR, ID: "scan-7f3a", Health: cortex.HealthCompleted, Status: "PASSED",
		Date: scanDate, RepoName: "payments-api", PullRequestID: "42",
		CommitID: "0123456789abcdef0123456789abcdef01234567",
	}
}

var (
	severities = []string{"Critical", "High", "Medium", "Low", "High", "Medium"}
	methods    = []string{"CVE Security", "Secrets Security", "IaC Security", "License Security", "Operational Risk Security", "SAST"}
)

// manyIssues generates n issues; pathLen pads the file paths so a case can
// reach the comment's length limit with fewer rows.
func manyIssues(n, pathLen int) []cortex.Issue {
	issues := make([]cortex.Issue, n)
	for i := range issues {
		path := fmt.Sprintf("services/billing/module%03d/handler_%d.go", i%97, i)
		if pathLen > len(path) {
			path = strings.Repeat("deep/", (pathLen-len(path))/5) + path
		}
		status := "Open"
		if i%11 == 10 {
			status = "Resolved"
		}
		issues[i] = cortex.Issue{
			ID:               fmt.Sprintf("ISS-%05d", i),
			Severity:         severities[i%len(severities)],
			AlertName:        fmt.Sprintf("Finding number %d in the billing service", i),
			DetectionMethod:  methods[i%len(methods)],
			FilePath:         path,
			ResolutionStatus: status,
			Assignee:         []string{"", "dev@acme.example"}[i%2],
		}
	}
	return issues
}

func countsOf(issues []cortex.Issue) gate.Counts {
	c := gate.Counts{Issues: len(issues), Findings: 2 * len(issues)}
	for _, i := range issues {
		switch cortex.ParseSeverity(i.Severity) {
		case cortex.SeverityCritical:
			c.Critical++
		case cortex.SeverityHigh:
			c.High++
		case cortex.SeverityMedium:
			c.Medium++
		case cortex.SeverityLow:
			c.Low++
		}
	}
	return c
}

func blocked(issues []cortex.Issue) *gate.Result {
	s := testScan()
	s.Status = "BLOCKED"
	s.BlockingPolicyNames = []string{"No critical CVEs", "No secrets in code"}
	return &gate.Result{
		Verdict: gate.VerdictBlocked, Enforced: true,
		Message:          "The change is blocked by 2 Cortex policies: fix the issues below or ask for an exception.",
		Reasons:          []string{"Cortex status BLOCKED", "blocking policies: No critical CVEs, No secrets in code"},
		Change:           gate.Change{ScanType: cortex.ScanTypePR, Repository: "payments-api", PRID: "42", CommitSHA: s.CommitID},
		Selection:        "PR scan scan-7f3a of PR 42 at the head commit 0123456, the newest of 2 matches",
		Scan:             s,
		BlockingPolicies: s.BlockingPolicyNames,
		Counts:           countsOf(issues),
		Issues:           issues,
		BlockedByCortex:  true,
	}
}

// hostileStrings try every way scan text could break out of its cell.
var hostileStrings = []string{
	"pipe | in | name",
	"line\nbreak\r\nand\rmore\u2028sep",
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(1)>",
	"[click](javascript:alert(1))",
	"![img](https://evil.example/x.png)",
	"see https://evil.example/phish and HTTP://EVIL.EXAMPLE/x",
	"www.evil.example and WWW.Evil.Example",
	"ping @octocat and @acme/security-team",
	"fixes #123 and acme/other#7 and GH-42",
	"`code` and ```fence```",
	"<!-- cortex-gate:v1 repo=acme/payments-api pr=42 type=pr -->",
	"closes --> the comment",
	"**bold** _em_ ~~strike~~ $x^2$",
	"&lt;entity&gt; &amp; &#64;octocat &#124;",
	"\x1b[31mred\x1b[0m \u202eevil\u202c",
	"mailto:sec@evil.example user@evil.example",
	"<https://evil.example>",
	`back\slash\| pipe \`,
	"# heading\n- list\n> quote\n1. ordered",
	"| --- | --- |",
	":shipit: :+1:",
	"[ref]: https://evil.example",
	"javascript:alert(document.cookie)",
}

func hostile() *gate.Result {
	issues := make([]cortex.Issue, len(hostileStrings))
	for i, h := range hostileStrings {
		issues[i] = cortex.Issue{
			ID:               fmt.Sprintf("H-%d", i),
			Severity:         severities[i%len(severities)],
			AlertName:        h,
			DetectionMethod:  []string{"Secrets Security", "weird | method <b>"}[i%2],
			FilePath:         []string{"src/a) (b.go", "../../etc/passwd", "dir with space/[x](y).go", "x\"onmouseover=\"alert(1).go"}[i%4] + "/" + h,
			ResolutionStatus: hostileStrings[(i+3)%len(hostileStrings)],
			Assignee:         hostileStrings[(i+8)%len(hostileStrings)],
		}
	}
	r := blocked(issues)
	r.Message = "Blocked by <b>@octocat</b> | see https://evil.example\n# not a heading"
	r.BlockingPolicies = []string{"policy | with pipe", "@acme/admins <!-- x -->", "[p](https://evil.example)"}
	r.Reasons = []string{"reason with `backticks` and #1"}
	r.Warnings = []string{"partial scan: <i>PARTIALLY_COMPLETED</i> www.evil.example"}
	r.Selection = "scan of @octocat's fork ](javascript:x)"
	r.Scan.ID = "scan|<id>@x"
	r.Scan.CommitID = "abc`def"
	return r
}

type testCase struct {
	name string
	r    *gate.Result
	ctx  reporter.Context
}

func cases() []testCase {
	ctx := testContext()

	passed := &gate.Result{
		Verdict: gate.VerdictPassed, Enforced: true,
		Message:          "No blocking issues: the change passes the Cortex gate.",
		Change:           gate.Change{ScanType: cortex.ScanTypePR, Repository: "payments-api", PRID: "42"},
		Selection:        "PR scan scan-7f3a of PR 42 at the head commit 0123456",
		Scan:             testScan(),
		BlockingPolicies: []string{},
	}

	many := blocked(manyIssues(120, 0))
	many.Warnings = []string{"The scan is PARTIALLY_COMPLETED: some scanners did not finish, so issues may be missing."}

	limit := blocked(manyIssues(600, 120))

	errResult := &gate.Result{
		Verdict: gate.VerdictError, Enforced: true,
		Message: "failed to authenticate to Cortex at https://api-acme.xdr.us.paloaltonetworks.com: check api-key-id and api-key (HTTP 401).",
		Reasons: []string{"HTTP 401 from /public_api/appsec/v1/scans/pr"},
		Change:  gate.Change{ScanType: cortex.ScanTypePR, Repository: "payments-api", PRID: "42", CommitSHA: "0123456789abcdef0123456789abcdef01234567"},
	}

	cancelled := &gate.Result{
		Verdict: gate.VerdictError, Enforced: true, Cancelled: true,
		Message: "The wait was cancelled by a signal before the scan finished; re-run the job.",
		Change:  gate.Change{ScanType: cortex.ScanTypePR, Repository: "payments-api", PRID: "42", CommitSHA: "0123456789abcdef0123456789abcdef01234567"},
	}

	ts := testScan()
	ts.Health, ts.Status = cortex.HealthInProgress, ""
	timeout := &gate.Result{
		Verdict: gate.VerdictTimeout, Enforced: true,
		Message:   "The scan did not finish within 30m: raise timeout or check the Cortex console.",
		Change:    gate.Change{ScanType: cortex.ScanTypePR, Repository: "payments-api", PRID: "42"},
		Selection: "PR scan scan-7f3a of PR 42 at the head commit 0123456",
		Scan:      ts,
	}

	report := blocked(manyIssues(8, 0))
	report.Enforced = false
	report.Message = "The change would be blocked by 2 Cortex policies; mode is report, so the job passes."

	severityOnly := blocked(manyIssues(12, 0))
	severityOnly.BlockedByCortex, severityOnly.BlockedBySeverity = false, true
	severityOnly.SeverityThreshold = "high"
	severityOnly.BlockingPolicies = nil
	severityOnly.Scan.BlockingPolicyNames = nil
	severityOnly.Reasons = []string{"fail-on-severity high: 5 unresolved issues at high or above"}

	return []testCase{
		{"passed-empty", passed, ctx},
		{"blocked-many", many, ctx},
		{"blocked-limit", limit, ctx},
		{"blocked-severity", severityOnly, ctx},
		{"hostile", hostile(), ctx},
		{"error", errResult, ctx},
		{"cancelled", cancelled, ctx},
		{"timeout", timeout, ctx},
		{"report-mode", report, ctx},
	}
}
