package codequality

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	reporttest.CheckGoldens(t, Write, checkReport)
}

// checkReport validates a report against the schema transcribed from
// GitLab's docs and checks the fingerprints are unique (GitLab drops
// entries that share one).
func checkReport(t testing.TB, data []byte) {
	t.Helper()
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		t.Fatal("report starts with a UTF-8 BOM, which GitLab rejects")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if err := reportSchema(t).Validate(inst); err != nil {
		t.Fatalf("report does not match GitLab's Code Quality format: %v", err)
	}
	var entries []entry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Fingerprint] {
			t.Fatalf("fingerprint %s is used twice", e.Fingerprint)
		}
		seen[e.Fingerprint] = true
	}
}

// oracleDir holds GitLab's docs examples and the schema transcribed from
// the docs.
func oracleDir(t testing.TB) string {
	t.Helper()
	return reporttest.Oracle(t, "gitlab")
}

func reportSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return reporttest.Schema(t, filepath.Join(oracleDir(t), "code-quality-report.DERIVED.schema.json"))
}

// TestValidatorOnDocsExamples proves the validator: GitLab's current docs
// example passes; the older one without check_name and a made-up severity
// fail.
func TestValidatorOnDocsExamples(t *testing.T) {
	t.Parallel()
	dir := oracleDir(t)
	tests := []struct {
		name  string
		data  func() []byte
		valid bool
	}{
		{"docs example", func() []byte { return mustRead(t, filepath.Join(dir, "code-quality.docs-example.json")) }, true},
		{"docs example before check_name", func() []byte {
			return mustRead(t, filepath.Join(dir, "code-quality.docs-example-pre-check_name.json"))
		}, false},
		{"unknown severity", func() []byte {
			return []byte(`[{"description":"d","check_name":"c","fingerprint":"f","severity":"urgent","location":{"path":"a","lines":{"begin":1}}}]`)
		}, false},
		{"an object, not an array", func() []byte { return []byte(`{}`) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(tt.data()))
			if err != nil {
				t.Fatal(err)
			}
			err = reportSchema(t).Validate(inst)
			if got := err == nil; got != tt.valid {
				t.Errorf("valid = %v, want %v (%v)", got, tt.valid, err)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEmptyIsAnArray(t *testing.T) {
	t.Parallel()
	for _, r := range []*gate.Result{reporttest.PassedEmpty(), reporttest.ErrorNoScan()} {
		if got := string(reporttest.Render(t, Write, r)); got != "[]\n" {
			t.Errorf("report = %q, want []", got)
		}
	}
}

func TestSeverityAndResolved(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, e := range build(reporttest.BlockedMany()) {
		got[e.Description] = e.Severity
	}
	want := map[string]string{
		"Critical: AWS Access Key (Secrets); it blocks this change":                      "blocker",
		"High: CVE-2024-3094 in xz-utils 5.6.0 (Vulnerabilities); it blocks this change": "critical",
		"High: Private key committed (Secrets); it blocks this change":                   "critical",
		"High: Container runs as root (IaC); it blocks this change":                      "critical",
		"Medium: S3 bucket without encryption (IaC); it blocks this change":              "major",
		"Medium: Weak TLS configuration (Other); it blocks this change":                  "major",
		"Low: GPL-3.0 licensed dependency (Licenses); it blocks this change":             "minor",
		"Low: Unmaintained package left-pad (Operational risk); it blocks this change":   "minor",
		"Info: Outdated base image (Vulnerabilities); it blocks this change":             "info",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("descriptions and severities mismatch (-want +got):\n%s", diff)
	}
	if n := len(build(reporttest.BlockedMany())); n != 11 {
		t.Errorf("%d entries, want the 11 unresolved issues (the resolved one left out)", n)
	}
}

// TestFingerprintsStable: a later scan with new issue ids, another order
// and another scan type keeps each issue's fingerprint, so GitLab does not
// report it as new.
func TestFingerprintsStable(t *testing.T) {
	t.Parallel()
	fingerprints := func(r *gate.Result) map[string][]string {
		m := map[string][]string{}
		for _, e := range build(r) {
			k := e.Location.Path + " " + e.CheckName
			m[k] = append(m[k], e.Fingerprint)
		}
		for _, fps := range m {
			slices.Sort(fps)
		}
		return m
	}
	later := reporttest.BlockedMany()
	slices.Reverse(later.Issues)
	for n := range later.Issues {
		later.Issues[n].ID = "new-" + later.Issues[n].ID
	}
	later.Change.ScanType = cortex.ScanTypeCI
	if diff := cmp.Diff(fingerprints(reporttest.BlockedMany()), fingerprints(later)); diff != "" {
		t.Errorf("fingerprints changed (-before +after):\n%s", diff)
	}
}

func TestFilePath(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, asset, want string }{
		{"src/main.go", "", "src/main.go"},
		{"./dir with spaces/a.go", "", "dir with spaces/a.go"},
		{"../../etc/passwd", "", "etc/passwd"},
		{`C:\repo\main.tf`, "", "C:/repo/main.tf"},
		{"", "payments-image", "payments-image"},
		{"", "", NoFilePath},
		{"\x00/..", "", NoFilePath},
	}
	for _, tt := range tests {
		if got := filePath(cortex.Issue{FilePath: tt.file, AssetName: tt.asset}); got != tt.want {
			t.Errorf("filePath(%q, %q) = %q, want %q", tt.file, tt.asset, got, tt.want)
		}
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
		r.Issues[1] = r.Issues[0] // a duplicate must still get its own fingerprint
		r.Issues[2].AssetName, r.Issues[2].FilePath = path, ""
		checkReport(t, reporttest.Render(t, Write, r))
	})
}

func BenchmarkWrite(b *testing.B) {
	reporttest.BenchWrite(b, Write)
}

// TestWriteStreamsTheSameBytes: the report is streamed entry by entry, and
// the file is byte for byte what encoding/json writes for the array whole.
func TestWriteStreamsTheSameBytes(t *testing.T) {
	t.Parallel()
	results := map[string]*gate.Result{"many-issues": reporttest.ManyIssues(300)}
	for _, c := range reporttest.Cases() {
		results[c.Name] = c.Result()
	}
	for name, r := range results {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got bytes.Buffer
			if err := Write(&got, r, reporttest.Context()); err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(build(r)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("streamed report differs from encoding/json's (-want +got):\n%s", diff)
			}
		})
	}
}
