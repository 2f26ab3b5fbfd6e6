package cortex

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestListPRScansQuery(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, `[{"scanId":"s1","pullRequestId":"42","repoName":"widgets"}]`)
	})
	c := newTestClient(t, srv)
	scans, err := c.ListPRScans(context.Background(), PRScanQuery{
		Organization: "acme", Repositories: []string{"widgets", " ", "gadgets"}, PRID: "42", Days: 3,
	})
	if err != nil {
		t.Fatalf("ListPRScans() error = %v", err)
	}
	if len(scans) != 1 || scans[0].Type != ScanTypePR || scans[0].ID != "s1" {
		t.Errorf("ListPRScans() = %+v, want one PR scan s1", scans)
	}
	r := rec.requests()[0]
	if r.Method != http.MethodGet || r.URL.Path != "/public_api/appsec/v1/scans/pr" {
		t.Errorf("request %s %s, want GET /public_api/appsec/v1/scans/pr", r.Method, r.URL.Path)
	}
	want := url.Values{
		"organizationName": {"acme"}, "repositories": {"widgets", "gadgets"}, "prId": {"42"},
		"days": {"3"}, "offset": {"0"}, "limit": {"100"},
	}
	if diff := cmp.Diff(want, r.URL.Query()); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

func TestListCIScansQuery(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, `[{"scanId":"c1","ciStatus":"PASSED","pullRequestStatus":"FAILED"}]`)
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 50 })
	scans, err := c.ListCIScans(context.Background(), CIScanQuery{Repositories: []string{"widgets"}})
	if err != nil {
		t.Fatalf("ListCIScans() error = %v", err)
	}
	if len(scans) != 1 || scans[0].Type != ScanTypeCI || scans[0].Status != "PASSED" {
		t.Errorf("ListCIScans() = %+v, want one CI scan with its ciStatus", scans)
	}
	r := rec.requests()[0]
	// No organizationName, no days: empty filters are left out, and /scans/ci
	// declares no branchName or prId at all.
	want := url.Values{"repositories": {"widgets"}, "offset": {"0"}, "limit": {"50"}}
	if r.URL.Path != "/public_api/appsec/v1/scans/ci" {
		t.Errorf("path %s", r.URL.Path)
	}
	if diff := cmp.Diff(want, r.URL.Query()); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

func TestIssuesPagination(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, pagedIssues(250))
	c := newTestClient(t, srv)
	issues, err := c.Issues(context.Background(), "scan 1/ä")
	if err != nil {
		t.Fatalf("Issues() error = %v", err)
	}
	if len(issues) != 250 || issues[0].ID != "iss-000000" || issues[249].ID != "iss-000249" {
		t.Fatalf("Issues() returned %d issues (%v ... ), want 250 in order", len(issues), issueIDs(issues[:min(3, len(issues))]))
	}
	var offsets []string
	for _, r := range rec.requests() {
		if r.URL.EscapedPath() != "/public_api/appsec/v1/scans/scan%201%2F%C3%A4/issues" {
			t.Errorf("path %s, want the scan id escaped as one segment", r.URL.EscapedPath())
		}
		q := r.URL.Query()
		if len(q) != 2 || q.Get("limit") != "100" {
			t.Errorf("query %v, want only offset and limit=100", q)
		}
		offsets = append(offsets, q.Get("offset"))
	}
	if diff := cmp.Diff([]string{"0", "100", "200"}, offsets); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
	if c.Requests() != 3 {
		t.Errorf("Requests() = %d, want 3", c.Requests())
	}

	// A last page exactly full needs one more, empty, page to end.
	srv2, rec2 := serve(t, pagedIssues(200))
	if got, err := newTestClient(t, srv2).Issues(context.Background(), "s"); err != nil || len(got) != 200 || len(rec2.requests()) != 3 {
		t.Errorf("200 issues: got %d, err %v, %d requests; want 200, nil, 3", len(got), err, len(rec2.requests()))
	}
}

