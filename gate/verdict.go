package gate

import (
	"fmt"
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// Statuses Cortex writes in pullRequestStatus / ciStatus. The vendor
// description upper-cases them; the product docs write "Blocked", "Passed".
const (
	statusPassed           = "PASSED"
	statusPassedWithIssues = "PASSED_WITH_ISSUES"
	statusFailed           = "FAILED"
	statusBlocked          = "BLOCKED"
)

// Policy is how the gate turns a finished scan into a verdict.
type Policy struct {
	// FailOnSeverity also blocks on an unresolved issue at least this
	// severe; SeverityUnknown turns the rule off.
	FailOnSeverity cortex.Severity
	// FailPartial makes a PARTIALLY_COMPLETED scan an error instead of a
	// verdict with a warning.
	FailPartial bool
}

// decision is the verdict on a finished scan, with its reasons.
type decision struct {
	verdict           Verdict
	reasons           []string
	warnings          []string
	policies          []string
	blockedByCortex   bool
	blockedBySeverity bool
}

// decide applies SPEC.md's verdict rules to a scan whose health is final.
// issues may be nil when the scan's counts say there are none.
func decide(s *cortex.Scan, issues []cortex.Issue, p Policy) decision {
	d := decision{policies: s.BlockingPolicyNames}
	if d.policies == nil {
		d.policies = []string{}
	}
	switch health := strings.ToUpper(s.Health); health {
	case cortex.HealthError:
		d.verdict = VerdictError
		d.reasons = append(d.reasons, fmt.Sprintf("Cortex reports scan %s ended in ERROR: its results cannot be trusted", s.ID))
		return d
	case cortex.HealthPartiallyCompleted:
		if p.FailPartial {
			d.verdict = VerdictError
			d.reasons = append(d.reasons, fmt.Sprintf("scan %s is PARTIALLY_COMPLETED (a scanner failed or was skipped) and partial-scan is fail", s.ID))
			return d
		}
		d.warnings = append(d.warnings, fmt.Sprintf("scan %s is PARTIALLY_COMPLETED: a scanner failed or was skipped, so results may be incomplete", s.ID))
	}

	status := strings.ToUpper(strings.TrimSpace(s.Status))
	switch {
	case status == statusFailed || status == statusBlocked || len(s.BlockingPolicyNames) > 0 || len(s.BlockingPolicyIDs) > 0:
		d.verdict = VerdictBlocked
		d.blockedByCortex = true
		switch {
		case len(s.BlockingPolicyNames) > 0:
			d.reasons = append(d.reasons, "blocked by Cortex policy "+quoteList(s.BlockingPolicyNames))
		case len(s.BlockingPolicyIDs) > 0:
			d.reasons = append(d.reasons, "blocked by Cortex policy id "+quoteList(s.BlockingPolicyIDs))
		default:
			d.reasons = append(d.reasons, fmt.Sprintf("Cortex marked the scan %s", s.Status))
		}
	case status == statusPassed || status == statusPassedWithIssues:
		d.verdict = VerdictPassed
	case status == "":
		d.verdict = VerdictError
		d.reasons = append(d.reasons, fmt.Sprintf("scan %s is %s but has no status", s.ID, s.Health))
		return d
	default:
		d.verdict = VerdictError
		d.reasons = append(d.reasons, fmt.Sprintf("scan %s has status %q, which cortex-gate does not know: it cannot tell passed from blocked", s.ID, s.Status))
		return d
	}

	if p.FailOnSeverity != cortex.SeverityUnknown {
		n := 0
		for _, i := range issues {
			if !i.Resolved() && cortex.ParseSeverity(i.Severity) >= p.FailOnSeverity {
				n++
			}
		}
		if n > 0 {
			d.verdict = VerdictBlocked
			d.blockedBySeverity = true
			d.reasons = append(d.reasons, fmt.Sprintf("%s at or above %s (fail-on-severity)", plural(n, "unresolved issue"), p.FailOnSeverity))
		}
	}
	return d
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
