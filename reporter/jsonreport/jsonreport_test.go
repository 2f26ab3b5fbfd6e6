package jsonreport

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	reporttest.CheckGoldens(t, Write, func(t testing.TB, report []byte) {
		if !json.Valid(report) || !utf8.Valid(report) {
			t.Fatalf("Write produced invalid JSON or UTF-8")
		}
	})
}

// TestWriteRoundTrip: a consumer decoding "result" gets the gate's result
// back, field for field.
func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"passed-empty", "blocked-many", "error-no-scan", "timeout"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := reporttest.Named(t, name)
			var buf bytes.Buffer
			if err := Write(&buf, want, reporttest.Context()); err != nil {
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

func TestOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		result *gate.Result
		want   map[string]string
	}{
		{
			name:   "blocked",
			result: reporttest.BlockedMany(),
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
	ctx := reporttest.Context()
	ctx.ServerURL = "https://x-access-token:ghs_SECRET@github.example.com"
	ctx.RunURL = "https://user:glpat-SECRET@gitlab.example.com/acme/payments/-/jobs/1"
	var buf bytes.Buffer
	err := WriteExtra(&buf, reporttest.BlockedMany(), ctx, Extra{
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
	reporttest.CheckNilResult(t, Write)
}

func TestWriteDoesNotModifyResult(t *testing.T) {
	t.Parallel()
	r := reporttest.ErrorNoScan()
	if err := Write(&bytes.Buffer{}, r, reporttest.Context()); err != nil {
		t.Fatal(err)
	}
	if r.Issues != nil || r.BlockingPolicies != nil {
		t.Errorf("Write changed the caller's result: issues %v, policies %v", r.Issues, r.BlockingPolicies)
	}
}

func FuzzWrite(f *testing.F) {
	reporttest.AddFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, alert, path, method, severity string) {
		r := reporttest.FuzzResult(alert, path, method, severity)
		r.BlockingPolicies = []string{alert}
		if got := reporttest.Render(t, Write, r); !json.Valid(got) {
			t.Fatalf("invalid JSON:\n%s", got)
		}
		var got []string
		if err := json.Unmarshal([]byte(Outputs(r)["blocking-policies"]), &got); err != nil || len(got) != 1 {
			t.Fatalf("blocking-policies output is not a one-name JSON array: %v %q", err, got)
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	reporttest.BenchWrite(b, Write)
}

// TestWriteStreamsTheSameBytes: Write streams the issues and findings, and
// the file is byte for byte what encoding/json writes for the document
// whole, findings and hostile text (HTML, U+2028, invalid UTF-8) included.
func TestWriteStreamsTheSameBytes(t *testing.T) {
	t.Parallel()
	results := map[string]*gate.Result{"many-issues": reporttest.ManyIssues(300)}
	for _, c := range reporttest.Cases() {
		results[c.Name] = c.Result()
		withFindings := c.Result()
		for n, i := range append(withFindings.Issues, cortex.Issue{AlertName: "<b>&amp;\u2028\xff", FilePath: "a\x00b"}) {
			withFindings.Findings = append(withFindings.Findings, cortex.Finding{
				ScanID: "scan-" + strings.Repeat("x", n), IssueName: i.AlertName, Name: i.AlertName, Description: i.AlertName + " </script>",
				Severity: i.Severity, FilePath: i.FilePath, AssetName: i.AssetName, FirstObserved: i.Created,
			})
		}
		results[c.Name+"-findings"] = withFindings
	}
	for name, r := range results {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			extra := Extra{CommentURL: "https://github.com/acme/payments/pull/7#issuecomment-1", ReportFile: "out/cortex-gate.json"}
			var got bytes.Buffer
			if err := WriteExtra(&got, r, reporttest.Context(), extra); err != nil {
				t.Fatal(err)
			}
			want, err := encodeIndented(newDocument(r, reporttest.Context(), extra))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("streamed report differs from encoding/json's (-want +got):\n%s", diff)
			}
		})
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