func TestEnvelopes(t *testing.T) {
	t.Parallel()
	item := `{"issue_id":"a"},{"issue_id":"b"}`
	tests := map[string]string{
		"bare array":         "[" + item + "]",
		"data":               `{"total":2,"data":[` + item + `]}`,
		"reply array":        `{"reply":[` + item + `]}`,
		"reply data":         `{"reply":{"total_count":2,"data":[` + item + `],"extra":{"x":[1,{"y":2}]}}}`,
		"whitespace and BOM": "\ufeff \n [" + item + "] \n",
		"null":               "null",
		"reply null":         `{"reply":null}`,
		"data null":          `{"data":null}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, body) })
			got, err := newTestClient(t, srv).Issues(context.Background(), "s")
			if err != nil {
				t.Fatalf("Issues() error = %v", err)
			}
			want := []string{"a", "b"}
			if strings.Contains(name, "null") {
				want = []string{}
			}
			if diff := cmp.Diff(want, issueIDs(got)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeduplicate covers a list that grows while it is paged: the item
// pushed to the next page comes twice, and is kept once.
func TestDeduplicate(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Query().Get("offset") {
		case "0":
			writeJSON(w, 200, `[{"scanId":"s1"},{"scanId":"s2"}]`)
		case "2": // s0 arrived at the front: s2 shifted onto this page
			writeJSON(w, 200, `[{"scanId":"s2"},{"scanId":3}]`)
		default:
			writeJSON(w, 200, `[{"scanId":"s4"}]`)
		}
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 2 })
	scans, err := c.ListCIScans(context.Background(), CIScanQuery{})
	if err != nil {
		t.Fatalf("ListCIScans() error = %v", err)
	}
	var ids []string
	for _, s := range scans {
		ids = append(ids, s.ID)
	}
	if diff := cmp.Diff([]string{"s1", "s2", "3", "s4"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestServerIgnoringOffset(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// Always the first page, whatever the offset.
		r.URL.RawQuery = "offset=0&limit=" + r.URL.Query().Get("limit")
		pagedIssues(1000)(w, r, n)
	})
	issues, err := newTestClient(t, srv).Issues(context.Background(), "s")
	if err != nil {
		t.Fatalf("Issues() error = %v", err)
	}
	if len(issues) != 100 || len(rec.requests()) != 2 {
		t.Errorf("got %d issues in %d requests, want 100 in 2 (the repeated page ends the listing)", len(issues), len(rec.requests()))
	}
}

func TestServerIgnoringLimit(t *testing.T) {
	t.Parallel()
	// Sends everything from offset on, in one page larger than limit.
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		r.URL.RawQuery = "offset=" + r.URL.Query().Get("offset") + "&limit=100000"
		pagedIssues(150)(w, r, n)
	})
	issues, err := newTestClient(t, srv).Issues(context.Background(), "s")
	if err != nil || len(issues) != 150 || len(rec.requests()) != 2 {
		t.Errorf("got %d issues, err %v, in %d requests; want 150, nil, 2", len(issues), err, len(rec.requests()))
	}
}

func TestPageCap(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, fmt.Sprintf(`[{"issue_id":"x%d"}]`, n)) // new items forever
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 1 })
	if c.maxPages != 10000 {
		t.Errorf("maxPages = %d, want 10000", c.maxPages)
	}
	c.maxPages = 5
	_, err := c.Issues(context.Background(), "s")
	if err == nil || !strings.Contains(err.Error(), "gave up after 5 pages") {
		t.Errorf("Issues() error = %v, want the page cap", err)
	}
}

func TestFindingsDedupWithoutID(t *testing.T) {
	t.Parallel()
	a := `{"scan_id":"s","issue_name":"CVE-1","name":"lodash","file_path":"package.json","asset_id":"a1","first_hash":"abc","severity":"High","last_observed":"2024-05-01"}`
	aLater := strings.Replace(a, "2024-05-01", "2024-05-02", 1) // same finding, observed again
	b := strings.Replace(a, "package.json", "web/package.json", 1)
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Query().Get("offset") == "0" {
			writeJSON(w, 200, "["+a+","+b+"]")
			return
		}
		writeJSON(w, 200, "["+aLater+"]")
	})
	findings, err := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 2 }).Findings(context.Background(), "s")
	if err != nil {
		t.Fatalf("Findings() error = %v", err)
	}
	var paths []string
	for _, f := range findings {
		paths = append(paths, f.FilePath)
	}
	if diff := cmp.Diff([]string{"package.json", "web/package.json"}, paths); diff != "" {
		t.Errorf("finding paths (-want +got):\n%s", diff)
	}
}

func TestScanDecoding(t *testing.T) {
	t.Parallel()
	body := `[
	 {"scanId":"spec","scanHealth":"COMPLETED","pullRequestStatus":"FAILED","scanDate":"2024-05-01T10:00:00Z",
	  "repoName":"widgets","repositoryId":"r1","organizationName":"acme","branchName":"feature/x","provider":"GITHUB",
	  "integrationId":"i1","pullRequestId":"42","pullRequestTitle":"Add | pipes","commitId":"0123456789abcdef",
	  "userEmail":"dev@example.com","blockingPolicyName":"Secrets policy, IaC policy ,","blockingPolicyId":"p1,p2",
	  "issuesFound":{"High":2,"Low":"3"},"issuesTypesBreakdown":{},"findingsSeverityBreakdown":null,
	  "findingsTypesBreakdown":{"Secrets":1.0,"bad":"n/a"},"someNewField":{"nested":[1,2]}},
	 {"scanId":12345678901234567890,"scanHealth":"partially_completed","pullRequestStatus":"Blocked",
	  "scanDate":1714557600000,"pullRequestId":7,
	  "blockingPoliciesNames":["Secrets policy","CVE, critical"],"blockingPoliciesIds":["p1",3],
	  "blockingPolicyName":"Secrets policy","issuesFound":5},
	 {"scanId":"none","scanHealth":"SOMETHING_NEW","pullRequestStatus":"passed_with_issues","scanDate":"not a date",
	  "blockingPolicyName":"","blockingPoliciesNames":null}
	]`
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, body) })
	got, err := newTestClient(t, srv).ListPRScans(context.Background(), PRScanQuery{})
	if err != nil {
		t.Fatalf("ListPRScans() error = %v", err)
	}
	want := []Scan{
		{
			Type: ScanTypePR, ID: "spec", Health: "COMPLETED", Status: "FAILED",
			Date: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), DateRaw: "2024-05-01T10:00:00Z",
			RepoName: "widgets", RepositoryID: "r1", OrganizationName: "acme", BranchName: "feature/x",
			Provider: "GITHUB", IntegrationID: "i1", PullRequestID: "42", PullRequestTitle: "Add | pipes",
			CommitID: "0123456789abcdef", UserEmail: "dev@example.com",
			BlockingPolicyNames: []string{"Secrets policy", "IaC policy"}, BlockingPolicyIDs: []string{"p1", "p2"},
			IssuesFound: map[string]float64{"High": 2, "Low": 3}, IssuesTypesBreakdown: map[string]float64{},
			FindingsTypesBreakdown: map[string]float64{"Secrets": 1},
		},
		{
			Type: ScanTypePR, ID: "12345678901234567890", Health: "partially_completed", Status: "Blocked",
			Date: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), DateRaw: "1714557600000", PullRequestID: "7",
			BlockingPolicyNames: []string{"Secrets policy", "CVE, critical"}, BlockingPolicyIDs: []string{"p1", "3"},
		},
		{
			Type: ScanTypePR, ID: "none", Health: "SOMETHING_NEW", Status: "passed_with_issues", DateRaw: "not a date",
			BlockingPolicyNames: []string{}, BlockingPolicyIDs: []string{},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scans (-want +got):\n%s", diff)
	}
	if n, known := got[0].IssueCount(); n != 5 || !known {
		t.Errorf("IssueCount() = %d, %v; want 5, true", n, known)
	}
	if _, known := got[0].FindingCount(); known {
		t.Error("FindingCount() known for a null map, want unknown")
	}
	if !got[1].Final() || got[2].Final() {
		t.Errorf("Final(): %v for partially_completed, %v for SOMETHING_NEW; want true, false", got[1].Final(), got[2].Final())
	}
}

func TestIssueDecodingLenient(t *testing.T) {
	t.Parallel()
	body := `[{"issue_id":987654321,"scan_id":"s","severity":"critical","alert_name":"AWS key \"x\"\n",
	  "detection_method":"Secrets Security","created":"1714557600","repo_id":5,"pull_request_id":42,
	  "run_id":null,"assignee":{"name":"someone"},"resolution_status":"Under Investigation","unknown":true}]`
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, body) })
	got, err := newTestClient(t, srv).Issues(context.Background(), "s")
	if err != nil {
		t.Fatalf("Issues() error = %v", err)
	}
	want := []Issue{{
		ID: "987654321", ScanID: "s", Severity: "critical", AlertName: "AWS key \"x\"\n",
		DetectionMethod: "Secrets Security", Created: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		RepoID: "5", PullRequestID: "42", ResolutionStatus: "Under Investigation",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	frac := at.Add(123456789 * time.Nanosecond)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-05-01T10:00:00Z", at},
		{"2024-05-01T10:00:00.123456789Z", frac},
		{"2024-05-01T12:00:00+02:00", at},
		{"2024-05-01T12:00:00.123456789+02:00", frac},
		{"2024-05-01T12:00:00+0200", at},
		{"2024-05-01T10:00:00", at},
		{"2024-05-01T10:00:00.123456789", frac},
		{"2024-05-01 10:00:00", at},
		{"2024-05-01 10:00:00.123456789", frac},
		{"2024-05-01 12:00:00+02:00", at},
		{"2024-05-01 10:00:00 +0000 UTC", at},
		{"2024-05-01 10:00:00 UTC", at},
		{"2024-05-01", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"Wed, 01 May 2024 10:00:00 GMT", at},
		{"1714557600", at},
		{"1714557600000", at},
		{"1714557600000000", at},
		{"1714557600000000000", at},
		{"1714557600.5", at.Add(500 * time.Millisecond)},
		{"1714557600123.0", at.Add(123 * time.Millisecond)},
		{" 1714557600 ", at},
		{"0", time.Time{}},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
		{"-5", time.Time{}},
		{"2024-13-45T99:00:00Z", time.Time{}},
	}
	for _, tt := range tests {
		if got := parseTime(tt.in); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, want %v (UTC)", tt.in, got, tt.want)
		}
	}
}

func TestTimestampsAsJSONNumbers(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, raw := range []string{`1714557600`, `1714557600000`, `"1714557600000"`, `1.7145576e12`} {
		srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 200, `[{"scanId":"s","scanDate":`+raw+`}]`)
		})
		scans, err := newTestClient(t, srv).ListPRScans(context.Background(), PRScanQuery{})
		if err != nil || len(scans) != 1 {
			t.Fatalf("scanDate %s: %v", raw, err)
		}
		if !scans[0].Date.Equal(at) || scans[0].DateRaw != strings.Trim(raw, `"`) {
			t.Errorf("scanDate %s: Date %v, DateRaw %q; want %v, the raw text", raw, scans[0].Date, scans[0].DateRaw, at)
		}
	}
}

