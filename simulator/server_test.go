package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cortex"
)

func TestAuthStandard(t *testing.T) {
	t.Parallel()
	custom := mustParse(t, `{"auth":{"keyId":"42","key":"s3cret-key-value"},"scans":[]}`)
	_, demo := serve(t, mustLoad(t, "passed-pr"), newClock())
	_, own := serve(t, custom, newClock())
	tests := []struct {
		name   string
		base   string
		header http.Header
		want   int
	}{
		{"demo key", demo.URL, standardAuth(), 200},
		{"scenario key", own.URL, http.Header{"X-Xdr-Auth-Id": {"42"}, "Authorization": {"s3cret-key-value"}}, 200},
		{"wrong key", own.URL, http.Header{"X-Xdr-Auth-Id": {"42"}, "Authorization": {"s3cret-key-valuX"}}, 401},
		{"wrong id", own.URL, http.Header{"X-Xdr-Auth-Id": {"43"}, "Authorization": {"s3cret-key-value"}}, 401},
		{"demo key on a scenario with its own", own.URL, standardAuth(), 401},
		{"no headers", demo.URL, nil, 401},
		{"id only", demo.URL, http.Header{"X-Xdr-Auth-Id": {DemoKeyID}}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, tt.base, prPath, tt.header)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
			}
			if tt.want == 401 {
				assertPlatformError(t, r, 401)
				if strings.Contains(string(r.body), "s3cret") {
					t.Errorf("401 body leaks the key: %s", r.body)
				}
			}
		})
	}
}

