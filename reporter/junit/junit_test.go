package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

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
			checkWellFormed(t, got)
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

// checkWellFormed reads the whole document back with a strict decoder and
// checks it holds only UTF-8 and characters XML 1.0 allows.
func checkWellFormed(t testing.TB, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		t.Fatalf("output is not UTF-8")
	}
	for _, c := range string(data) {
		if !xmlChar(c) {
			t.Fatalf("output holds %U, which XML 1.0 forbids", c)
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v", err)
		}
	}
	var doc testsuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("failed to parse output back: %v", err)
	}
}

// TestXmllint validates every golden case against Jenkins' xunit schema.
// It skips without xmllint (Debian libxml2-utils), except in CI.
func TestXmllint(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found; CI must install it (apt-get install -y libxml2-utils)")
		}
		t.Skip("xmllint not found (apt-get install -y libxml2-utils)")
	}
	xsd, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "oracles", "junit", "jenkins-xunit-junit-10.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(xsd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("schema missing in CI: %v", err)
		}
		t.Skipf("schema not found: %v", err)
	}
	dir := t.TempDir()
	args := []string{"--noout", "--schema", xsd}
	for _, tc := range testCases {
		file := filepath.Join(dir, tc.name+".xml")
		if err := os.WriteFile(file, render(t, tc.result()), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	// A control: a suite without its required counts must fail, or the
	// schema is not being applied.
	bad := filepath.Join(dir, "control-invalid.xml")
	if err := os.WriteFile(bad, []byte(`<testsuite name="x"><testcase name="y"/></testsuite>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), bin, "--noout", "--schema", xsd, bad).CombinedOutput(); err == nil {
		t.Fatalf("xmllint accepted an invalid file; the schema check is not working:\n%s", out)
	}
	if out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("xmllint rejected the reports: %v\n%s", err, out)
	}
}

func TestVerdictCase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                         string
		result                       *gate.Result
		wantTests, wantFail, wantErr int
		wantType                     string
	}{
		{"passed, no issues: one passing test", passedEmpty(), 1, 0, 0, ""},
		{"error without a scan", errorNoScan(), 1, 0, 1, "error"},
		{"timeout", timedOut(), 1, 0, 1, "timeout"},
		// 11 unresolved issues all block (Cortex blocked); the resolved one is skipped.
		{"blocked by Cortex", blockedMany(), 13, 12, 0, "blocked"},
		// fail-on-severity high: the verdict and the one high issue fail.
		{"blocked by severity in report mode", blockedBySeverity(), 4, 2, 0, "blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc testsuites
			if err := xml.Unmarshal(render(t, tt.result), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Tests != tt.wantTests || doc.Failures != tt.wantFail || doc.Errors != tt.wantErr {
				t.Errorf("tests/failures/errors = %d/%d/%d, want %d/%d/%d",
					doc.Tests, doc.Failures, doc.Errors, tt.wantTests, tt.wantFail, tt.wantErr)
			}
			v := doc.Suites[0].Cases[0]
			gotType := ""
			switch {
			case v.Failure != nil:
				gotType = v.Failure.Type
			case v.Error != nil:
				gotType = v.Error.Type
			}
			if v.Name != "verdict" || gotType != tt.wantType {
				t.Errorf("first case %q outcome %q, want verdict %q", v.Name, gotType, tt.wantType)
			}
		})
	}
}

func TestIssueCases(t *testing.T) {
	t.Parallel()
	var doc testsuites
	if err := xml.Unmarshal(render(t, blockedBySeverity()), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 || doc.Suites[1].Name != "SAST" {
		t.Fatalf("suites %+v, want cortex-gate and SAST", doc.Suites)
	}
	got := map[string]string{}
	for _, c := range doc.Suites[1].Cases {
		state := "passed"
		if c.Failure != nil {
			state = "failed"
		}
		got[c.Classname+" | "+c.Name] = state
	}
	want := map[string]string{
		"SAST.internal/db/query_go | SQL injection sink in internal/db/query.go":        "failed",
		"SAST.internal/api/server_go | Missing rate limit in internal/api/server.go":    "passed",
		"SAST.internal/api/errors_go | Verbose error message in internal/api/errors.go": "passed",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cases mismatch (-want +got):\n%s", diff)
	}

	// Two identical issues stay two distinct cases.
	doc = testsuites{}
	if err := xml.Unmarshal(render(t, blockedMany()), &doc); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			key := c.Classname + " | " + c.Name
			if names[key] {
				t.Errorf("case %q appears twice", key)
			}
			names[key] = true
		}
	}
	if !names["Secrets.config/prod_env | AWS Access Key in config/prod.env #2"] {
		t.Errorf("the repeated AWS key has no #2 case; cases: %v", names)
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
		r.Issues[1].AssetName, r.Issues[1].FilePath = path, ""
		r.Message, r.Reasons = alert, []string{method}
		checkWellFormed(t, render(t, r))
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

func TestCleanDropsWhatXMLForbids(t *testing.T) {
	t.Parallel()
	got := clean("a\x00b\x1bc\ufffed\xffe]]>f\u202eg", -1)
	if want := "abcd\ufffde]]>fg"; got != want {
		t.Errorf("clean = %q, want %q", got, want)
	}
	if got := clean(strings.Repeat("x", 10), 4); got != "xxxx…" {
		t.Errorf("clean cut = %q, want xxxx…", got)
	}
}
