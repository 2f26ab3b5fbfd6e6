package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
)

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	reporttest.CheckGoldens(t, Write, checkWellFormed)
}

// checkWellFormed reads the whole document back with a strict decoder and
// checks it holds only UTF-8 and characters XML 1.0 allows.
func checkWellFormed(t testing.TB, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		t.Fatalf("output is not UTF-8")
	}
	for _, c := range string(data) {
		if !scantext.IsXMLChar(c) {
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
	xsd := reporttest.Oracle(t, "junit", "jenkins-xunit-junit-10.xsd")
	dir := t.TempDir()
	args := []string{"--noout", "--schema", xsd}
	for _, tc := range reporttest.Cases() {
		file := filepath.Join(dir, tc.Name+".xml")
		if err := os.WriteFile(file, reporttest.Render(t, Write, tc.Result()), 0o644); err != nil {
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
		{"passed, no issues: one passing test", reporttest.PassedEmpty(), 1, 0, 0, ""},
		{"error without a scan", reporttest.ErrorNoScan(), 1, 0, 1, "error"},
		{"timeout", reporttest.TimedOut(), 1, 0, 1, "timeout"},
		// 11 unresolved issues all block (Cortex blocked); the resolved one is skipped.
		{"blocked by Cortex", reporttest.BlockedMany(), 13, 12, 0, "blocked"},
		// fail-on-severity high: the verdict and the one high issue fail.
		{"blocked by severity in report mode", reporttest.BlockedBySeverity(), 4, 2, 0, "blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc testsuites
			if err := xml.Unmarshal(reporttest.Render(t, Write, tt.result), &doc); err != nil {
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
	if err := xml.Unmarshal(reporttest.Render(t, Write, reporttest.BlockedBySeverity()), &doc); err != nil {
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
	if err := xml.Unmarshal(reporttest.Render(t, Write, reporttest.BlockedMany()), &doc); err != nil {
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
	reporttest.CheckNilResult(t, Write)
}

func FuzzWrite(f *testing.F) {
	reporttest.AddFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, alert, path, method, severity string) {
		r := reporttest.FuzzResult(alert, path, method, severity)
		r.Issues[1].AssetName, r.Issues[1].FilePath = path, ""
		r.Message, r.Reasons = alert, []string{method}
		checkWellFormed(t, reporttest.Render(t, Write, r))
	})
}

func BenchmarkWrite(b *testing.B) {
	reporttest.BenchWrite(b, Write)
}

// TestWriteStreamsTheSameBytes: the report is streamed case by case, and
// the file is byte for byte what encoding/xml writes for the tree whole.
func TestWriteStreamsTheSameBytes(t *testing.T) {
	t.Parallel()
	results := map[string]*gate.Result{"many-issues": reporttest.ManyIssues(3000)}
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
			want := bytes.NewBufferString(xml.Header)
			enc := xml.NewEncoder(want)
			enc.Indent("", "  ")
			if err := enc.Encode(build(r, reporttest.Context())); err != nil {
				t.Fatal(err)
			}
			want.WriteString("\n")
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("streamed report differs from encoding/xml's (-want +got):\n%s", diff)
			}
		})
	}
}