// assertPlatformError checks r is {"reply":{"err_code":code,"err_msg":"...",...}}.
func assertPlatformError(t *testing.T, r response, code int) {
	t.Helper()
	var body struct {
		Reply struct {
			ErrCode  int    `json:"err_code"`
			ErrMsg   string `json:"err_msg"`
			ErrExtra string `json:"err_extra"`
		} `json:"reply"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Reply.ErrCode != code || body.Reply.ErrMsg == "" {
		t.Errorf("body = %s, want a platform-style error with err_code %d", r.body, code)
	}
}

func TestAuthAdvanced(t *testing.T) {
	t.Parallel()
	c := newClock()
	_, ts := serve(t, mustLoad(t, "advanced-key"), c)
	now := c.Now()
	tamper := func(h http.Header, k, v string) http.Header { h.Set(k, v); return h }
	tests := []struct {
		name   string
		header http.Header
		want   int
		reason string // in err_extra
	}{
		{"fresh headers", advancedAuth(DemoKeyID, DemoKey, now), 200, ""},
		{"timestamp 4 minutes behind", advancedAuth(DemoKeyID, DemoKey, now.Add(-4*time.Minute)), 200, ""},
		{"timestamp 4 minutes ahead", advancedAuth(DemoKeyID, DemoKey, now.Add(4*time.Minute)), 200, ""},
		{"stale timestamp", advancedAuth(DemoKeyID, DemoKey, now.Add(-6*time.Minute)), 401, "more than 5 minutes"},
		{"timestamp from the future", advancedAuth(DemoKeyID, DemoKey, now.Add(6*time.Minute)), 401, "more than 5 minutes"},
		{"timestamp in seconds", tamper(advancedAuth(DemoKeyID, DemoKey, now), "X-Xdr-Timestamp", fmt.Sprint(now.Unix())), 401, "more than 5 minutes"},
		{"bad signature", advancedAuth(DemoKeyID, "another-key", now), 401, "wrong signature"},
		{"short nonce", tamper(advancedAuth(DemoKeyID, DemoKey, now), "X-Xdr-Nonce", "abc"), 401, "x-xdr-nonce"},
		{"nonce with symbols", tamper(advancedAuth(DemoKeyID, DemoKey, now), "X-Xdr-Nonce", strings.Repeat("-", 64)), 401, "x-xdr-nonce"},
		{"wrong key id", advancedAuth("other", DemoKey, now), 401, "unknown API key id"},
		{"standard headers", standardAuth(), 401, "x-xdr-nonce"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, ts.URL, prPath, tt.header)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
			}
			if tt.want == 401 {
				assertPlatformError(t, r, 401)
				if !strings.Contains(string(r.body), tt.reason) {
					t.Errorf("body = %s, want the reason %q", r.body, tt.reason)
				}
			}
		})
	}
}

// TestAuthAdvancedMatchesClient checks the simulator accepts the signature
// as the gate's client computes it.
func TestAuthAdvancedMatchesClient(t *testing.T) {
	t.Parallel()
	c := newClock()
	_, ts := serve(t, mustLoad(t, "advanced-key"), c)
	h := advancedAuth(DemoKeyID, DemoKey, c.Now())
	if got, want := cortex.AdvancedSignature(DemoKey, h.Get("X-Xdr-Nonce"), h.Get("X-Xdr-Timestamp")), h.Get("Authorization"); got != want {
		t.Fatalf("cortex.AdvancedSignature = %s, want %s (sha256 hex of key+nonce+timestamp)", got, want)
	}
	if r := get(t, ts.URL, prPath, h); r.status != 200 {
		t.Errorf("status = %d, want 200", r.status)
	}
}

func TestPollProgression(t *testing.T) {
	t.Parallel()
	s, ts := serve(t, mustLoad(t, "blocked-pr"), newClock())
	const id = "sim-pr-42-blocked"
	poll := func() []map[string]any {
		return get(t, ts.URL, prPath+"?prId=42&repositories=payments-api&organizationName=acme&days=1", standardAuth()).list(t)
	}

	if got := poll(); len(got) != 0 {
		t.Fatalf("poll 1 listed %v, want nothing yet", ids(got))
	}
	if r := get(t, ts.URL, issuesPath(id), standardAuth()); r.status != 404 {
		t.Errorf("issues before the scan is listed: status %d, want 404", r.status)
	}
	for n := 2; n <= 3; n++ {
		got := poll()
		if len(got) != 1 {
			t.Fatalf("poll %d listed %v, want the scan", n, ids(got))
		}
		want := map[string]any{
			"scanHealth": "IN_PROGRESS", "pullRequestStatus": "IN_PROGRESS", "blockingPolicyName": "", "blockingPolicyId": "",
			"issuesFound": map[string]any{}, "findingsSeverityBreakdown": map[string]any{},
		}
		if diff := cmp.Diff(want, fields(got[0], want)); diff != "" {
			t.Errorf("poll %d item (-want +got):\n%s", n, diff)
		}
		if items := get(t, ts.URL, issuesPath(id), standardAuth()).list(t); len(items) != 0 {
			t.Errorf("poll %d: %d issues served while in progress, want none", n, len(items))
		}
	}
	// A later page, and a request for another PR, are not polls of the scan.
	get(t, ts.URL, prPath+"?prId=42&offset=100", standardAuth()).list(t)
	get(t, ts.URL, prPath+"?prId=43", standardAuth()).list(t)
	if got := s.Stats().Polls[id]; got != 3 {
		t.Errorf("polls = %d after 3 matching polls and 2 other requests, want 3", got)
	}

	got := poll()
	want := map[string]any{
		"scanId": id, "scanHealth": "COMPLETED", "pullRequestStatus": "FAILED",
		"blockingPolicyName": "Block critical CVEs, No hardcoded secrets", "blockingPolicyId": "pol-0001, pol-0002",
		"repoName": "payments-api", "organizationName": "acme", "branchName": "feature/checkout", "pullRequestId": "42",
		"commitId":                  "d9d6128af542cff33e8bbe3675aaafaa9e1a2710",
		"issuesFound":               map[string]any{"Critical": 2.0, "High": 3.0, "Medium": 4.0, "Low": 3.0},
		"issuesTypesBreakdown":      map[string]any{"Vulnerabilities": 4.0, "Secrets": 2.0, "IaC": 4.0, "Licenses": 1.0, "Operational risk": 1.0},
		"findingsSeverityBreakdown": map[string]any{"Critical": 3.0, "High": 3.0, "Medium": 4.0, "Low": 4.0},
		"scanDate":                  "2025-03-14T09:25:53Z",
	}
	if len(got) != 1 {
		t.Fatalf("poll 4 listed %v, want the scan", ids(got))
	}
	if diff := cmp.Diff(want, fields(got[0], want)); diff != "" {
		t.Errorf("final item (-want +got):\n%s", diff)
	}
	issues := get(t, ts.URL, issuesPath(id), standardAuth()).list(t)
	if len(issues) != 12 {
		t.Fatalf("%d issues, want 12", len(issues))
	}
	hostile := issues[4]["alert_name"].(string)
	for _, s := range []string{"|", "<script>", "@someone", "`", "](https://"} {
		if !strings.Contains(hostile, s) {
			t.Errorf("hostile issue name %q lacks %q", hostile, s)
		}
	}
	if !strings.Contains(string(get(t, ts.URL, issuesPath(id), standardAuth()).body), "<script>") {
		t.Error("body escapes <script>; a tenant sends it raw")
	}
}

