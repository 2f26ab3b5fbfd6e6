package reporttest

// The golden cases every report-file writer (jsonreport, sarif, junit,
// codequality) renders, so their goldens show the same results. Each case
// is a function: tests change the result they get, so every call builds a
// fresh one.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
)

// The run's pinned clock, so the goldens are byte-stable.
var (
	start  = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	finish = start.Add(3*time.Minute + 25*time.Second + 500*time.Millisecond)
)

// Context is a GitHub pull request run, the context every case renders in.
func Context() reporter.Context {
	return reporter.Context{
		ServerURL:       "https://github.com",
		Platform:        "github",
		RepoPath:        "acme/payments",
		HeadSHA:         "0123456789abcdef0123456789abcdef01234567",
		MaxCommentItems: 25,
		RunURL:          "https://github.com/acme/payments/actions/runs/42",
	}
}

// Case is one golden case: its golden file is testdata/<Name>.golden.
type Case struct {
	Name   string
	Result func() *gate.Result
}

// Cases are the golden cases, in a fixed order.
func Cases() []Case {
	return []Case{
		{"passed-empty", PassedEmpty},
		{"blocked-many", BlockedMany},
		{"blocked-severity-report-mode", BlockedBySeverity},
		{"hostile", Hostile},
		{"error-no-scan", ErrorNoScan},
		{"timeout", TimedOut},
	}
}

// Named is the case called name's result; it fails t when there is none.
func Named(t testing.TB, name string) *gate.Result {
	t.Helper()
	for _, c := range Cases() {
		if c.Name == name {
			return c.Result()
		}
	}
	t.Fatalf("no test case %q", name)
	return nil
}

func prScan(status string) *cortex.Scan {
	return &cortex.Scan{
		Type:                cortex.ScanTypePR,
		ID:                  "scan-7f3a",
		Health:              cortex.HealthCompleted,
		Status:              status,
		Date:                start.Add(-2 * time.Minute),
		RepoName:            "payments",
		OrganizationName:    "acme",
		BranchName:          "feature/login",
		Provider:            "GITHUB",
		PullRequestID:       "17",
		PullRequestTitle:    "Add login",
		CommitID:            "0123456789abcdef0123456789abcdef01234567",
		BlockingPolicyNames: []string{},
		BlockingPolicyIDs:   []string{},
	}
}

func prChange() gate.Change {
	return gate.Change{
		ScanType:     cortex.ScanTypePR,
		Organization: "acme",
		Repository:   "payments",
		Branch:       "feature/login",
		PRID:         "17",
		CommitSHA:    "0123456789abcdef0123456789abcdef01234567",
	}
}

// PassedEmpty: Cortex passed the PR scan and found nothing.
func PassedEmpty() *gate.Result {
	s := prScan("PASSED")
	s.IssuesFound = map[string]float64{}
	return &gate.Result{
		Verdict:          gate.VerdictPassed,
		Enforced:         true,
		Message:          "Cortex passed PR scan scan-7f3a: no blocking policy fired.",
		Change:           prChange(),
		Selection:        "PR scan scan-7f3a of PR 17 at commit 0123456, newest of 1 match",
		Scan:             s,
		BlockingPolicies: []string{},
		Issues:           []cortex.Issue{},
		StartedAt:        start,
		FinishedAt:       finish,
		Polls:            3,
	}
}

func issue(id, sev, alert, method, file, asset string) cortex.Issue {
	return cortex.Issue{
		ID:               id,
		ScanID:           "scan-7f3a",
		Severity:         sev,
		AlertName:        alert,
		DetectionMethod:  method,
		AssetName:        asset,
		FilePath:         file,
		Created:          start.Add(-time.Hour),
		RepoID:           "repo-1",
		PullRequestID:    "17",
		Branch:           "feature/login",
		ResolutionStatus: "New",
	}
}

