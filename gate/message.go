package gate

import (
	"fmt"
	"strings"
)

// message is the one sentence the gate ends on: what happened and what to do.
func message(r *Result) string {
	what := describe(r.Change)
	switch r.Verdict {
	case VerdictPassed:
		if len(r.Warnings) > 0 {
			return fmt.Sprintf("Cortex passed %s, with warnings: read them above before you merge.", what)
		}
		return fmt.Sprintf("Cortex passed %s.", what)
	case VerdictBlocked:
		why := strings.Join(r.Reasons, "; ")
		if !r.Enforced {
			return fmt.Sprintf("Cortex would block %s (%s), but mode is report, so the pipeline goes on.", what, why)
		}
		return fmt.Sprintf("Cortex blocked %s (%s): fix the issues listed above, or ask your security team to review the policy.", what, why)
	case VerdictTimeout:
		if r.Scan != nil {
			return fmt.Sprintf("The gate %s: the scan did not finish in time; check it in Cortex, or raise timeout.", strings.Join(r.Reasons, "; "))
		}
		return fmt.Sprintf("The gate %s: check that Cortex scans this repository and that the scan was triggered, or raise timeout.", strings.Join(r.Reasons, "; "))
	}
	if r.Cancelled {
		return fmt.Sprintf("The gate was %s, so no verdict was reached: re-run the job.", strings.Join(r.Reasons, "; "))
	}
	return fmt.Sprintf("The gate could not reach a verdict on %s: %s; fix the cause and re-run the job.", what, strings.Join(r.Reasons, "; "))
}
