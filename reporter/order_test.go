package reporter_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

func ids(issues []cortex.Issue) []string {
	out := make([]string, len(issues))
	for n, i := range issues {
		out[n] = i.ID
	}
	return out
}

// ordered is r's issue ids in IssueOrder.
func ordered(r *gate.Result) []string {
	var out []string
	for _, n := range reporter.IssueOrder(r) {
		out = append(out, r.Issues[n].ID)
	}
	return out
}

func TestIssueOrder(t *testing.T) {
	t.Parallel()
	// Only fail-on-severity high blocks: a critical and a high issue block;
	// the resolved critical does not, so it goes after the open medium.
	r := &gate.Result{
		Verdict: gate.VerdictBlocked, BlockedBySeverity: true, SeverityThreshold: "high",
		Issues: []cortex.Issue{
			{ID: "low", Severity: "Low"},
			{ID: "resolved-critical", Severity: "Critical", ResolutionStatus: "Resolved"},
			{ID: "medium", Severity: "medium"},
			{ID: "high-1", Severity: "High"},
			{ID: "unknown", Severity: "NotASeverity"},
			{ID: "critical", Severity: "CRITICAL"},
			{ID: "high-2", Severity: "high"},
		},
	}
	before := ids(r.Issues)
	want := []string{"critical", "high-1", "high-2", "resolved-critical", "medium", "low", "unknown"}
	if diff := cmp.Diff(want, ordered(r)); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, ids(r.Issues)); diff != "" {
		t.Errorf("IssueOrder reordered the result's issues (-before +after):\n%s", diff)
	}
}

// TestIssueOrderCortexOrder: when Cortex blocked, every unresolved issue
// blocks; among equals Cortex's order stays.
func TestIssueOrderCortexOrder(t *testing.T) {
	t.Parallel()
	want := []string{"iss-01", "iss-02", "iss-03", "iss-04", "iss-09", "iss-05", "iss-06", "iss-10",
		"iss-07", "iss-08", "iss-11", "iss-12"}
	if diff := cmp.Diff(want, ordered(reporttest.BlockedMany())); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
	if got := reporter.IssueOrder(nil); got != nil {
		t.Errorf("IssueOrder(nil) = %v, want nil", got)
	}
}