// BlockedMany: Cortex blocked the PR with two policies; its issues span
// every severity and kind, with a duplicate, issues without a file and a
// resolved one.
func BlockedMany() *gate.Result {
	s := prScan("FAILED")
	s.BlockingPolicyNames = []string{"Block critical secrets", "No high CVEs"}
	s.BlockingPolicyIDs = []string{"pol-1", "pol-2"}
	issues := []cortex.Issue{
		issue("iss-01", "Critical", "AWS Access Key", "Secrets Security", "config/prod.env", "payments"),
		issue("iss-02", "Critical", "AWS Access Key", "Secrets Security", "config/prod.env", "payments"), // same key twice in a file
		issue("iss-03", "High", "CVE-2024-3094 in xz-utils 5.6.0", "Cve Security", "Dockerfile", "payments"),
		issue("iss-04", "High", "Private key committed", "Secrets Security", "deploy/id_rsa", "payments"),
		issue("iss-05", "Medium", "S3 bucket without encryption", "IaC Security", "terraform/s3.tf", "payments"),
		issue("iss-06", "Medium", "S3 bucket without encryption", "IaC Security", "terraform/logs.tf", "payments"),
		issue("iss-07", "Low", "GPL-3.0 licensed dependency", "License Security", "go.mod", "payments"),
		issue("iss-08", "Low", "Unmaintained package left-pad", "Operational Risk Security", "package.json", "payments"),
		issue("iss-09", "High", "Container runs as root", "IaC Security", "", "payments-image"),
		issue("iss-10", "Medium", "Weak TLS configuration", "", "", ""),
		issue("iss-11", "Informational", "Outdated base image", "Cve Security", "Dockerfile", "payments"),
	}
	resolved := issue("iss-12", "Critical", "Hard-coded password", "Secrets Security", "src/db.go", "payments")
	resolved.ResolutionStatus = "Resolved"
	resolved.ResolutionReason = "False positive"
	resolved.ResolutionComment = "Test fixture"
	issues = append(issues, resolved)
	s.IssuesFound = map[string]float64{"Critical": 3, "High": 3, "Medium": 3, "Low": 2}
	return &gate.Result{
		Verdict:          gate.VerdictBlocked,
		Enforced:         true,
		Message:          "Cortex blocked PR 17: 2 blocking policies fired. Fix the issues below or ask for an exception.",
		Reasons:          []string{"blocking policy Block critical secrets", "blocking policy No high CVEs", "status FAILED"},
		Warnings:         []string{"1 issue is informational and counted as low"},
		Change:           prChange(),
		Selection:        "PR scan scan-7f3a of PR 17 at commit 0123456, newest of 2 matches",
		Scan:             s,
		BlockingPolicies: []string{"Block critical secrets", "No high CVEs"},
		Counts:           gate.Counts{Issues: 12, Findings: 15, Critical: 3, High: 3, Medium: 3, Low: 2},
		Issues:           issues,
		BlockedByCortex:  true,
		StartedAt:        start,
		FinishedAt:       finish,
		Polls:            7,
	}
}

// BlockedBySeverity: Cortex passed, fail-on-severity high blocked, and the
// gate runs under mode: report.
func BlockedBySeverity() *gate.Result {
	s := prScan("PASSED_WITH_ISSUES")
	s.Type = cortex.ScanTypeCI
	s.PullRequestID = ""
	s.BranchName = "main"
	issues := []cortex.Issue{
		issue("ci-1", "High", "SQL injection sink", "SAST", "internal/db/query.go", "payments"),
		issue("ci-2", "Medium", "Missing rate limit", "SAST", "internal/api/server.go", "payments"),
		issue("ci-3", "low", "Verbose error message", "SAST", "internal/api/errors.go", "payments"),
	}
	return &gate.Result{
		Verdict:           gate.VerdictBlocked,
		Enforced:          false,
		Message:           "1 issue is at or above fail-on-severity high: fix it or raise the threshold.",
		Reasons:           []string{"1 unresolved issue at or above high"},
		Change:            gate.Change{ScanType: cortex.ScanTypeCI, Repository: "payments", Branch: "main", CommitSHA: "89abcdef"},
		Selection:         "newest CI scan of payments on main not older than 1h",
		Scan:              s,
		BlockingPolicies:  []string{},
		Counts:            gate.Counts{Issues: 3, High: 1, Medium: 1, Low: 1},
		Issues:            issues,
		SeverityThreshold: "high",
		BlockedBySeverity: true,
		StartedAt:         start,
		FinishedAt:        finish,
		Polls:             1,
	}
}

// HostileText holds what an attacker who controls a scanned repository
// could put into alert names, paths and comments.
const HostileText = "<script>alert(1)</script> & \"quotes\" 'apos' ]]> --> <!-- \x00NUL \x01\x07\x1b[31mred\x1b[0m \x7f \u0085 \u2028 \ufffe \uFEFF [link](https://evil.example) ![img](x) @everyone #1 `code` | pipe \\ backslash \xff\xfe invalid utf-8 \xc3\x28 \U0001F600 \u202Egnp.exe"