// fields returns the keys of m that want names.
func fields(m, want map[string]any) map[string]any {
	out := map[string]any{}
	for k := range want {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func TestTimeProgression(t *testing.T) {
	t.Parallel()
	c := newClock()
	_, ts := serve(t, mustParse(t, `{"scans":[{"type":"ci","scanId":"c1","repoName":"r","appearAfterSeconds":10,"completeAfterSeconds":30,"status":"PASSED"}]}`), c)
	health := func() string {
		items := get(t, ts.URL, ciPath, standardAuth()).list(t)
		if len(items) == 0 {
			return "not listed"
		}
		return items[0]["scanHealth"].(string)
	}
	var got []string
	for _, step := range []time.Duration{0, 9 * time.Second, time.Second, 19 * time.Second, time.Second} {
		c.Advance(step)
		got = append(got, health())
	}
	want := []string{"not listed", "not listed", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("health at 0, 9, 10, 29, 30 s (-want +got):\n%s", diff)
	}
}

func TestDisappearAfterPolls(t *testing.T) {
	t.Parallel()
	_, ts := serve(t, mustParse(t, `{"scans":[{"type":"pr","scanId":"p1","repoName":"r","pullRequestId":"1","disappearAfterPolls":2,"issues":[{}]}]}`), newClock())
	var got []int
	for range 3 {
		got = append(got, len(get(t, ts.URL, prPath+"?prId=1", standardAuth()).list(t)))
	}
	if diff := cmp.Diff([]int{1, 1, 0}, got); diff != "" {
		t.Errorf("items per poll (-want +got):\n%s", diff)
	}
	if n := len(get(t, ts.URL, issuesPath("p1"), standardAuth()).list(t)); n != 1 {
		t.Errorf("issues of a vanished scan: %d, want 1 (the data stays)", n)
	}
}

const filterScenario = `{"scans":[
 {"type":"pr","scanId":"p-new","organizationName":"acme","repoName":"payments-api","branchName":"feature/a","pullRequestId":"42","pullRequestTitle":"Add checkout","ageSeconds":60,"status":"FAILED","health":"COMPLETED"},
 {"type":"pr","scanId":"p-old","organizationName":"acme","repoName":"payments-api","branchName":"feature/a","pullRequestId":"42","ageSeconds":172800,"status":"PASSED"},
 {"type":"pr","scanId":"p-other-repo","organizationName":"acme","repoName":"ledger","branchName":"main","pullRequestId":"7","ageSeconds":120,"health":"PARTIALLY_COMPLETED","status":"PASSED_WITH_ISSUES"},
 {"type":"pr","scanId":"p-other-org","organizationName":"globex","repoName":"payments-api","pullRequestId":"42","ageSeconds":30},
 {"type":"pr","scanId":"p-ancient","organizationName":"acme","repoName":"payments-api","pullRequestId":"42","ageSeconds":864000},
 {"type":"pr","scanId":"p-raw-date","organizationName":"acme","repoName":"payments-api","pullRequestId":"9","scanDate":"1741600000000"},
 {"type":"pr","scanId":"p-unreadable-date","organizationName":"acme","repoName":"payments-api","pullRequestId":"9","scanDate":"yesterday"},
 {"type":"ci","scanId":"c1","organizationName":"acme","repoName":"payments-api","branchName":"main","ageSeconds":10,"issues":[
   {"severity":"Critical"},{"severity":"High"},{"severity":"high"},{"severity":"Low"}]}
]}`

func TestFilters(t *testing.T) {
	t.Parallel()
	_, ts := serve(t, mustParse(t, filterScenario), newClock())
	tests := []struct {
		target string
		want   []string
	}{
		// Default days=7: p-ancient (10 days) is out; newest first; the
		// unreadable date is kept (the filter cannot tell) and listed last.
		{prPath, []string{"p-other-org", "p-new", "p-other-repo", "p-old", "p-raw-date", "p-unreadable-date"}},
		{prPath + "?days=30", []string{"p-other-org", "p-new", "p-other-repo", "p-old", "p-raw-date", "p-ancient", "p-unreadable-date"}},
		{prPath + "?days=1", []string{"p-other-org", "p-new", "p-other-repo", "p-unreadable-date"}},
		{prPath + "?days=0.5&prId=42", []string{"p-other-org", "p-new"}},
		{prPath + "?prId=42&organizationName=ACME&days=1", []string{"p-new"}},
		{prPath + "?repositories=ledger", []string{"p-other-repo"}},
		{prPath + "?repositories=ledger&repositories=acme/payments-api&prId=42", []string{"p-new", "p-old"}},
		{prPath + "?branchName=feature/a", []string{"p-new", "p-old"}},
		{prPath + "?branchName=Feature/A", []string{}},
		{prPath + "?prTitle=checkout", []string{"p-new"}},
		{prPath + "?scanHealth=PARTIALLY_COMPLETED", []string{"p-other-repo"}},
		{prPath + "?prStatus=failed", []string{"p-new"}},
		{ciPath + "?repositories=payments-api&ciStatus=PASSED", []string{"c1"}},
		{ciPath + "?organizationName=globex", []string{}},
	}
	for _, tt := range tests {
		got := ids(get(t, ts.URL, tt.target, standardAuth()).list(t))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.target, diff)
		}
	}
	// Severity is matched in any case, as written by the scenario.
	if n := len(get(t, ts.URL, issuesPath("c1")+"?severity=HIGH", standardAuth()).list(t)); n != 2 {
		t.Errorf("issues with severity=HIGH: %d, want 2", n)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	_, ts := serve(t, mustParse(t, filterScenario), newClock())
	tests := []struct{ target, message string }{
		{ciPath + "?branchName=main", `unknown query parameter "branchName" for /public_api/appsec/v1/scans/ci`},
		{prPath + "?commitId=abc", `unknown query parameter "commitId"`},
		{prPath + "?limit=abc", `"limit" must be an integer of at least 1, got "abc"`},
		{prPath + "?limit=-1", `"limit" must be an integer`},
		{prPath + "?limit=0", `"limit" must be an integer of at least 1`},
		{prPath + "?offset=-5", `"offset" must be an integer of at least 0`},
		{prPath + "?days=week", `"days" must be a non-negative number`},
		{prPath + "?scanHealth=DONE", `"scanHealth" must be one of COMPLETED, ERROR, PARTIALLY_COMPLETED, IN_PROGRESS`},
		{prPath + "?prId=1&prId=2", `"prId" given 2 times`},
		{prPath + "?prId=", `"prId" is empty`},
		{issuesPath("c1") + "?severity=Info", `"severity" must be one of Critical, High, Medium, Low`},
		{findingsPath("c1") + "?prId=1", `unknown query parameter "prId"`},
	}
	for _, tt := range tests {
		r := get(t, ts.URL, tt.target, standardAuth())
		var body struct{ ErrorCode, Message string }
		_ = json.Unmarshal(r.body, &body)
		if r.status != 400 || body.ErrorCode != "BAD_REQUEST" || !strings.Contains(body.Message, tt.message) {
			t.Errorf("GET %s = %d %s, want 400 BAD_REQUEST containing %q", tt.target, r.status, r.body, tt.message)
		}
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	_, ts := serve(t, mustParse(t, filterScenario), newClock())
	for _, p := range []string{issuesPath("nope"), findingsPath("nope")} {
		r := get(t, ts.URL, p, standardAuth())
		var body struct{ ErrorCode, Message string }
		_ = json.Unmarshal(r.body, &body)
		if r.status != 404 || body.ErrorCode != "NOT_FOUND" || !strings.Contains(body.Message, "scan nope not found") {
			t.Errorf("GET %s = %d %s, want 404 naming the scan", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/public_api/appsec/v1/scans/periodic", "/public_api/appsec/v1/scans/x/issues/1", "/"} {
		if r := get(t, ts.URL, p, standardAuth()); r.status != 404 {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
	res, err := http.Post(ts.URL+prPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Errorf("POST = %d, want 405", res.StatusCode)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	var scans []string
	for i := range 5 {
		scans = append(scans, fmt.Sprintf(`{"type":"pr","scanId":"p%d","repoName":"r","pullRequestId":"1","ageSeconds":%d}`, i, i*10))
	}
	sc := mustParse(t, `{"scans":[`+strings.Join(scans, ",")+`,
		{"type":"ci","scanId":"big","repoName":"r","issues":[{"alert_name":"explicit"}],"generate":{"issues":249,"findings":3,"seed":7}}]}`)
	s, ts := serve(t, sc, newClock())
	var pages [][]string
	for _, off := range []int{0, 2, 4, 6} {
		pages = append(pages, ids(get(t, ts.URL, fmt.Sprintf("%s?limit=2&offset=%d", prPath, off), standardAuth()).list(t)))
	}
	if diff := cmp.Diff([][]string{{"p0", "p1"}, {"p2", "p3"}, {"p4"}, {}}, pages); diff != "" {
		t.Errorf("pages of 2 (-want +got):\n%s", diff)
	}
	if got := s.Stats().Polls["p0"]; got != 1 {
		t.Errorf("polls of p0 = %d, want 1 (only offset 0 is a poll)", got)
	}

	var sizes []int
	seen := map[string]bool{}
	for off := 0; ; off += 100 {
		page := get(t, ts.URL, fmt.Sprintf("%s?offset=%d", issuesPath("big"), off), standardAuth()).list(t)
		sizes = append(sizes, len(page))
		for _, it := range page {
			seen[it["issue_id"].(string)] = true
		}
		if len(page) < 100 {
			break
		}
	}
	if diff := cmp.Diff([]int{100, 100, 50}, sizes); diff != "" {
		t.Errorf("issue page sizes at the default limit (-want +got):\n%s", diff)
	}
	if len(seen) != 250 {
		t.Errorf("%d distinct issue ids, want 250", len(seen))
	}
	first := get(t, ts.URL, issuesPath("big")+"?limit=1", standardAuth()).list(t)
	if first[0]["alert_name"] != "explicit" {
		t.Errorf("first issue = %v, want the explicit one before generated ones", first[0]["alert_name"])
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	sc := `{"scans":[{"type":"pr","scanId":"g","repoName":"r","generate":{"issues":2000,"findings":5000,"seed":1}}]}`
	_, a := serve(t, mustParse(t, sc), newClock())
	_, b := serve(t, mustParse(t, sc), newClock())
	pa := get(t, a.URL, findingsPath("g")+"?offset=4000&limit=50", standardAuth())
	pb := get(t, b.URL, findingsPath("g")+"?offset=4000&limit=50", standardAuth())
	if string(pa.body) != string(pb.body) {
		t.Error("the same seed generated different findings")
	}
	item := get(t, a.URL, prPath, standardAuth()).list(t)[0]
	sum := func(m any) float64 {
		var n float64
		for _, v := range m.(map[string]any) {
			n += v.(float64)
		}
		return n
	}
	if sum(item["issuesFound"]) != 2000 || sum(item["issuesTypesBreakdown"]) != 2000 ||
		sum(item["findingsSeverityBreakdown"]) != 5000 || sum(item["findingsTypesBreakdown"]) != 5000 {
		t.Errorf("count maps do not add up to 2000 issues / 5000 findings: %v", item)
	}
	for _, sev := range []string{"Critical", "High", "Medium", "Low"} {
		if item["issuesFound"].(map[string]any)[sev].(float64) == 0 {
			t.Errorf("no %s issue among 2000", sev)
		}
	}
	types := item["issuesTypesBreakdown"].(map[string]any)
	if len(types) != 5 {
		t.Errorf("issue types = %v, want all 5 code-security kinds", types)
	}
	crit := get(t, a.URL, issuesPath("g")+"?severity=Critical&limit=1000", standardAuth()).list(t)
	if float64(len(crit)) != item["issuesFound"].(map[string]any)["Critical"].(float64) {
		t.Errorf("severity=Critical served %d issues, issuesFound says %v", len(crit), item["issuesFound"])
	}
}

func TestDocsDialect(t *testing.T) {
	t.Parallel()
	_, ts := serve(t, mustLoad(t, "blocked-pr-docs"), newClock())
	first := get(t, ts.URL, prPath, standardAuth()).list(t)[0]
	if diff := cmp.Diff([]any{}, first["blockingPoliciesNames"]); diff != "" {
		t.Errorf("in progress: blockingPoliciesNames (-want +got):\n%s", diff)
	}
	final := get(t, ts.URL, prPath, standardAuth()).list(t)[0]
	want := map[string]any{
		"pullRequestStatus":     "Blocked",
		"blockingPoliciesNames": []any{"Block critical CVEs", "No hardcoded secrets"},
		"blockingPoliciesIds":   []any{"pol-0001", "pol-0002"},
	}
	if diff := cmp.Diff(want, fields(final, want)); diff != "" {
		t.Errorf("final item (-want +got):\n%s", diff)
	}
	if _, ok := final["blockingPolicyName"]; ok {
		t.Error("docs dialect also sent the spec's blockingPolicyName")
	}
}

func TestEnvelopes(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]string{
		"array":      `[{"issue_id":"i"}]`,
		"data":       `{"data":[{"issue_id":"i"}]}`,
		"reply":      `{"reply":[{"issue_id":"i"}]}`,
		"reply.data": `{"reply":{"data":[{"issue_id":"i"}]}}`,
	} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			_, ts := serve(t, mustParse(t, `{"envelope":"`+env+`","scans":[{"type":"ci","scanId":"c","issues":[{"issue_id":"i"}]}]}`), newClock())
			var got, w any
			r := get(t, ts.URL, issuesPath("c"), standardAuth())
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(want), &w)
			// Compare the shape with the single issue reduced to its id.
			if diff := cmp.Diff(w, onlyIssueIDs(got)); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
		})
	}
}

func onlyIssueIDs(v any) any {
	switch v := v.(type) {
	case []any:
		out := []any{}
		for _, e := range v {
			out = append(out, onlyIssueIDs(e))
		}
		return out
	case map[string]any:
		if id, ok := v["issue_id"]; ok {
			return map[string]any{"issue_id": id}
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = onlyIssueIDs(e)
		}
		return out
	}
	return v
}

func TestFaults(t *testing.T) {
	t.Parallel()
	scan := `"scans":[{"type":"pr","scanId":"p","repoName":"r","pullRequestId":"1"},{"type":"pr","scanId":"q","repoName":"r","pullRequestId":"1","ageSeconds":5}]`
	start := func(t *testing.T, faults string) (*Server, string) {
		s, ts := serve(t, mustParse(t, `{`+scan+`,"faults":[`+faults+`]}`), newClock())
		return s, ts.URL
	}
	// try returns the status, or -1 when the request failed without one.
	try := func(base, target string, timeout time.Duration) (int, []byte, http.Header, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+target, nil)
		req.Header = standardAuth()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1, nil, nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res.StatusCode, body, res.Header, err
	}

	t.Run("status with Retry-After, twice", func(t *testing.T) {
		t.Parallel()
		s, base := start(t, `{"endpoint":"pr","kind":"status","status":429,"retryAfter":"1","times":2}`)
		var got []int
		for range 3 {
			code, body, h, _ := try(base, prPath, 5*time.Second)
			got = append(got, code)
			if code == 429 && (h.Get("Retry-After") != "1" || !strings.Contains(string(body), `"err_code":429`)) {
				t.Errorf("429 has Retry-After %q, body %s", h.Get("Retry-After"), body)
			}
		}
		if diff := cmp.Diff([]int{429, 429, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if s.Stats().Polls["p"] != 1 {
			t.Errorf("faulted requests counted as polls: %d, want 1", s.Stats().Polls["p"])
		}
	})
	t.Run("after and endpoint", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"endpoint":"issues","kind":"status","status":503,"after":1}`)
		var got []int
		for _, p := range []string{prPath, issuesPath("p"), issuesPath("p"), issuesPath("p"), prPath} {
			code, _, _, _ := try(base, p, 5*time.Second)
			got = append(got, code)
		}
		if diff := cmp.Diff([]int{200, 200, 503, 503, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"kind":"delay","delayMs":40,"times":1}`)
		began := time.Now()
		if code, _, _, _ := try(base, prPath, 5*time.Second); code != 200 {
			t.Errorf("status %d, want 200 after the delay", code)
		}
		if d := time.Since(began); d < 40*time.Millisecond {
			t.Errorf("answered in %v, want at least 40ms", d)
		}
	})
	t.Run("hang until the client gives up", func(t *testing.T) {
		t.Parallel()
		s, base := start(t, `{"kind":"hang"}`)
		code, _, _, err := try(base, prPath, 50*time.Millisecond)
		if code != -1 || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got status %d, error %v; want the client's timeout", code, err)
		}
		waitFor(t, func() bool { return s.Stats().Status[0] == 1 })
	})
	t.Run("hang with a limit answers 504", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"kind":"hang","delayMs":20}`)
		if code, _, _, _ := try(base, prPath, 5*time.Second); code != 504 {
			t.Errorf("status %d, want 504", code)
		}
	})
	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"kind":"reset","times":1}`)
		if code, _, _, err := try(base, prPath, 5*time.Second); code != -1 || err == nil {
			t.Errorf("got status %d, error %v; want a connection error", code, err)
		}
		if code, _, _, _ := try(base, prPath, 5*time.Second); code != 200 {
			t.Errorf("after the reset: status %d, want 200", code)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"kind":"truncate"}`)
		code, _, _, err := try(base, prPath, 5*time.Second)
		if code != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got status %d, error %v; want 200 and an unexpected EOF", code, err)
		}
	})
	for kind, check := range map[string]func(body []byte, h http.Header) bool{
		"malformed": func(b []byte, h http.Header) bool { return len(b) > 0 && !json.Valid(b) },
		"empty":     func(b []byte, h http.Header) bool { return len(b) == 0 },
		"html": func(b []byte, h http.Header) bool {
			return strings.HasPrefix(h.Get("Content-Type"), "text/html") && strings.Contains(string(b), "<html>")
		},
	} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			_, base := start(t, `{"kind":"`+kind+`"}`)
			code, body, h, err := try(base, prPath, 5*time.Second)
			if err != nil || code != 200 || !check(body, h) {
				t.Errorf("got %d %q (%v), want a 200 %s body", code, body, err, kind)
			}
		})
	}
	t.Run("html with a status", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"kind":"html","status":502}`)
		if code, _, _, _ := try(base, prPath, 5*time.Second); code != 502 {
			t.Errorf("status %d, want 502", code)
		}
	})
	t.Run("ignoreOffset", func(t *testing.T) {
		t.Parallel()
		_, base := start(t, `{"kind":"ignoreOffset"}`)
		_, p0, _, _ := try(base, prPath+"?limit=1", 5*time.Second)
		_, p1, _, _ := try(base, prPath+"?limit=1&offset=1", 5*time.Second)
		if string(p0) != string(p1) || !strings.Contains(string(p0), `"scanId":"p"`) {
			t.Errorf("offset 1 = %s, want the same page as offset 0 (%s)", p1, p0)
		}
	})
}