func TestFlexList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want flexList
	}{
		{`"a, b ,,c"`, flexList{"a", "b", "c"}},
		{`["a, b"," c ",""]`, flexList{"a, b", "c"}},
		{`[1,true,null,{"x":1}]`, flexList{"1", "true"}},
		{`null`, nil},
		{`{"a":1}`, nil},
		{`17`, flexList{"17"}},
	}
	for _, tt := range tests {
		var got flexList
		if err := got.UnmarshalJSON([]byte(tt.in)); err != nil {
			t.Errorf("UnmarshalJSON(%s) error = %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("UnmarshalJSON(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestInvalidScanID(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, "[]") })
	c := newTestClient(t, srv)
	for _, id := range []string{"", " ", "..", "."} {
		if _, err := c.Findings(context.Background(), id); err == nil || !strings.Contains(err.Error(), "invalid scan id") {
			t.Errorf("Findings(%q) error = %v, want invalid scan id", id, err)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid ids, want 0", n)
	}
}

// TestItemPagesDefaultTo5000: issues come 5000 a page by default, and a
// tenant that caps pages lower (but at the vendor's 100 or more) is paged
// through all the same instead of being taken for the end of the list.
func TestItemPagesDefaultTo5000(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		cap      int // the server's own page cap, 0 = none
		total    int
		wantReqs int
	}{
		// A last page of 100 or more might be a cap: one more, empty, page confirms the end.
		{"uncapped", 0, 12500, 4},
		{"capped at 100", 100, 250, 3},
		{"capped at 500", 500, 1200, 4},
		{"small list", 0, 12, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tt.cap > 0 {
					q := r.URL.Query()
					q.Set("limit", strconv.Itoa(tt.cap))
					r.URL.RawQuery = q.Encode()
				}
				pagedIssues(tt.total)(w, r, n)
			})
			c := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 0 })
			issues, err := c.Issues(context.Background(), "s")
			if err != nil || len(issues) != tt.total {
				t.Fatalf("got %d issues, err %v; want %d", len(issues), err, tt.total)
			}
			reqs := rec.requests()
			if got := reqs[0].URL.Query().Get("limit"); got != "5000" {
				t.Errorf("limit = %s, want 5000", got)
			}
			if len(reqs) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(reqs), tt.wantReqs)
			}
		})
	}
}

