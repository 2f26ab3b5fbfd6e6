// Package gate finds the Cortex scan of a change, waits for it to finish and
// decides the verdict. It knows nothing of CI platforms or report formats:
// its input is a Change and its output a Result.
package gate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// Source is the part of the Cortex client the gate calls; *cortex.Client
// satisfies it.
type Source interface {
	ListPRScans(ctx context.Context, q cortex.PRScanQuery) ([]cortex.Scan, error)
	ListCIScans(ctx context.Context, q cortex.CIScanQuery) ([]cortex.Scan, error)
	Issues(ctx context.Context, scanID string) ([]cortex.Issue, error)
	Findings(ctx context.Context, scanID string) ([]cortex.Finding, error)
}

// sizedSource is what *cortex.Client adds to Source: lists sized up front
// from the scan's own counts, so a huge scan is not held twice while its
// list grows.
type sizedSource interface {
	IssuesExpecting(ctx context.Context, scanID string, expected int) ([]cortex.Issue, error)
	FindingsExpecting(ctx context.Context, scanID string, expected int) ([]cortex.Finding, error)
}

// Logger receives the gate's progress lines.
type Logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
}

// Clock is time as the gate sees it; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Defaults of the wait, as SPEC.md gives them.
const (
	DefaultInitialInterval = 2 * time.Second
	DefaultPollInterval    = 15 * time.Second
	intervalGrowth         = 1.5
	jitterFraction         = 0.2
)

// Options configure one run of the gate.
type Options struct {
	Change       Change
	LookbackDays int
	MaxScanAge   time.Duration
	Timeout      time.Duration
	// InitialInterval is the first wait between polls; it grows by half at
	// every poll up to PollInterval. Zero: DefaultInitialInterval.
	InitialInterval time.Duration
	PollInterval    time.Duration
	Policy          Policy
	Enforce         bool
	// FetchFindings asks for the findings too (a report uses them).
	FetchFindings bool

	Log   Logger
	Clock Clock      // nil: the real clock
	Rand  *rand.Rand // jitter source; nil: a random one
}

// Run finds, waits for and decides on the scan of opts.Change. It always
// returns a Result: errors and timeouts are verdicts too. A cancelled ctx
// (a signal) ends the wait at once with an error verdict marked Cancelled.
func Run(ctx context.Context, src Source, opts Options) *Result {
	g := newRun(opts)
	return g.run(ctx, src)
}

type run struct {
	opts  Options
	clock Clock
	rand  *rand.Rand
	log   Logger
	res   *Result
}

