package codequality

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := render(t, tc.result())
			golden(t, tc.name, got)
			checkReport(t, got)
		})
	}
}

func render(t testing.TB, r *gate.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r, testContext); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to read golden file (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
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

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func oracleDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "oracles", "gitlab"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared oracles missing in CI: %v", err)
		}
		t.Skipf("shared oracles not found: %v", err)
	}
	return dir
}

func reportSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(oracleDir(t), "code-quality-report.DERIVED.schema.json")
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schema, schemaErr = c.Compile(path)
	})
	if schemaErr != nil {
		t.Fatalf("failed to compile Code Quality schema: %v", schemaErr)
	}
	return schema
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
	for _, r := range []*gate.Result{passedEmpty(), errorNoScan()} {
		if got := string(render(t, r)); got != "[]\n" {
			t.Errorf("report = %q, want []", got)
		}
	}
}

func TestSeverityAndResolved(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, e := range build(blockedMany()) {
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
	if n := len(build(blockedMany())); n != 11 {
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
	later := blockedMany()
	slices.Reverse(later.Issues)
	for n := range later.Issues {
		later.Issues[n].ID = "new-" + later.Issues[n].ID
	}
	later.Change.ScanType = cortex.ScanTypeCI
	if diff := cmp.Diff(fingerprints(blockedMany()), fingerprints(later)); diff != "" {
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
	if err := Write(&bytes.Buffer{}, nil, testContext); err == nil {
		t.Fatal("Write(nil) succeeded, want an error")
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("AWS Access Key", "config/prod.env", "Secrets Security", "Critical")
	f.Add(hostileText, "dir with spaces/../x", hostileText, "High")
	f.Fuzz(func(t *testing.T, alert, path, method, severity string) {
		r := blockedMany()
		r.Issues[0].AlertName, r.Issues[0].FilePath = alert, path
		r.Issues[0].DetectionMethod, r.Issues[0].Severity = method, severity
		r.Issues[1] = r.Issues[0] // a duplicate must still get its own fingerprint
		r.Issues[2].AssetName, r.Issues[2].FilePath = path, ""
		checkReport(t, render(t, r))
	})
}

func BenchmarkWrite(b *testing.B) {
	r := manyIssues(50_000)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, r, testContext); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