// TestLargePageRefusedFallsBackTo100: a tenant that answers 400 to a large
// limit is asked again with the vendor's default, not failed.
func TestLargePageRefusedFallsBackTo100(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if lim, _ := strconv.Atoi(r.URL.Query().Get("limit")); lim > 100 {
			writeJSON(w, http.StatusBadRequest, `{"errorCode":"BAD_REQUEST","message":"limit must be at most 100"}`)
			return
		}
		pagedIssues(250)(w, r, n)
	})
	issues, err := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 0 }).Issues(context.Background(), "s")
	if err != nil || len(issues) != 250 {
		t.Fatalf("got %d issues, err %v; want all 250", len(issues), err)
	}
	if n := len(rec.requests()); n != 4 {
		t.Errorf("%d requests, want 4 (the refused one, then 100, 100, 50)", n)
	}
}

// TestPageTooLargeFallsBackTo100: a first page too large to read (long
// descriptions at 5000 a page) is asked again at 100 a page.
func TestPageTooLargeFallsBackTo100(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, pagedIssues(250))
	c := newTestClient(t, srv, func(cfg *Config) { cfg.PageSize = 0 })
	c.maxPageBytes = 60 << 10 // 100 issues fit, 250 do not
	issues, err := c.Issues(context.Background(), "s")
	if err != nil || len(issues) != 250 {
		t.Fatalf("got %d issues, err %v; want all 250", len(issues), err)
	}
	if got := rec.requests()[1].URL.Query().Get("limit"); got != "100" {
		t.Errorf("second request limit=%s, want 100", got)
	}
}
