package reliability

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// FuzzClientDecode serves the fuzz input as the 200 body of every Cortex
// endpoint and reads it through the real client, over HTTP: the scan list,
// the issues and the findings. Whatever the body, the client must not
// panic, must not hang, and must end in items or in a one-line error.
// (The cortex package has no decoder fuzz test of its own.)
//
// The seed corpus is testdata/fuzz/FuzzClientDecode.
func FuzzClientDecode(f *testing.F) {
	for _, seed := range []string{
		`[]`, `null`, `{"data": []}`, `{"reply": {"data": [{"scanId": "a"}]}}`,
		`[{"scanId": "a", "scanHealth": "COMPLETED", "pullRequestStatus": "PASSED", "issuesFound": {"Critical": "1"}}]`,
		`[{"issue_id": 1, "severity": ["High"], "created": 1741600000000}]`,
		"\xef\xbb\xbf[{\"scanId\": \"bom\"}]",
		`<html><title>Sign in</title></html>`,
		`[{"scanId": "a"`, `[1, "two", null]`, `{"message": "quota exceeded"}`, `[] trailing`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		c, err := cortex.New(cortex.Config{
			BaseURL: srv.URL, KeyID: "id", Key: "key",
			RateLimit: 1e6, MaxRetryTime: 20 * time.Millisecond, RequestTimeout: 2 * time.Second,
			HTTPClient: srv.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		check := func(what string, n int, err error) {
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: the client hung on the body %q", what, body)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x00\x1b") {
				t.Errorf("%s: the error is not one clean line: %q", what, msg)
			}
		}
		scans, err := c.ListPRScans(ctx, cortex.PRScanQuery{PRID: "42"})
		check("ListPRScans", len(scans), err)
		issues, err := c.Issues(ctx, "scan-1")
		check("Issues", len(issues), err)
		findings, err := c.Findings(ctx, "scan-1")
		check("Findings", len(findings), err)
	})
}
