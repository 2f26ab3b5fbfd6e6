package jsonreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Write(&buf, tc.result(), testContext); err != nil {
				t.Fatalf("Write: %v", err)
			}
			golden(t, tc.name, buf.Bytes())
			if !json.Valid(buf.Bytes()) || !utf8.Valid(buf.Bytes()) {
				t.Fatalf("Write produced invalid JSON or UTF-8")
			}
		})
	}
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

// TestWriteRoundTrip: a consumer decoding "result" gets the gate's result
// back, field for field.
func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"passed-empty", "blocked-many", "error-no-scan", "timeout"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := resultByName(t, name)
			var buf bytes.Buffer
			if err := Write(&buf, want, testContext); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				SchemaVersion int               `json:"schemaVersion"`
				Verdict       gate.Verdict      `json:"verdict"`
				Blocked       bool              `json:"blocked"`
				Outputs       map[string]string `json:"outputs"`
				Result        gate.Result       `json:"result"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.SchemaVersion != 1 || doc.Verdict != want.Verdict || doc.Blocked != want.Blocked() {
				t.Errorf("header = %d %q %v, want 1 %q %v", doc.SchemaVersion, doc.Verdict, doc.Blocked, want.Verdict, want.Blocked())
			}
			// EquateEmpty: an empty count map is left out (omitempty in
			// cortex.Scan) and comes back nil.
			wantResult := withEmptyLists(want)
			if diff := cmp.Diff(*wantResult, doc.Result, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
			if got := len(doc.Outputs); got != len(OutputKeys())+2 {
				t.Errorf("outputs has %d keys, want %d (every SPEC.md output)", got, len(OutputKeys())+2)
			}
		})
	}
}

func resultByName(t *testing.T, name string) *gate.Result {
	t.Helper()
	for _, tc := range testCases {
		if tc.name == name {
			return tc.result()
		}
	}
	t.Fatalf("no test case %q", name)
	return nil
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		result *gate.Result
		want   map[string]string
	}{
		{
			name:   "blocked",
			result: blockedMany(),
			want: map[string]string{
				"verdict": "blocked", "blocked": "true", "scan-id": "scan-7f3a", "scan-type": "pr",
				"scan-health": "COMPLETED", "scan-status": "FAILED",
				"blocking-policies": `["Block critical secrets","No high CVEs"]`,
				"issues-count":      "12", "findings-count": "15", "critical-count": "3",
				"high-count": "3", "medium-count": "3", "low-count": "2",
			},
		},
		{
			name:   "no scan found: the settings stand in",
			result: &gate.Result{Verdict: gate.VerdictTimeout, Change: gate.Change{ScanType: cortex.ScanTypeCI, ScanID: "given-id"}},
			want: map[string]string{
				"verdict": "timeout", "blocked": "false", "scan-id": "given-id", "scan-type": "ci",
				"scan-health": "", "scan-status": "", "blocking-policies": "[]",
				"issues-count": "0", "findings-count": "0", "critical-count": "0",
				"high-count": "0", "medium-count": "0", "low-count": "0",
			},
		},
		{
			name:   "policy names are JSON, not HTML-escaped",
			result: &gate.Result{Verdict: gate.VerdictBlocked, BlockingPolicies: []string{`a<b & "c"`, "line\nbreak"}},
			want: map[string]string{
				"verdict": "blocked", "blocked": "true", "scan-id": "", "scan-type": "",
				"scan-health": "", "scan-status": "", "blocking-policies": `["a<b & \"c\"","line\nbreak"]`,
				"issues-count": "0", "findings-count": "0", "critical-count": "0",
				"high-count": "0", "medium-count": "0", "low-count": "0",
			},
		},
		{
			name:   "nil result",
			result: nil,
			want: map[string]string{
				"verdict": "", "blocked": "false", "scan-id": "", "scan-type": "",
				"scan-health": "", "scan-status": "", "blocking-policies": "[]",
				"issues-count": "0", "findings-count": "0", "critical-count": "0",
				"high-count": "0", "medium-count": "0", "low-count": "0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Outputs(tt.result)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Outputs mismatch (-want +got):\n%s", diff)
			}
			for _, k := range OutputKeys() {
				if _, ok := got[k]; !ok {
					t.Errorf("Outputs lacks %q", k)
				}
			}
			if v := got["blocking-policies"]; strings.Contains(v, "\n") {
				t.Errorf("blocking-policies %q spans lines; GITHUB_OUTPUT needs one line", v)
			}
		})
	}
}

func TestWriteExtraAndNoCredentials(t *testing.T) {
	t.Parallel()
	ctx := testContext
	ctx.ServerURL = "https://x-access-token:ghs_SECRET@github.example.com"
	ctx.RunURL = "https://user:glpat-SECRET@gitlab.example.com/acme/payments/-/jobs/1"
	var buf bytes.Buffer
	err := WriteExtra(&buf, blockedMany(), ctx, Extra{
		CommentURL: "https://github.com/acme/payments/pull/17#issuecomment-1",
		ReportFile: "cortex-gate.json",
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("SECRET")) {
		t.Errorf("report contains a credential from the server URL:\n%s", buf.String())
	}
	var doc struct {
		Outputs map[string]string `json:"outputs"`
		Context map[string]string `json:"context"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Outputs["comment-url"], "https://github.com/acme/payments/pull/17#issuecomment-1"; got != want {
		t.Errorf("comment-url = %q, want %q", got, want)
	}
	if got, want := doc.Outputs["report-file"], "cortex-gate.json"; got != want {
		t.Errorf("report-file = %q, want %q", got, want)
	}
	if got, want := doc.Context["serverUrl"], "https://github.example.com"; got != want {
		t.Errorf("serverUrl = %q, want %q", got, want)
	}
}

func TestWriteNilResult(t *testing.T) {
	t.Parallel()
	if err := Write(&bytes.Buffer{}, nil, testContext); err == nil {
		t.Fatal("Write(nil) succeeded, want an error")
	}
}

func TestWriteDoesNotModifyResult(t *testing.T) {
	t.Parallel()
	r := errorNoScan()
	if err := Write(&bytes.Buffer{}, r, testContext); err != nil {
		t.Fatal(err)
	}
	if r.Issues != nil || r.BlockingPolicies != nil {
		t.Errorf("Write changed the caller's result: issues %v, policies %v", r.Issues, r.BlockingPolicies)
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("AWS Access Key", "config/prod.env", "Secrets Security", "Critical")
	f.Add(hostileText, "dir with spaces/../x", hostileText, "High")
	f.Fuzz(func(t *testing.T, alert, path, method, severity string) {
		r := blockedMany()
		r.Issues[0].AlertName, r.Issues[0].FilePath = alert, path
		r.Issues[0].DetectionMethod, r.Issues[0].Severity = method, severity
		r.BlockingPolicies = []string{alert}
		var buf bytes.Buffer
		if err := Write(&buf, r, testContext); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(buf.Bytes()) {
			t.Fatalf("invalid JSON:\n%s", buf.String())
		}
		var got []string
		if err := json.Unmarshal([]byte(Outputs(r)["blocking-policies"]), &got); err != nil || len(got) != 1 {
			t.Fatalf("blocking-policies output is not a one-name JSON array: %v %q", err, got)
		}
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
