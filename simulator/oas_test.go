package simulator

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cortex-gate/cortex-gate/internal/oas"
)

const vendorDoc = "../shared/cortex/appsec-papi.json"

// vendorDocFor is the vendor description the scenario's responses must match.
//
// The docs dialect is the one accepted deviation: the product documentation
// spells statuses "Blocked" / "Passed", which the spec's ScanStatus enum lacks
// (its description even lists BLOCKED, its enum does not). Real tenants send
// them, so the simulator does too, and its docs-dialect responses are checked
// against the spec with those spellings added to that enum and nothing else.
func vendorDocFor(t *testing.T, sc *Scenario) *oas.Doc {
	t.Helper()
	if sc.Dialect != "docs" {
		return oas.Load(t, vendorDoc)
	}
	return oas.LoadPatched(t, vendorDoc, func(spec *openapi3.T) {
		s := spec.Components.Schemas["ScanStatus"].Value
		s.Enum = append(s.Enum, "Blocked", "Passed")
	})
}

// TestBuiltinScenariosMatchVendorSpec drives every built-in scenario over
// real HTTP through the vendor description's validator: every request the
// test sends and every list page, issue page and finding page the simulator
// answers must validate.
func TestBuiltinScenariosMatchVendorSpec(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := mustLoad(t, name)
			c := newClock()
			s := New(sc, Options{Now: c.Now})
			ts := httptest.NewServer(vendorDocFor(t, sc).Middleware(t, s, oas.Options{}))
			defer ts.Close()
			auth := func() http.Header {
				if sc.Auth != nil && sc.Auth.Type == "advanced" {
					return advancedAuth(DemoKeyID, DemoKey, c.Now())
				}
				return standardAuth()
			}

			for _, scan := range sc.Scans {
				q := url.Values{"repositories": {scan.RepoName}, "organizationName": {scan.OrganizationName}, "days": {"1"}}
				if scan.Type == "pr" {
					q.Set("prId", scan.PullRequestID)
				}
				path := prPath
				if scan.Type == "ci" {
					path = ciPath
				}
				// Poll until the scan is final, as a gate would.
				final := false
				for range 10 {
					for _, it := range get(t, ts.URL, path+"?"+q.Encode(), auth()).list(t) {
						if it["scanId"] == scan.ScanID && it["scanHealth"] != "IN_PROGRESS" {
							final = true
						}
					}
					if final {
						break
					}
				}
				if !final {
					t.Fatalf("scan %s never finished within 10 polls", scan.ScanID)
				}
				// A second page, a filtered list and a small page.
				get(t, ts.URL, path+"?"+q.Encode()+"&offset=100", auth()).list(t)
				get(t, ts.URL, path+"?scanHealth=COMPLETED&limit=1", auth()).list(t)

				for _, ep := range []string{issuesPath(scan.ScanID), findingsPath(scan.ScanID)} {
					first := get(t, ts.URL, ep, auth()).list(t)
					get(t, ts.URL, ep+"?severity=Critical&limit=50", auth()).list(t)
					if len(first) == 100 { // a generated scan: look deep into it too
						get(t, ts.URL, ep+"?offset=49900&limit=500", auth()).list(t)
					}
				}
			}
		})
	}
}

// TestDocsDialectDeviatesOnlyInStatus proves the one accepted deviation is
// exactly that: against the unpatched spec, blocked-pr-docs fails on the
// status enum and nowhere else.
func TestDocsDialectDeviatesOnlyInStatus(t *testing.T) {
	t.Parallel()
	sc := mustLoad(t, "blocked-pr-docs")
	c := newClock()
	_, ts := serve(t, sc, c)
	var items []map[string]any
	for range 5 {
		r := get(t, ts.URL, prPath+"?prId=42", standardAuth())
		items = r.list(t)
		if len(items) == 1 && items[0]["scanHealth"] == "COMPLETED" {
			err := oas.Load(t, vendorDoc).ValidateResponse("GET", prPath, 200, r.header, r.body)
			want := `response 200 does not match ../shared/cortex/appsec-papi.json: response body doesn't match schema: Error at "/0/pullRequestStatus": value is not one of the allowed values`
			if err == nil || !startsWith(err.Error(), want) {
				t.Errorf("validation error = %v, want one starting %q", err, want)
			}
			return
		}
	}
	t.Fatalf("scan never completed: %v", items)
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// TestFilledDefaultsMatchVendorSpec checks that an issue and a finding that
// name almost nothing come out with every field the vendor requires.
func TestFilledDefaultsMatchVendorSpec(t *testing.T) {
	t.Parallel()
	sc := mustParse(t, `{"scans":[{"type":"ci","scanId":"s1","repoName":"r",
		"issues":[{"alert_name":"x"}], "findings":[{}]}]}`)
	_, ts := serve(t, sc, newClock())
	doc := oas.Load(t, vendorDoc)
	for _, p := range []string{issuesPath("s1"), findingsPath("s1"), ciPath} {
		r := get(t, ts.URL, p, standardAuth())
		if err := doc.ValidateResponse("GET", p, r.status, r.header, r.body); err != nil {
			t.Errorf("GET %s: %v", p, err)
		}
		if n := len(r.list(t)); n != 1 {
			t.Errorf("GET %s: %d items, want 1", p, n)
		}
	}
}
