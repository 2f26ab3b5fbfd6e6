package gate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/google/go-cmp/cmp"
)

// fakeClock advances by exactly the wait asked for, at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// fakeSource answers list calls from a script: the n-th poll sees polls[n]
// (the last entry repeats).
type fakeSource struct {
	polls    [][]cortex.Scan
	issues   []cortex.Issue
	findings []cortex.Finding
	listErr  error
	calls    int
	prQuery  []cortex.PRScanQuery
	issueHit int
}

func (f *fakeSource) next() ([]cortex.Scan, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	i := min(f.calls, len(f.polls)-1)
	f.calls++
	return f.polls[i], nil
}

func (f *fakeSource) ListPRScans(_ context.Context, q cortex.PRScanQuery) ([]cortex.Scan, error) {
	f.prQuery = append(f.prQuery, q)
	return f.next()
}
func (f *fakeSource) ListCIScans(context.Context, cortex.CIScanQuery) ([]cortex.Scan, error) {
	return f.next()
}
func (f *fakeSource) Issues(context.Context, string) ([]cortex.Issue, error) {
	f.issueHit++
	return f.issues, nil
}
func (f *fakeSource) Findings(context.Context, string) ([]cortex.Finding, error) {
	return f.findings, nil
}

var t0 = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

const head = "0123456789abcdef0123456789abcdef01234567"

func prChange() Change {
	return Change{ScanType: cortex.ScanTypePR, Organization: "acme", Repository: "payments-api", PRID: "42", CommitSHA: head, Branch: "feature/x"}
}

func prScan(id, health, status, commit string, age time.Duration) cortex.Scan {
	return cortex.Scan{Type: cortex.ScanTypePR, ID: id, Health: health, Status: status, RepoName: "payments-api",
		OrganizationName: "acme", PullRequestID: "42", CommitID: commit, Date: t0.Add(-age)}
}

func opts(c Change) Options {
	return Options{Change: c, LookbackDays: 1, MaxScanAge: time.Hour, Timeout: 10 * time.Minute,
		PollInterval: 15 * time.Second, Enforce: true, Rand: rand.New(rand.NewPCG(1, 2))}
}

func runWith(t *testing.T, src Source, o Options) (*Result, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: t0}
	o.Clock = clk
	return Run(context.Background(), src, o), clk
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	issues := []cortex.Issue{
		{ID: "i1", Severity: "High", AlertName: "a"},
		{ID: "i2", Severity: "Low", AlertName: "b"},
		{ID: "i3", Severity: "Critical", AlertName: "c", ResolutionStatus: "Resolved"},
	}
	tests := []struct {
		name      string
		scan      cortex.Scan
		policy    Policy
		want      Verdict
		wantWhy   string
		wantWarns int
	}{
		{name: "failed status", scan: withStatus("COMPLETED", "FAILED"), want: VerdictBlocked, wantWhy: "marked the scan FAILED"},
		{name: "docs dialect Blocked", scan: withStatus("COMPLETED", "Blocked"), want: VerdictBlocked},
		{name: "policy named on a pass", scan: withPolicies(withStatus("COMPLETED", "PASSED"), "No secrets"), want: VerdictBlocked, wantWhy: `policy "No secrets"`},
		{name: "passed", scan: withStatus("COMPLETED", "PASSED"), want: VerdictPassed},
		{name: "passed with issues, any case", scan: withStatus("completed", "Passed_With_Issues"), want: VerdictPassed},
		{name: "error health", scan: withStatus("ERROR", "PASSED"), want: VerdictError, wantWhy: "ended in ERROR"},
		{name: "unknown status kept verbatim", scan: withStatus("COMPLETED", "QUARANTINED"), want: VerdictError, wantWhy: `"QUARANTINED"`},
		{name: "partial accepted warns", scan: withStatus("PARTIALLY_COMPLETED", "PASSED"), want: VerdictPassed, wantWarns: 1},
		{name: "partial fails", scan: withStatus("PARTIALLY_COMPLETED", "PASSED"), policy: Policy{FailPartial: true}, want: VerdictError, wantWhy: "partial-scan is fail"},
		{name: "severity turns pass into block", scan: withStatus("COMPLETED", "PASSED_WITH_ISSUES"), policy: Policy{FailOnSeverity: cortex.SeverityHigh}, want: VerdictBlocked, wantWhy: "1 unresolved issue at or above high"},
		{name: "resolved issues do not count", scan: withStatus("COMPLETED", "PASSED_WITH_ISSUES"), policy: Policy{FailOnSeverity: cortex.SeverityCritical}, want: VerdictPassed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := opts(prChange())
			o.Policy = tt.policy
			res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{tt.scan}}, issues: issues}, o)
			if res.Verdict != tt.want {
				t.Fatalf("verdict = %s, want %s (reasons %q)", res.Verdict, tt.want, res.Reasons)
			}
			if tt.wantWhy != "" && !strings.Contains(strings.Join(res.Reasons, "; "), tt.wantWhy) {
				t.Errorf("reasons %q lack %q", res.Reasons, tt.wantWhy)
			}
			if len(res.Warnings) != tt.wantWarns {
				t.Errorf("warnings = %q, want %d", res.Warnings, tt.wantWarns)
			}
			if res.Message == "" || strings.Contains(res.Message, "\n") {
				t.Errorf("message %q is not one sentence", res.Message)
			}
		})
	}
}

