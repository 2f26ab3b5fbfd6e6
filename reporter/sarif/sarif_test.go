package sarif

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	reporttest.CheckGoldens(t, Write, checkLog)
}

// checkLog validates a log against the OASIS schema (formats asserted) and
// the GitHub rules the schema does not express.
func checkLog(t testing.TB, data []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := sarifSchema(t).Validate(inst); err != nil {
		t.Fatalf("output is not valid SARIF 2.1.0: %v", err)
	}
	if problems := githubProblems(data); len(problems) > 0 {
		t.Fatalf("output breaks GitHub's ingestion rules:\n%s", strings.Join(problems, "\n"))
	}
}

// githubProblems checks what GitHub code scanning requires beyond the
// schema: a non-empty relative URI reference (RFC 3986, no scheme) for
// every result, a start line, a rule with the descriptions and help GitHub
// shows, at most 20 tags and 25,000 results per run.
func githubProblems(data []byte) []string {
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID               string                 `json:"id"`
						ShortDescription *struct{ Text string } `json:"shortDescription"`
						FullDescription  *struct{ Text string } `json:"fullDescription"`
						Help             *struct{ Text string } `json:"help"`
						Properties       struct {
							Tags             []string `json:"tags"`
							SecuritySeverity string   `json:"security-severity"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		return []string{err.Error()}
	}
	var p []string
	for _, run := range log.Runs {
		rules := run.Tool.Driver.Rules
		if len(run.Results) > MaxResults {
			p = append(p, fmt.Sprintf("%d results in a run, GitHub takes at most %d", len(run.Results), MaxResults))
		}
		for _, rule := range rules {
			if rule.ShortDescription == nil || rule.ShortDescription.Text == "" || rule.FullDescription == nil || rule.Help == nil {
				p = append(p, "rule "+rule.ID+" lacks shortDescription, fullDescription or help")
			}
			if len(rule.Properties.Tags) > 20 {
				p = append(p, "rule "+rule.ID+" has more than 20 tags")
			}
		}
		fingerprints := map[string]bool{}
		for n, res := range run.Results {
			if res.RuleIndex < 0 || res.RuleIndex >= len(rules) || rules[res.RuleIndex].ID != res.RuleID {
				p = append(p, fmt.Sprintf("result %d: ruleIndex %d does not point at rule %s", n, res.RuleIndex, res.RuleID))
			}
			if len(res.Locations) != 1 {
				p = append(p, fmt.Sprintf("result %d: %d locations, want 1", n, len(res.Locations)))
				continue
			}
			loc := res.Locations[0].PhysicalLocation
			if !relativeURIRef.MatchString(loc.ArtifactLocation.URI) {
				p = append(p, fmt.Sprintf("result %d: uri %q is not a relative URI reference", n, loc.ArtifactLocation.URI))
			}
			if loc.Region.StartLine < 1 {
				p = append(p, fmt.Sprintf("result %d: no startLine", n))
			}
			fp := res.PartialFingerprints[fingerprintKey]
			if fp == "" || fingerprints[res.RuleID+fp] {
				p = append(p, fmt.Sprintf("result %d: fingerprint %q missing or not unique", n, fp))
			}
			fingerprints[res.RuleID+fp] = true
		}
	}
	return p
}

// relativeURIRef is RFC 3986's relative-part with a path-noscheme: only
// unreserved, sub-delim, '@', '/' and pct-encoded characters, no ':' in the
// first segment, no "//" authority.
var relativeURIRef = regexp.MustCompile(`^(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})+(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*$`)

// sarifSchema is the OASIS schema. Draft-04 asserts formats ("uri",
// "date-time", ...), so those are checked too.
func sarifSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return reporttest.Schema(t, reporttest.Oracle(t, "sarif-schema-2.1.0.oasis.json"))
}

// TestValidatorOnCodeQLSamples proves the validator: the codeql-action
// samples GitHub accepts pass, the broken one fails, and so does the one
// with malformed URIs (codeql-action only warns; asserting the schema's
// "uri" format and the relative-URI check both catch it).
func TestValidatorOnCodeQLSamples(t *testing.T) {
	t.Parallel()
	dir := reporttest.Oracle(t, "sarif")
	tests := []struct {
		file       string
		schemaOK   bool
		uriCheckOK bool
	}{
		{"codeql-action-valid-sarif.sarif", true, true},
		{"codeql-action-empty-sarif.sarif", true, true},
		{"github-docs-minimum-required.sarif", true, true},
		{"codeql-action-invalid-sarif.sarif", false, true}, // "results": 42
		{"codeql-action-with-invalid-uri.sarif", false, false},
		// "name": null in one run: codeql-action reads it for tool names,
		// but it is not valid against the schema.
		{"codeql-action-tool-names.sarif", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			err = sarifSchema(t).Validate(inst)
			if got := err == nil; got != tt.schemaOK {
				t.Errorf("schema valid = %v, want %v (%v)", got, tt.schemaOK, err)
			}
			uriOK := true
			for _, p := range githubProblems(data) {
				if strings.Contains(p, "relative URI reference") {
					uriOK = false
				}
			}
			if uriOK != tt.uriCheckOK {
				t.Errorf("URI check passed = %v, want %v", uriOK, tt.uriCheckOK)
			}
		})
	}
}

// TestMultitool runs Microsoft's SARIF Multitool with GitHub's rules
// (GH1xxx/GH2xxx) and the SARIF spec's on every golden case, and on
// GitHub's minimal docs sample, which lacks rule texts GitHub requires, to
// prove the harness sees errors. It needs Sarif.Multitool (npm
// @microsoft/sarif-multitool-linux 5.7.0), from $CORTEX_GATE_SARIF_MULTITOOL
// or PATH, and skips without it.
func TestMultitool(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("CORTEX_GATE_SARIF_MULTITOOL")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("Sarif.Multitool"); err != nil {
			t.Skip("Sarif.Multitool not found: set CORTEX_GATE_SARIF_MULTITOOL or put it on PATH")
		}
	}
	dir := t.TempDir()
	args := []string{"validate", "--rule-kind", "Gh;Sarif", "--level", "Error;Warning", "--output", filepath.Join(dir, "out.sarif")}
	for _, tc := range reporttest.Cases() {
		file := filepath.Join(dir, tc.Name+".sarif")
		if err := os.WriteFile(file, reporttest.Render(t, Write, tc.Result()), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	const control = "github-docs-minimum-required.sarif"
	args = append(args, reporttest.Oracle(t, "sarif", control))
	cmd := exec.CommandContext(t.Context(), bin, args...)
	// A self-contained .NET binary: without ICU installed it needs this.
	cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("Sarif.Multitool failed: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out.sarif"))
	if err != nil {
		t.Fatalf("Sarif.Multitool wrote no log: %v\n%s", err, out)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID             string `json:"id"`
						MessageStrings map[string]struct {
							Text string `json:"text"`
						} `json:"messageStrings"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					ID        string   `json:"id"`
					Arguments []string `json:"arguments"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	controlErrors := 0
	for _, run := range log.Runs {
		rules := run.Tool.Driver.Rules
		for _, res := range run.Results {
			level, text := res.Level, res.Message.ID
			if res.RuleIndex >= 0 && res.RuleIndex < len(rules) {
				rule := rules[res.RuleIndex]
				if level == "" { // SARIF: a result without a level has its rule's
					level = rule.DefaultConfiguration.Level
				}
				if m, ok := rule.MessageStrings[res.Message.ID]; ok {
					text = m.Text
					for n, a := range res.Message.Arguments {
						text = strings.ReplaceAll(text, "{"+fmt.Sprint(n)+"}", a)
					}
				}
			}
			if level == "" {
				level = "warning"
			}
			if level != "error" && level != "warning" {
				continue
			}
			file := ""
			if len(res.Locations) > 0 {
				file = filepath.Base(res.Locations[0].PhysicalLocation.ArtifactLocation.URI)
			}
			switch {
			case file == control:
				if strings.HasPrefix(res.RuleID, "GH") && level == "error" {
					controlErrors++
				}
			default:
				t.Errorf("%s %s %s: %s", file, level, res.RuleID, text)
			}
		}
	}
	if controlErrors == 0 {
		t.Errorf("Sarif.Multitool found no GH error in %s, which lacks rule texts: the harness is broken", control)
	}
}

func TestLevelsAndSeverity(t *testing.T) {
	t.Parallel()
	log := build(reporttest.BlockedBySeverity(), reporttest.Context(), MaxResults)
	got := map[string]string{}
	for _, res := range log.Runs[0].Results {
		got[res.Properties.IssueID] = res.Level
	}
	// fail-on-severity high blocked: only the high issue blocks; medium
	// stays a warning and low a note.
	want := map[string]string{"ci-1": "error", "ci-2": "warning", "ci-3": "note"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("levels mismatch (-want +got):\n%s", diff)
	}

	log = build(reporttest.BlockedMany(), reporttest.Context(), MaxResults)
	got = map[string]string{}
	for _, res := range log.Runs[0].Results {
		got[res.Properties.IssueID] = res.Level
	}
	// Cortex blocked: every unresolved issue blocks, so all are errors; the
	// resolved one is left out.
	for id, level := range got {
		if level != "error" {
			t.Errorf("issue %s level %q, want error (Cortex blocked the change)", id, level)
		}
	}
	if _, ok := got["iss-12"]; ok {
		t.Errorf("resolved issue iss-12 is a result; want it left out")
	}
	if len(got) != 11 {
		t.Errorf("%d results, want the 11 unresolved issues", len(got))
	}
	if n := log.Runs[0].Properties["cortex-gate/resolvedOmitted"]; n != 1 {
		t.Errorf("resolvedOmitted = %v, want 1", n)
	}

	scores := map[string]string{}
	for _, rule := range log.Runs[0].Tool.Driver.Rules {
		scores[rule.ShortDescription.Text] = rule.Properties.SecuritySeverity
	}
	wantScores := map[string]string{
		"AWS Access Key": "9.5", "CVE-2024-3094 in xz-utils 5.6.0": "8.0", "Private key committed": "8.0",
		"Container runs as root": "8.0", "S3 bucket without encryption": "5.5", "Weak TLS configuration": "5.5",
		"GPL-3.0 licensed dependency": "3.0", "Unmaintained package left-pad": "3.0", "Outdated base image": "",
	}
	if diff := cmp.Diff(wantScores, scores); diff != "" {
		t.Errorf("security-severity mismatch (-want +got):\n%s", diff)
	}
}

func TestTruncation(t *testing.T) {
	t.Parallel()
	r := &gate.Result{Verdict: gate.VerdictPassed, Change: gate.Change{ScanType: cortex.ScanTypeCI}}
	sevs := []string{"Low", "Critical", "Medium", "High", "Low"}
	for n := range 10 {
		r.Issues = append(r.Issues, cortex.Issue{ID: fmt.Sprint(n), Severity: sevs[n%len(sevs)], AlertName: "a", FilePath: "f"})
	}
	log := build(r, reporttest.Context(), 6)
	run := log.Runs[0]
	if len(run.Results) != 6 {
		t.Fatalf("%d results, want 6", len(run.Results))
	}
	var kept []string
	for _, res := range run.Results {
		kept = append(kept, res.Properties.Severity)
	}
	want := []string{"Critical", "Critical", "High", "High", "Medium", "Medium"}
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Errorf("kept severities mismatch (-want +got):\n%s", diff)
	}
	if run.Properties["cortex-gate/truncated"] != true || run.Properties["cortex-gate/resultsOmitted"] != 4 {
		t.Errorf("run properties %v do not report 4 omitted results", run.Properties)
	}
	notes := run.Invocations[0].ToolExecutionNotifications
	if len(notes) != 1 || notes[0].Level != "warning" || !strings.Contains(notes[0].Message.Text, "4 results") {
		t.Errorf("notifications %+v, want one warning about 4 left-out results", notes)
	}
	if got, want := run.AutomationDetails.ID, "cortex-gate/ci/"; got != want {
		t.Errorf("automationDetails.id = %q, want %q", got, want)
	}
}

// TestMaxResults: 30,000 issues give GitHub's 25,000 results, the lowest
// severities left out.
func TestMaxResults(t *testing.T) {
	t.Parallel()
	log := build(reporttest.ManyIssues(MaxResults+5000), reporttest.Context(), MaxResults)
	// 7,500 issues of each severity: the 5,000 left out are all low.
	kept := map[string]int{}
	for _, res := range log.Runs[0].Results {
		kept[res.Properties.Severity]++
	}
	want := map[string]int{"Critical": 7500, "High": 7500, "Medium": 7500, "Low": 2500}
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Errorf("kept results by severity mismatch (-want +got):\n%s", diff)
	}
	data, err := json.Marshal(log)
	if err != nil {
		t.Fatal(err)
	}
	if problems := githubProblems(data); len(problems) > 0 {
		t.Errorf("the full log breaks GitHub's rules:\n%s", strings.Join(problems[:min(len(problems), 10)], "\n"))
	}
}

func TestFingerprintsStable(t *testing.T) {
	t.Parallel()
	fps := func(r *gate.Result) map[string]string {
		m := map[string]string{}
		for _, res := range build(r, reporttest.Context(), MaxResults).Runs[0].Results {
			m[res.Properties.IssueID] = res.PartialFingerprints[fingerprintKey]
		}
		return m
	}
	a := fps(reporttest.BlockedMany())
	// A later scan: new issue ids, the issues in another order, one fixed.
	later := reporttest.BlockedMany()
	later.Issues = later.Issues[1:]
	later.Issues[0], later.Issues[1] = later.Issues[1], later.Issues[0]
	for n := range later.Issues {
		later.Issues[n].ID = "new-" + later.Issues[n].ID
	}
	b := fps(later)
	if a["iss-03"] != b["new-iss-03"] || a["iss-05"] != b["new-iss-05"] {
		t.Errorf("fingerprints changed with the issue ids or order: %v vs %v", a, b)
	}
	if a["iss-01"] == a["iss-02"] {
		t.Errorf("two identical issues share fingerprint %q", a["iss-01"])
	}
}

func TestArtifactURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, asset, want string
	}{
		{"src/main.go", "", "src/main.go"},
		{"./src/main.go", "", "src/main.go"},
		{"/abs/main.tf", "", "abs/main.tf"},
		{"dir with spaces/a b.txt", "", "dir%20with%20spaces/a%20b.txt"},
		{"../../etc/passwd", "", "etc/passwd"},
		{"a/../../b", "", "b"},
		{`C:\repo\main.tf`, "", "C%3A/repo/main.tf"},
		{"https://evil.example/x?y=1#f", "", "https%3A/evil.example/x%3Fy=1%23f"},
		{"100%/日本.txt", "", "100%25/%E6%97%A5%E6%9C%AC.txt"},
		{"", "payments-image", "payments-image"},
		{"", "", NoFileURI},
		{"..", "", NoFileURI},
		{"\x00", "\x00", NoFileURI},
	}
	for _, tt := range tests {
		got := artifactURI(cortex.Issue{FilePath: tt.file, AssetName: tt.asset})
		if got != tt.want {
			t.Errorf("artifactURI(%q, %q) = %q, want %q", tt.file, tt.asset, got, tt.want)
		}
		if !relativeURIRef.MatchString(got) {
			t.Errorf("artifactURI(%q) = %q is not a relative URI reference", tt.file, got)
		}
	}
}

func TestRuleID(t *testing.T) {
	t.Parallel()
	if got, want := RuleID("AWS Access Key"), "aws-access-key-"; !strings.HasPrefix(got, want) || len(got) != len(want)+8 {
		t.Errorf("RuleID = %q, want %q and 8 hex digits", got, want)
	}
	if RuleID("AWS Access Key") == RuleID("aws access key") {
		t.Errorf("names that slug alike share a rule id")
	}
	if got := RuleID("<<<>>>"); !strings.HasPrefix(got, "issue-") {
		t.Errorf("RuleID of punctuation = %q, want issue-…", got)
	}
}

func TestWriteNilResult(t *testing.T) {
	t.Parallel()
	reporttest.CheckNilResult(t, Write)
}

func FuzzWrite(f *testing.F) {
	reporttest.AddFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, alert, path, method, severity string) {
		r := reporttest.FuzzResult(alert, path, method, severity)
		r.Issues[1].AssetName, r.Issues[1].FilePath = path, ""
		r.Message = alert
		checkLog(t, reporttest.Render(t, Write, r))
	})
}

func BenchmarkWrite(b *testing.B) {
	reporttest.BenchWrite(b, Write)
}

// TestWriteStreamsTheSameBytes: the log is streamed result by result, and
// the file is byte for byte what encoding/json writes for the log whole,
// trimmed logs and hostile text included.
func TestWriteStreamsTheSameBytes(t *testing.T) {
	t.Parallel()
	results := map[string]*gate.Result{"many-issues": reporttest.ManyIssues(300)}
	for _, c := range reporttest.Cases() {
		results[c.Name] = c.Result()
	}
	for name, r := range results {
		for _, limit := range []int{MaxResults, 6} {
			t.Run(fmt.Sprintf("%s/%d", name, limit), func(t *testing.T) {
				t.Parallel()
				var got bytes.Buffer
				if err := writeLog(&got, r, reporttest.Context(), limit); err != nil {
					t.Fatal(err)
				}
				want, err := encodeIndented(build(r, reporttest.Context(), limit))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("streamed log differs from encoding/json's (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// encodeIndented is the whole-document encoding the streamed one must equal.
func encodeIndented(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
