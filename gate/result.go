package gate

import (
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// Verdict is the gate's answer for one change.
type Verdict string

const (
	VerdictPassed  Verdict = "passed"
	VerdictBlocked Verdict = "blocked"
	VerdictError   Verdict = "error"
	VerdictTimeout Verdict = "timeout"
)

// Change is what the gate looked for: the pull request or commit being built.
type Change struct {
	ScanType cortex.ScanType `json:"scanType"`
	ScanID   string          `json:"scanId,omitempty"` // given by the user: gate on this scan
	// AnyScanType looks for ScanID in both the PR and the CI lists (the
	// user gave a scan id with scan-type auto).
	AnyScanType  bool   `json:"anyScanType,omitempty"`
	Organization string `json:"organization,omitempty"`
	Repository   string `json:"repository,omitempty"` // repo name only, as Cortex's repoName
	Branch       string `json:"branch,omitempty"`
	PRID         string `json:"prId,omitempty"`
	CommitSHA    string `json:"commitSha,omitempty"`
}

// Counts are the issue counts by severity, from the issues fetched or, when
// none were fetched, from the scan's own count maps.
type Counts struct {
	Issues   int `json:"issues"`
	Findings int `json:"findings"`
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
}

// Result is everything the gate learnt: the one model every reporter renders.
type Result struct {
	Verdict Verdict `json:"verdict"`
	// Enforced is false under mode: report, where a block exits 0.
	Enforced bool `json:"enforced"`
	// Cancelled is set when a signal ended the wait; the verdict is error.
	Cancelled bool `json:"cancelled,omitempty"`
	// Message is one sentence: what happened and what to do.
	Message string `json:"message"`
	// Reasons say why the change is blocked, or what went wrong.
	Reasons  []string `json:"reasons,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	Change Change `json:"change"`
	// Selection says which scan was chosen and why.
	Selection string       `json:"selection,omitempty"`
	Scan      *cortex.Scan `json:"scan,omitempty"` // nil when no scan was found

	BlockingPolicies []string         `json:"blockingPolicies"`
	Counts           Counts           `json:"counts"`
	Issues           []cortex.Issue   `json:"issues"`
	Findings         []cortex.Finding `json:"findings,omitempty"`
	// SeverityThreshold is the fail-on-severity setting ("" when off).
	SeverityThreshold string `json:"failOnSeverity,omitempty"`
	// BlockedByCortex is set when Cortex itself blocked the change (status
	// or a blocking policy); BlockedBySeverity when fail-on-severity did.
	BlockedByCortex   bool `json:"blockedByCortex"`
	BlockedBySeverity bool `json:"blockedBySeverity"`

	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Polls      int       `json:"polls"`
}

// Blocked reports whether the change is blocked, whatever the mode.
func (r *Result) Blocked() bool { return r.Verdict == VerdictBlocked }

// IssueBlocks reports whether an issue is one of the reasons the change is
// blocked. Cortex does not say which issue fired a policy, so when Cortex
// blocked, every unresolved issue counts; when only fail-on-severity blocked,
// the unresolved issues at or above the threshold do.
func (r *Result) IssueBlocks(i cortex.Issue) bool {
	if !r.Blocked() || i.Resolved() {
		return false
	}
	if r.BlockedByCortex {
		return true
	}
	return r.BlockedBySeverity && cortex.ParseSeverity(i.Severity) >= cortex.ParseSeverity(r.SeverityThreshold)
}