// Hostile: every text the scan controls is HostileText or worse.
func Hostile() *gate.Result {
	long := strings.Repeat("A very long alert name ", 800) // ~18 KB
	s := prScan("FAILED")
	s.BlockingPolicyNames = []string{HostileText}
	s.PullRequestTitle = HostileText
	issues := []cortex.Issue{
		issue("h-1", "Critical", HostileText, "Secrets Security", "dir with spaces/../../etc/passwd", "asset "+HostileText),
		issue("h-2", "High", long, "Cve Security", "./src/a file&name<>\"q\".js", ""),
		issue("h-3", "Medium", "Path traversal", HostileText, "..\\..\\windows\\system32\\x.dll", ""),
		issue("h-4", "Low", "Absolute path", "IaC Security", "/abs/path/main.tf", ""),
		issue("h-5", "Critical", "URL path", "IaC Security", "https://evil.example/x?y=1#frag", ""),
		issue("h-6", "High", "Drive letter", "IaC Security", "C:\\repo\\main.tf", ""),
		issue("h-7", "NotASeverity", "", "", "100%/%2e%2e/ünïcödé/日本.txt", ""),
		issue("h-8", "", "\x00\x00\x00", "\x00", "\x00", "\x00"),
		issue(HostileText, "Critical", "Hostile id", "Secrets Security", strings.Repeat("deep/", 400)+"f.txt", ""),
	}
	issues[0].ResolutionComment = HostileText
	issues[0].Assignee = HostileText
	return &gate.Result{
		Verdict:          gate.VerdictBlocked,
		Enforced:         true,
		Message:          "Cortex blocked PR 17: " + HostileText,
		Reasons:          []string{"blocking policy " + HostileText},
		Change:           prChange(),
		Selection:        HostileText,
		Scan:             s,
		BlockingPolicies: []string{HostileText, "normal policy"},
		Counts:           gate.Counts{Issues: len(issues), Critical: 3, High: 2, Medium: 1, Low: 1},
		Issues:           issues,
		BlockedByCortex:  true,
		StartedAt:        start,
		FinishedAt:       finish,
		Polls:            2,
	}
}

// ErrorNoScan: Cortex rejected the API key before any scan was found.
func ErrorNoScan() *gate.Result {
	return &gate.Result{
		Verdict:    gate.VerdictError,
		Enforced:   true,
		Message:    "Cortex rejected the API key (401): check api-key-id and api-key.",
		Reasons:    []string{"failed to list PR scans: 401 Unauthorized: invalid key"},
		Change:     prChange(),
		StartedAt:  start,
		FinishedAt: start.Add(1500 * time.Millisecond),
		Polls:      1,
	}
}

// TimedOut: the scan was still running when the wait ran out.
func TimedOut() *gate.Result {
	s := prScan("IN_PROGRESS")
	s.Health = cortex.HealthInProgress
	return &gate.Result{
		Verdict:          gate.VerdictTimeout,
		Enforced:         true,
		Message:          "PR scan scan-7f3a did not finish within 30m: raise timeout or check the Cortex console.",
		Reasons:          []string{"scan scan-7f3a still IN_PROGRESS after 30m0s"},
		Change:           prChange(),
		Scan:             s,
		BlockingPolicies: []string{},
		StartedAt:        start,
		FinishedAt:       start.Add(30 * time.Minute),
		Polls:            64,
	}
}

// ManyIssues builds a blocked result with n issues spread over severities,
// methods and files, for benchmarks and the SARIF result limit.
func ManyIssues(n int) *gate.Result {
	r := BlockedMany()
	sevs := []string{"Critical", "High", "Medium", "Low"}
	methods := []string{"Secrets Security", "Cve Security", "IaC Security", "License Security", "Operational Risk Security"}
	r.Issues = make([]cortex.Issue, n)
	for i := range n {
		id := "bulk-" + strconv.Itoa(i)
		r.Issues[i] = issue(id, sevs[i%len(sevs)], "Alert number "+strconv.Itoa(i%500), methods[i%len(methods)],
			"src/pkg"+strconv.Itoa(i%97)+"/file"+strconv.Itoa(i%1000)+".go", "payments")
	}
	r.Counts = gate.Counts{Issues: n}
	return r
}