// waitFor polls cond for up to 2 s: the server notes a request after the
// client has already seen its outcome.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, ts := serve(t, mustParse(t, `{"rateLimit":{"perSecond":10,"burst":10},"scans":[]}`), c)
	burst := func(n int) (ok, limited int) {
		for range n {
			r := get(t, ts.URL, prPath, standardAuth())
			switch r.status {
			case 200:
				ok++
			case 429:
				limited++
				if r.header.Get("Retry-After") != "" {
					t.Error("429 carries Retry-After; the vendor sends no rate-limit headers")
				}
			default:
				t.Fatalf("status %d", r.status)
			}
		}
		return ok, limited
	}
	type counts struct{ OK, Limited int }
	var got []counts
	for _, step := range []time.Duration{0, 100 * time.Millisecond, time.Second, 10 * time.Second} {
		c.Advance(step)
		ok, lim := burst(12)
		got = append(got, counts{ok, lim})
	}
	want := []counts{{10, 2}, {1, 11}, {10, 2}, {10, 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per burst of 12 (-want +got):\n%s", diff)
	}
	if st := s.Stats(); st.Status[429] != 17 || st.Requests != 48 {
		t.Errorf("stats = %+v, want 17 answered 429 out of 48", st)
	}
}

// TestConcurrentGates has 30 clients share one tenant, as the gate's load
// tests do; run with -race.
func TestConcurrentGates(t *testing.T) {
	t.Parallel()
	s, ts := serve(t, mustLoad(t, "blocked-pr"), newClock())
	const gates = 30
	var wg sync.WaitGroup
	errs := make(chan error, gates)
	for range gates {
		wg.Go(func() {
			for range 6 {
				r := get(t, ts.URL, prPath+"?prId=42&repositories=payments-api", standardAuth())
				if r.status != 200 {
					errs <- fmt.Errorf("list: %d", r.status)
					return
				}
			}
			if r := get(t, ts.URL, issuesPath("sim-pr-42-blocked"), standardAuth()); r.status != 200 {
				errs <- fmt.Errorf("issues: %d", r.status)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := s.Stats()
	want := Stats{
		Requests:   gates * 7,
		ByEndpoint: map[string]int{"pr": gates * 6, "issues": gates},
		Status:     map[int]int{200: gates * 7},
		Polls:      map[string]int{"sim-pr-42-blocked": gates * 6},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestLogfNeverShowsCredentials(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lines []string
	s := New(mustLoad(t, "blocked-pr"), Options{Now: newClock().Now, Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	get(t, ts.URL, prPath+"?prId=42", standardAuth())
	get(t, ts.URL, prPath+"?prId=42", http.Header{"X-Xdr-Auth-Id": {DemoKeyID}, "Authorization": {"wrong-key-value"}})
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"GET /public_api/appsec/v1/scans/pr?prId=42 -> 200 0 of 0 scans at offset 0: sim-pr-42-blocked not yet listed (poll 1)",
		"GET /public_api/appsec/v1/scans/pr?prId=42 -> 401 unauthorized: wrong API key",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	for _, l := range lines {
		if strings.Contains(l, DemoKey) || strings.Contains(l, "wrong-key-value") {
			t.Errorf("log line shows a key: %s", l)
		}
	}
}

// TestInProcessReset checks a reset fault does not crash a writer that
// cannot be hijacked (the demo runs the simulator in process).
func TestInProcessReset(t *testing.T) {
	t.Parallel()
	s := New(mustParse(t, `{"faults":[{"kind":"reset"}],"scans":[]}`), Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, prPath, nil)
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadGateway {
		t.Errorf("status %d, want 502", rec.Code)
	}
}

// BenchmarkHugePage measures one deep page of huge-pr: a filtered issue page
// (the filter makes the server walk the list) and an unfiltered findings page.
func BenchmarkHugePage(b *testing.B) {
	s := New(mustLoad(b, "huge-pr"), Options{})
	for name, target := range map[string]string{
		"issues-filtered": issuesPath("sim-pr-42-huge") + "?severity=Low&offset=15000&limit=100",
		"findings-deep":   findingsPath("sim-pr-42-huge") + "?offset=99000&limit=100",
	} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header = standardAuth()
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

func BenchmarkNewHuge(b *testing.B) {
	sc := mustLoad(b, "huge-pr")
	for b.Loop() {
		New(sc, Options{})
	}
}