func newRun(opts Options) *run {
	if opts.InitialInterval <= 0 {
		opts.InitialInterval = DefaultInitialInterval
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.InitialInterval > opts.PollInterval {
		opts.InitialInterval = opts.PollInterval
	}
	r := &run{opts: opts, clock: opts.Clock, rand: opts.Rand, log: opts.Log}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.rand == nil {
		r.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if r.log == nil {
		r.log = discard{}
	}
	r.res = &Result{
		Change:           opts.Change,
		Enforced:         opts.Enforce,
		BlockingPolicies: []string{},
		Issues:           []cortex.Issue{},
		StartedAt:        r.clock.Now(),
	}
	if t := opts.Policy.FailOnSeverity; t != cortex.SeverityUnknown {
		r.res.SeverityThreshold = t.String()
	}
	return r
}

func (g *run) run(parent context.Context, src Source) *Result {
	// The timeout bounds everything, hung requests included.
	ctx, cancel := context.WithTimeout(parent, g.opts.Timeout)
	defer cancel()
	deadline := g.res.StartedAt.Add(g.opts.Timeout)

	scan, err := g.wait(ctx, src, deadline)
	if err == nil {
		err = g.conclude(ctx, src, scan)
	}
	if err != nil {
		if g.res.Scan == nil {
			g.res.Scan = scan // the scan waited for, if one was listed: reports show it
		}
		g.fail(parent, err)
	}
	g.res.FinishedAt = g.clock.Now()
	g.res.Message = message(g.res)
	return g.res
}

// errTimeout marks the end of the wait by the gate's own timeout.
var errTimeout = errors.New("timed out")

// wait polls until the change's scan is listed with a final health.
func (g *run) wait(ctx context.Context, src Source, deadline time.Time) (*cortex.Scan, error) {
	interval := g.opts.InitialInterval
	var last match
	for {
		scans, err := g.list(ctx, src)
		g.res.Polls++
		if err != nil {
			return last.scan, err
		}
		m := g.pick(scans)
		if m.reason != last.reason || m.scan == nil {
			g.res.Selection = m.reason
		}
		if m.scan != nil && m.scan.Final() {
			g.log.Infof("Chose %s.", m.reason)
			return m.scan, nil
		}
		if last.scan != nil && m.scan == nil {
			g.log.Warningf("scan %s is no longer listed by Cortex; looking for the change's scan again", last.scan.ID)
		}
		last = m

		now := g.clock.Now()
		left := deadline.Sub(now)
		if left <= 0 {
			return m.scan, errTimeout
		}
		wait := min(g.jitter(interval), g.opts.PollInterval, left) // poll-interval is the longest wait, jitter included
		g.log.Infof("%s (elapsed %s, next check in %s)", g.awaiting(m), round(now.Sub(g.res.StartedAt)), round(wait))
		select {
		case <-ctx.Done():
			return m.scan, ctx.Err()
		case <-g.clock.After(wait):
		}
		interval = min(time.Duration(float64(interval)*intervalGrowth), g.opts.PollInterval)
	}
}

// awaiting says what the gate waits for, for the progress line.
func (g *run) awaiting(m match) string {
	if m.scan == nil {
		return "Waiting for the Cortex " + string(g.opts.Change.ScanType) + " scan of " + describe(g.opts.Change) + " to appear"
	}
	return fmt.Sprintf("Waiting for Cortex scan %s to finish: health %s", m.scan.ID, m.scan.Health)
}

func (g *run) jitter(d time.Duration) time.Duration {
	f := 1 + jitterFraction*(2*g.rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

// list asks Cortex for the candidate scans, as narrowly as the endpoint allows.
func (g *run) list(ctx context.Context, src Source) ([]cortex.Scan, error) {
	c := g.opts.Change
	var repos []string
	if c.Repository != "" {
		repos = []string{c.Repository}
	}
	var scans []cortex.Scan
	if c.ScanType == cortex.ScanTypePR || c.AnyScanType {
		q := cortex.PRScanQuery{Organization: c.Organization, Repositories: repos, Days: g.opts.LookbackDays}
		if c.ScanID == "" {
			q.PRID = c.PRID
		}
		pr, err := src.ListPRScans(ctx, q)
		if err != nil || !c.AnyScanType {
			return pr, err
		}
		if m := matchID(pr, c.ScanID); m.scan != nil {
			return pr, nil // found: the CI list is not needed
		}
		scans = pr
	}
	ci, err := src.ListCIScans(ctx, cortex.CIScanQuery{Organization: c.Organization, Repositories: repos, Days: g.opts.LookbackDays})
	return append(scans, ci...), err
}

func (g *run) pick(scans []cortex.Scan) match {
	c := g.opts.Change
	switch {
	case c.ScanID != "":
		return matchID(scans, c.ScanID)
	case c.ScanType == cortex.ScanTypePR:
		return matchPR(scans, c)
	default:
		return matchCI(scans, c, g.clock.Now(), g.opts.MaxScanAge)
	}
}

// conclude reads the finished scan's issues (and findings) and decides.
func (g *run) conclude(ctx context.Context, src Source, scan *cortex.Scan) error {
	g.res.Scan = scan
	if scan.Type != "" {
		g.res.Change.ScanType = scan.Type // with scan-id, the list it was found in says
	}
	if n, known := scan.IssueCount(); !known || n > 0 {
		issues, err := fetchIssues(ctx, src, scan.ID, n)
		if err != nil {
			return fmt.Errorf("failed to fetch the issues of scan %s: %w", scan.ID, err)
		}
		g.res.Issues = issues
		// A server that ignores offset, or a list that changed while it was
		// read, leaves the client with fewer issues than the scan counted.
		if known && len(issues) < n {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("Cortex counts %d issues in scan %s but listed %d: the reports may be incomplete", n, scan.ID, len(issues)))
		}
	}
	if n, known := scan.FindingCount(); g.opts.FetchFindings && (!known || n > 0) {
		findings, err := fetchFindings(ctx, src, scan.ID, n)
		if err != nil {
			return fmt.Errorf("failed to fetch the findings of scan %s: %w", scan.ID, err)
		}
		g.res.Findings = findings
	}
	g.res.Counts = count(scan, g.res.Issues, g.res.Findings, g.opts.FetchFindings)

	d := decide(scan, g.res.Issues, g.opts.Policy)
	g.res.Verdict = d.verdict
	g.res.Reasons = append(g.res.Reasons, d.reasons...)
	g.res.Warnings = append(g.res.Warnings, d.warnings...)
	g.res.BlockingPolicies = d.policies
	g.res.BlockedByCortex = d.blockedByCortex
	g.res.BlockedBySeverity = d.blockedBySeverity
	return nil
}

func fetchIssues(ctx context.Context, src Source, scanID string, expected int) ([]cortex.Issue, error) {
	if s, ok := src.(sizedSource); ok {
		return s.IssuesExpecting(ctx, scanID, expected)
	}
	return src.Issues(ctx, scanID)
}

func fetchFindings(ctx context.Context, src Source, scanID string, expected int) ([]cortex.Finding, error) {
	if s, ok := src.(sizedSource); ok {
		return s.FindingsExpecting(ctx, scanID, expected)
	}
	return src.Findings(ctx, scanID)
}

// fail turns an error of the wait into the verdict: timeout when the
// gate's own deadline passed, cancelled when the parent context ended.
func (g *run) fail(parent context.Context, err error) {
	switch {
	case parent.Err() != nil:
		g.res.Verdict = VerdictError
		g.res.Cancelled = true
		g.res.Reasons = append(g.res.Reasons, "cancelled while "+g.phase())
	case errors.Is(err, context.DeadlineExceeded) && errors.As(err, new(*cortex.APIError)):
		// Out of time while Cortex kept failing: the failure is the news,
		// not the clock.
		g.res.Verdict = VerdictError
		g.res.Reasons = append(g.res.Reasons, fmt.Sprintf("Cortex kept failing until the timeout (%s): %v", g.opts.Timeout, err))
	case errors.Is(err, errTimeout) || errors.Is(err, context.DeadlineExceeded):
		g.res.Verdict = VerdictTimeout
		g.res.Reasons = append(g.res.Reasons, fmt.Sprintf("timed out after %s while %s", g.opts.Timeout, g.phase()))
	default:
		g.res.Verdict = VerdictError
		g.res.Reasons = append(g.res.Reasons, err.Error())
	}
}

// phase says what the gate was doing, for timeout and cancel messages.
func (g *run) phase() string {
	s := g.res.Scan
	switch {
	case s == nil:
		return "waiting for the Cortex " + string(g.opts.Change.ScanType) + " scan of " + describe(g.opts.Change)
	case s.Final():
		return "reading the results of scan " + s.ID
	case strings.EqualFold(s.Health, cortex.HealthInProgress):
		return fmt.Sprintf("waiting for scan %s to finish (still %s)", s.ID, s.Health)
	}
	return fmt.Sprintf("waiting for scan %s to finish (its health %q is one cortex-gate does not know)", s.ID, s.Health)
}

// count fills the counts from the issues read, or from the scan's count
// maps when the issues were not fetched.
func count(s *cortex.Scan, issues []cortex.Issue, findings []cortex.Finding, fetchedFindings bool) Counts {
	var c Counts
	// Cortex's own count wins when it is larger: the list may have been
	// cut short (a server that ignores offset), the count was not.
	if n, known := s.IssueCount(); len(issues) > 0 && !(known && n > len(issues)) {
		c.Issues = len(issues)
		for _, i := range issues {
			c.add(cortex.ParseSeverity(i.Severity), 1)
		}
	} else {
		for k, v := range s.IssuesFound {
			c.add(cortex.ParseSeverity(k), int(v))
			c.Issues += int(v)
		}
	}
	if fetchedFindings && len(findings) > 0 {
		c.Findings = len(findings)
	} else {
		c.Findings, _ = s.FindingCount()
	}
	return c
}

func (c *Counts) add(s cortex.Severity, n int) {
	switch s {
	case cortex.SeverityCritical:
		c.Critical += n
	case cortex.SeverityHigh:
		c.High += n
	case cortex.SeverityMedium:
		c.Medium += n
	case cortex.SeverityLow:
		c.Low += n
	}
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

type discard struct{}

func (discard) Infof(string, ...any)    {}
func (discard) Warningf(string, ...any) {}

// Failed is the Result of a run that could not start, such as one with no
// credentials: an error verdict reported like any other.
func Failed(opts Options, err error) *Result {
	g := newRun(opts)
	g.res.Verdict = VerdictError
	g.res.Reasons = []string{err.Error()}
	g.res.FinishedAt = g.res.StartedAt
	g.res.Message = message(g.res)
	return g.res
}