func withStatus(health, status string) cortex.Scan {
	return prScan("s1", health, status, head, time.Minute)
}

func withPolicies(s cortex.Scan, names ...string) cortex.Scan {
	s.BlockingPolicyNames = names
	return s
}

func TestWaitsForAppearanceThenCompletion(t *testing.T) {
	t.Parallel()
	running := prScan("s1", "IN_PROGRESS", "IN_PROGRESS", head, time.Minute)
	done := prScan("s1", "COMPLETED", "PASSED", head, time.Minute)
	src := &fakeSource{polls: [][]cortex.Scan{{}, {}, {running}, {running}, {running}, {running}, {done}}}
	res, clk := runWith(t, src, opts(prChange()))
	if res.Verdict != VerdictPassed {
		t.Fatalf("verdict = %s (%q), want passed", res.Verdict, res.Reasons)
	}
	if res.Polls != 7 {
		t.Errorf("polls = %d, want 7", res.Polls)
	}
	// Waits start near 2 s, grow, never pass poll-interval, and jitter.
	if len(clk.waits) != 6 {
		t.Fatalf("waits = %v, want 6", clk.waits)
	}
	if w := clk.waits[0]; w < 1600*time.Millisecond || w > 2400*time.Millisecond {
		t.Errorf("first wait %s, want about 2s", w)
	}
	for i, w := range clk.waits {
		if w > 15*time.Second*12/10 {
			t.Errorf("wait %d = %s exceeds poll-interval plus jitter", i, w)
		}
	}
	if clk.waits[5] <= clk.waits[0] {
		t.Errorf("waits do not grow: %v", clk.waits)
	}
	if src.prQuery[0].PRID != "42" || src.prQuery[0].Repositories[0] != "payments-api" || src.prQuery[0].Organization != "acme" {
		t.Errorf("PR query = %+v, want filtered by PR, repository and organization", src.prQuery[0])
	}
}

func TestOlderCommitIsNoMatch(t *testing.T) {
	t.Parallel()
	old := prScan("old", "COMPLETED", "PASSED", "fedcba9876543210fedcba9876543210fedcba98", time.Minute)
	o := opts(prChange())
	o.Timeout = time.Minute
	res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{old}}}, o)
	if res.Verdict != VerdictTimeout {
		t.Fatalf("verdict = %s, want timeout: a scan of another commit must not decide", res.Verdict)
	}
	if !strings.Contains(res.Selection, "other commits") {
		t.Errorf("selection %q does not say other commits were skipped", res.Selection)
	}
}

func TestNewestMatchingPRScanWins(t *testing.T) {
	t.Parallel()
	older := prScan("older", "COMPLETED", "FAILED", head[:7], 10*time.Minute)
	newer := prScan("newer", "COMPLETED", "PASSED", head, time.Minute)
	res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{older, newer}}}, opts(prChange()))
	if res.Scan == nil || res.Scan.ID != "newer" {
		t.Fatalf("chose %+v, want the newest scan", res.Scan)
	}
}

