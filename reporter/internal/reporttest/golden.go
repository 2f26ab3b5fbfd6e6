// Package reporttest holds what the reporters' tests share: the golden
// cases, the golden-file check behind the -update flag, and the way to the
// read-only oracles beside the repository. Only _test.go files import it,
// so the -update flag is never part of the product.
package reporttest

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
)

// update is registered once here for every test binary that imports this
// package: `go test ./reporter/... -update` rewrites each one's goldens.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Golden compares got with the golden file testdata/<name> of the package
// under test; with -update it writes got there instead.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

// WriteFunc is the Write of a report-file writer: jsonreport, sarif, junit
// and codequality share it.
type WriteFunc func(w io.Writer, r *gate.Result, ctx reporter.Context) error

// Render is what write writes for r in Context; an error fails t.
func Render(t testing.TB, write WriteFunc, r *gate.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, r, Context()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// CheckGoldens renders every case of Cases with write, each in a parallel
// subtest named after the case, compares it with testdata/<case>.golden
// and hands it to check, which validates what the format requires.
func CheckGoldens(t *testing.T, write WriteFunc, check func(t testing.TB, report []byte)) {
	t.Helper()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			got := Render(t, write, c.Result())
			Golden(t, c.Name+".golden", got)
			check(t, got)
		})
	}
}

// CheckNilResult fails t unless write refuses a nil result.
func CheckNilResult(t testing.TB, write WriteFunc) {
	t.Helper()
	if err := write(&bytes.Buffer{}, nil, Context()); err == nil {
		t.Fatal("Write(nil) succeeded, want an error")
	}
}

// BenchWrite measures write on 50,000 issues, the size of a large
// monorepo's scan.
func BenchWrite(b *testing.B, write WriteFunc) {
	r, ctx := ManyIssues(50_000), Context()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := write(&buf, r, ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// AddFuzzSeeds seeds a FuzzWrite(alert, path, method, severity string)
// target: a plain issue and a hostile one. The corpus in each package's
// testdata/fuzz/FuzzWrite keeps what the fuzzer found.
func AddFuzzSeeds(f *testing.F) {
	f.Add("AWS Access Key", "config/prod.env", "Secrets Security", "Critical")
	f.Add(HostileText, "dir with spaces/../x", HostileText, "High")
}

// FuzzResult is BlockedMany with the fuzzer's alert name, file path,
// detection method and severity in its first issue.
func FuzzResult(alert, path, method, severity string) *gate.Result {
	r := BlockedMany()
	r.Issues[0].AlertName, r.Issues[0].FilePath = alert, path
	r.Issues[0].DetectionMethod, r.Issues[0].Severity = method, severity
	return r
}
