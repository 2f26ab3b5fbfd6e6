package simulator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNames(t *testing.T) {
	t.Parallel()
	want := []string{
		"advanced-key", "blocked-pr", "blocked-pr-docs", "ci-no-commit", "error-scan",
		"huge-pr", "partial-pr", "passed-ci", "passed-pr", "pr-new-commit",
	}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
	for _, n := range Names() {
		sc := mustLoad(t, n)
		if sc.Name != n || sc.Description == "" || len(sc.Scans) == 0 {
			t.Errorf("scenario %s: name %q, %d scans, description %q", n, sc.Name, len(sc.Scans), sc.Description)
		}
	}
}

// TestDemoIdentifiers pins what README.md promises the demo command.
func TestDemoIdentifiers(t *testing.T) {
	t.Parallel()
	want := Scan{
		Type: "pr", ScanID: "sim-pr-42-blocked", OrganizationName: "acme", RepoName: "payments-api",
		BranchName: "feature/checkout", PullRequestID: "42", CommitID: "d9d6128af542cff33e8bbe3675aaafaa9e1a2710",
	}
	got := mustLoad(t, "blocked-pr").Scans[0]
	got = Scan{Type: got.Type, ScanID: got.ScanID, OrganizationName: got.OrganizationName, RepoName: got.RepoName,
		BranchName: got.BranchName, PullRequestID: got.PullRequestID, CommitID: got.CommitID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocked-pr identity (-want +got):\n%s", diff)
	}
	// Every PR scenario gates the same change, so demo --scenario works with any.
	for _, n := range Names() {
		for _, s := range mustLoad(t, n).Scans {
			if s.Type != "pr" || strings.HasSuffix(s.ScanID, "previous-commit") {
				continue
			}
			if s.OrganizationName != "acme" || s.RepoName != "payments-api" || s.PullRequestID != "42" ||
				s.BranchName != "feature/checkout" || s.CommitID != want.CommitID {
				t.Errorf("%s: scan %s is not acme/payments-api PR 42 at %s", n, s.ScanID, want.CommitID)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknown := write("typo.json", `{"scans":[{"type":"pr","scanId":"a","inProgresPolls":2,
		"issues":[{"severity":"High","sevrity":"Low"}],"generate":{"issue":5}}],"fault":[]}`)
	badJSON := write("bad.json", `{"scans": [`)
	invalid := write("invalid.json", `{"dialect":"yaml","scans":[{"scanId":"a"},{"type":"mr","scanId":"a","ageSeconds":-1}],
		"faults":[{"kind":"explode","endpoint":"all","status":42},{"kind":"delay"}],"rateLimit":{"perSecond":0}}`)
	wrongType := write("type.json", `{"scans":[{"type":"pr","scanId":"a","ageSeconds":"soon"}]}`)

	tests := []struct {
		arg  string
		want []string
	}{
		{"no-such-scenario", []string{`unknown scenario "no-such-scenario": valid names are advanced-key, blocked-pr, blocked-pr-docs, ci-no-commit, error-scan, huge-pr, partial-pr, passed-ci, passed-pr, pr-new-commit, or give the path of a JSON file`}},
		{filepath.Join(dir, "missing.json"), []string{"failed to read scenario file " + filepath.Join(dir, "missing.json")}},
		{unknown, []string{"failed to load scenario file " + unknown + ": unknown field(s) in scenario: fault, scans[0].generate.issue, scans[0].inProgresPolls, scans[0].issues[0].sevrity"}},
		{badJSON, []string{"failed to load scenario file " + badJSON + ": failed to parse scenario JSON"}},
		{wrongType, []string{"failed to load scenario file " + wrongType, "scans.ageSeconds"}},
		{invalid, []string{
			`dialect: "yaml" is not one of spec, docs`,
			`rateLimit.perSecond: must be positive`,
			`scans[0].type: missing, want pr or ci`,
			`scans[1].type: "mr" is not one of pr, ci`,
			`scans[1].scanId: "a" is used by an earlier scan`,
			`scans[1].ageSeconds: must not be negative`,
			`faults[0].kind: "explode" is not one of status, delay`,
			`faults[0].endpoint: "all" is not one of pr, ci, issues, findings, any`,
			`faults[0].status: 42 is not an HTTP status`,
			`faults[1].delayMs: a delay fault needs a positive delayMs`,
		}},
	}
	for _, tt := range tests {
		_, err := Load(tt.arg)
		if err == nil {
			t.Errorf("Load(%q) succeeded, want an error", tt.arg)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%q) = %q\nwant it to contain %q", tt.arg, err, w)
			}
		}
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "mine.json")
	if err := os.WriteFile(p, []byte(`{"description":"mine","scans":[{"type":"ci","scanId":"c"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != p || sc.Description != "mine" {
		t.Errorf("got name %q description %q", sc.Name, sc.Description)
	}
}

// ExampleParse reads a small scenario.
func ExampleParse() {
	sc, err := Parse([]byte(`{
	  "description": "a PR scan that is blocked after one in-progress poll",
	  "scans": [{"type": "pr", "scanId": "s1", "organizationName": "acme", "repoName": "payments-api",
	             "pullRequestId": "7", "inProgressPolls": 1,
	             "blockingPolicies": [{"id": "p1", "name": "No secrets"}],
	             "issues": [{"severity": "High", "alert_name": "Token exposed", "detection_method": "Secrets Security"}]}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sc.Scans[0].ScanID, len(sc.Scans[0].Issues))
	// Output: s1 1
}