func TestCIMatching(t *testing.T) {
	t.Parallel()
	ci := func(id, branch, commit string, age time.Duration) cortex.Scan {
		return cortex.Scan{Type: cortex.ScanTypeCI, ID: id, Health: "COMPLETED", Status: "PASSED", RepoName: "acme/payments-api",
			BranchName: branch, CommitID: commit, Date: t0.Add(-age)}
	}
	change := Change{ScanType: cortex.ScanTypeCI, Organization: "acme", Repository: "payments-api", Branch: "main", CommitSHA: head}
	tests := []struct {
		name  string
		scans []cortex.Scan
		want  string // scan id, "" for none
	}{
		{"newest within age", []cortex.Scan{ci("a", "main", "", 50*time.Minute), ci("b", "main", "", 5*time.Minute)}, "b"},
		{"other branch ignored", []cortex.Scan{ci("a", "dev", "", time.Minute)}, ""},
		{"too old", []cortex.Scan{ci("a", "main", "", 2*time.Hour)}, ""},
		{"commit wins over age", []cortex.Scan{ci("a", "main", head, 3*time.Hour), ci("b", "main", "", time.Minute)}, "a"},
		{"other commit is no match", []cortex.Scan{ci("a", "main", "fedcba9876543210", time.Minute)}, ""},
		{"undated skipped", []cortex.Scan{{ID: "a", RepoName: "payments-api", Health: "COMPLETED", Status: "PASSED"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := matchCI(tt.scans, change, t0, time.Hour)
			got := ""
			if m.scan != nil {
				got = m.scan.ID
			}
			if got != tt.want {
				t.Errorf("chose %q (%s), want %q", got, m.reason, tt.want)
			}
			if m.reason == "" {
				t.Error("no reason given for the choice")
			}
		})
	}
}

func TestSameCommit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{head, head, true},
		{head, strings.ToUpper(head), true},
		{head[:7], head, true},
		{head[:6], head, false},
		{"", head, false},
		{head[:8], "0123456x", false},
	}
	for _, tt := range tests {
		if got := sameCommit(tt.a, tt.b); got != tt.want {
			t.Errorf("sameCommit(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestScanIDGiven(t *testing.T) {
	t.Parallel()
	c := prChange()
	c.ScanID = "wanted"
	other := prScan("other", "COMPLETED", "PASSED", head, time.Minute)
	wanted := prScan("wanted", "COMPLETED", "FAILED", "fedcba9876543210", time.Hour)
	src := &fakeSource{polls: [][]cortex.Scan{{other, wanted}}}
	res, _ := runWith(t, src, opts(c))
	if res.Scan == nil || res.Scan.ID != "wanted" || res.Verdict != VerdictBlocked {
		t.Fatalf("got scan %+v verdict %s, want scan-id's scan, blocked", res.Scan, res.Verdict)
	}
	if src.prQuery[0].PRID != "" {
		t.Errorf("with scan-id the list must not filter by PR, got %+v", src.prQuery[0])
	}
}

func TestTimeoutWhileInProgress(t *testing.T) {
	t.Parallel()
	running := prScan("s1", "IN_PROGRESS", "IN_PROGRESS", head, time.Minute)
	o := opts(prChange())
	o.Timeout = 30 * time.Second
	res, clk := runWith(t, &fakeSource{polls: [][]cortex.Scan{{running}}}, o)
	if res.Verdict != VerdictTimeout {
		t.Fatalf("verdict = %s, want timeout", res.Verdict)
	}
	var total time.Duration
	for _, w := range clk.waits {
		total += w
	}
	if total != 30*time.Second {
		t.Errorf("waited %s in all, want exactly the timeout", total)
	}
	if !strings.Contains(res.Message, "raise timeout") {
		t.Errorf("message %q does not say what to do", res.Message)
	}
}

func TestAPIErrorIsErrorVerdict(t *testing.T) {
	t.Parallel()
	res, _ := runWith(t, &fakeSource{listErr: errors.New("GET /scans/pr: 401 Unauthorized")}, opts(prChange()))
	if res.Verdict != VerdictError || !strings.Contains(res.Message, "401") {
		t.Fatalf("verdict %s message %q, want error naming the status", res.Verdict, res.Message)
	}
}

func TestCancelledEndsWaitAtOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	running := prScan("s1", "IN_PROGRESS", "IN_PROGRESS", head, time.Minute)
	o := opts(prChange())
	o.Clock = blockingClock{}
	res := Run(ctx, &fakeSource{polls: [][]cortex.Scan{{running}}}, o)
	if res.Verdict != VerdictError || !res.Cancelled {
		t.Fatalf("verdict %s cancelled %v, want a cancelled error", res.Verdict, res.Cancelled)
	}
}

// blockingClock never fires: only cancellation can end a wait.
type blockingClock struct{}

func (blockingClock) Now() time.Time                       { return t0 }
func (blockingClock) After(time.Duration) <-chan time.Time { return nil }

func TestSkipsIssuesWhenCountsSayNone(t *testing.T) {
	t.Parallel()
	s := withStatus("COMPLETED", "PASSED")
	s.IssuesFound = map[string]float64{"High": 0}
	src := &fakeSource{polls: [][]cortex.Scan{{s}}, issues: []cortex.Issue{{ID: "x"}}}
	res, _ := runWith(t, src, opts(prChange()))
	if src.issueHit != 0 {
		t.Errorf("issues fetched %d times, want 0 when the counts say none", src.issueHit)
	}
	if diff := cmp.Diff(Counts{}, res.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestCountsFromIssues(t *testing.T) {
	t.Parallel()
	s := withStatus("COMPLETED", "FAILED")
	s.FindingsSeverityBreakdown = map[string]float64{"High": 3, "Low": 4}
	issues := []cortex.Issue{{ID: "1", Severity: "Critical"}, {ID: "2", Severity: "high"}, {ID: "3", Severity: "High"}, {ID: "4", Severity: "Low"}}
	res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{s}}, issues: issues}, opts(prChange()))
	want := Counts{Issues: 4, Findings: 7, Critical: 1, High: 2, Low: 1}
	if diff := cmp.Diff(want, res.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if !res.IssueBlocks(issues[3]) {
		t.Error("an unresolved issue of a Cortex-blocked scan should count as blocking")
	}
}

func TestWarnsWhenFewerIssuesListedThanCounted(t *testing.T) {
	t.Parallel()
	s := withStatus("COMPLETED", "FAILED")
	s.IssuesFound = map[string]float64{"High": 3}
	res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{s}}, issues: []cortex.Issue{{ID: "1", Severity: "High"}}}, opts(prChange()))
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "counts 3 issues") {
		t.Errorf("warnings = %q, want one about the missing issues", res.Warnings)
	}
}

func TestFailingUntilTimeoutIsAnError(t *testing.T) {
	t.Parallel()
	apiErr := &cortex.APIError{Endpoint: "GET /public_api/appsec/v1/scans/pr", StatusCode: 502, Message: "Bad Gateway"}
	err := fmt.Errorf("GET /scans/pr: %w (last attempt: %w)", context.DeadlineExceeded, apiErr)
	res, _ := runWith(t, &fakeSource{listErr: err}, opts(prChange()))
	if res.Verdict != VerdictError || !strings.Contains(res.Message, "502") {
		t.Fatalf("verdict %s, message %q; want an error naming the 502", res.Verdict, res.Message)
	}
}

func TestUnknownHealthTimesOutNamingIt(t *testing.T) {
	t.Parallel()
	odd := prScan("s1", "QUEUED", "IN_PROGRESS", head, time.Minute)
	o := opts(prChange())
	o.Timeout = 20 * time.Second
	res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{odd}}}, o)
	if res.Verdict != VerdictTimeout || res.Scan == nil || !strings.Contains(res.Message, `"QUEUED"`) || !strings.Contains(res.Message, "did not finish") {
		t.Errorf("verdict %s scan %v message %q; want a timeout on the listed scan naming its health", res.Verdict, res.Scan, res.Message)
	}
}

func TestCountsPreferCortexWhenTheListIsShort(t *testing.T) {
	t.Parallel()
	s := withStatus("COMPLETED", "FAILED")
	s.IssuesFound = map[string]float64{"High": 2500, "Low": 0}
	res, _ := runWith(t, &fakeSource{polls: [][]cortex.Scan{{s}}, issues: []cortex.Issue{{ID: "1", Severity: "High"}}}, opts(prChange()))
	if res.Counts.Issues != 2500 || res.Counts.High != 2500 {
		t.Errorf("counts %+v, want Cortex's 2500", res.Counts)
	}
}

func TestScanIDWithAutoLooksInBothLists(t *testing.T) {
	t.Parallel()
	c := prChange()
	c.ScanID, c.AnyScanType = "ci-7", true
	ci := cortex.Scan{Type: cortex.ScanTypeCI, ID: "ci-7", Health: "COMPLETED", Status: "FAILED", RepoName: "payments-api", Date: t0}
	src := &bothSource{pr: []cortex.Scan{prScan("other", "COMPLETED", "PASSED", head, time.Minute)}, ci: []cortex.Scan{ci}}
	res, _ := runWith(t, src, opts(c))
	if res.Scan == nil || res.Scan.ID != "ci-7" || res.Verdict != VerdictBlocked || res.Change.ScanType != cortex.ScanTypeCI {
		t.Fatalf("scan %+v verdict %s type %s; want the CI scan found by id, blocked, type ci", res.Scan, res.Verdict, res.Change.ScanType)
	}
}

// bothSource serves fixed PR and CI lists.
type bothSource struct{ pr, ci []cortex.Scan }

func (b *bothSource) ListPRScans(context.Context, cortex.PRScanQuery) ([]cortex.Scan, error) {
	return b.pr, nil
}
func (b *bothSource) ListCIScans(context.Context, cortex.CIScanQuery) ([]cortex.Scan, error) {
	return b.ci, nil
}
func (b *bothSource) Issues(context.Context, string) ([]cortex.Issue, error)     { return nil, nil }
func (b *bothSource) Findings(context.Context, string) ([]cortex.Finding, error) { return nil, nil }
