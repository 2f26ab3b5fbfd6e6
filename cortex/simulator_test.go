package cortex_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/internal/oas"
	"github.com/cortex-gate/cortex-gate/simulator"
)

// The client against the simulator, with every request checked against the
// vendor's OpenAPI description (query parameters declared per endpoint,
// required headers) and, where the simulator serves the spec dialect,
// every response too.

const vendorSpec = "../shared/cortex/appsec-papi.json"

type simEnv struct {
	sim    *simulator.Server
	client *cortex.Client
}

func newSimEnv(t *testing.T, sc *simulator.Scenario, opts oas.Options, mods ...func(*cortex.Config)) simEnv {
	t.Helper()
	doc := oas.Load(t, vendorSpec)
	sim := simulator.New(sc, simulator.Options{Logf: t.Logf})
	srv := httptest.NewServer(doc.Middleware(t, sim, opts))
	t.Cleanup(srv.Close)

	cfg := cortex.Config{
		BaseURL:      srv.URL + "/public_api/v1/", // as pasted from the console: stripped
		KeyID:        simulator.DemoKeyID,
		Key:          simulator.DemoKey,
		RateLimit:    1000,
		MaxRetryTime: 3 * time.Second,
		HTTPClient:   srv.Client(),
		Debugf:       t.Logf,
	}
	if a := sc.Auth; a != nil {
		cfg.KeyID = cmpOr(a.KeyID, cfg.KeyID)
		cfg.Key = cmpOr(a.Key, cfg.Key)
		cfg.KeyType = cortex.KeyType(a.Type)
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := cortex.New(cfg)
	if err != nil {
		t.Fatalf("cortex.New() error = %v", err)
	}
	return simEnv{sim: sim, client: c}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func loadScenario(t *testing.T, name string) *simulator.Scenario {
	t.Helper()
	sc, err := simulator.Load(name)
	if err != nil {
		t.Fatalf("simulator.Load(%q) error = %v", name, err)
	}
	return sc
}

// pollFinal lists both scan types until every scan of the scenario is listed
// with a final health, as the gate's wait loop would.
func pollFinal(t *testing.T, c *cortex.Client, sc *simulator.Scenario) map[string]cortex.Scan {
	t.Helper()
	ctx := context.Background()
	for range 10 {
		got := map[string]cortex.Scan{}
		pr, err := c.ListPRScans(ctx, cortex.PRScanQuery{Organization: "acme", Days: 1})
		if err != nil {
			t.Fatalf("ListPRScans() error = %v", err)
		}
		ci, err := c.ListCIScans(ctx, cortex.CIScanQuery{Organization: "acme", Days: 1})
		if err != nil {
			t.Fatalf("ListCIScans() error = %v", err)
		}
		for _, s := range slices.Concat(pr, ci) {
			got[s.ID] = s
		}
		done := true
		for _, want := range sc.Scans {
			if s, ok := got[want.ScanID]; !ok || !s.Final() {
				done = false
			}
		}
		if done {
			return got
		}
	}
	t.Fatalf("scenario %s: scans not final after 10 polls", sc.Name)
	return nil
}

func TestSimulatorScenarios(t *testing.T) {
	t.Parallel()
	for _, name := range simulator.Names() {
		if name == "huge-pr" {
			continue // TestSimulatorHugeScan
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := loadScenario(t, name)
			// The docs dialect spells statuses the product docs' way, which the
			// vendor description's enums do not allow: check its requests only.
			env := newSimEnv(t, sc, oas.Options{SkipResponses: sc.Dialect == "docs"})
			scans := pollFinal(t, env.client, sc)
			for _, want := range sc.Scans {
				s := scans[want.ScanID]
				if s.Type != cortex.ScanType(want.Type) || s.RepoName != want.RepoName || s.PullRequestID != want.PullRequestID || s.CommitID != want.CommitID {
					t.Errorf("%s: scan = %+v, want type %s, repo %s, PR %q, commit %q", want.ScanID, s, want.Type, want.RepoName, want.PullRequestID, want.CommitID)
				}
				if want.Health != "" && s.Health != want.Health {
					t.Errorf("%s: Health = %q, want %q verbatim", want.ScanID, s.Health, want.Health)
				}
				if want.Status != "" && s.Status != want.Status {
					t.Errorf("%s: Status = %q, want %q verbatim", want.ScanID, s.Status, want.Status)
				}
				wantNames, wantIDs := []string{}, []string{}
				for _, p := range want.BlockingPolicies {
					wantNames, wantIDs = append(wantNames, p.Name), append(wantIDs, p.ID)
				}
				if diff := cmp.Diff(wantNames, s.BlockingPolicyNames); diff != "" {
					t.Errorf("%s: blocking policy names (-want +got):\n%s", want.ScanID, diff)
				}
				if diff := cmp.Diff(wantIDs, s.BlockingPolicyIDs); diff != "" {
					t.Errorf("%s: blocking policy ids (-want +got):\n%s", want.ScanID, diff)
				}
				if s.Date.IsZero() || s.DateRaw == "" {
					t.Errorf("%s: scanDate %q read as %v", want.ScanID, s.DateRaw, s.Date)
				}

				issues, err := env.client.Issues(context.Background(), s.ID)
				if err != nil {
					t.Fatalf("Issues(%s) error = %v", s.ID, err)
				}
				if n, known := s.IssueCount(); !known || n != len(issues) || n != len(want.Issues) {
					t.Errorf("%s: %d issues listed, issuesFound says %d (known %v), scenario has %d", s.ID, len(issues), n, known, len(want.Issues))
				}
				findings, err := env.client.Findings(context.Background(), s.ID)
				if err != nil {
					t.Fatalf("Findings(%s) error = %v", s.ID, err)
				}
				if n, known := s.FindingCount(); !known || n != len(findings) || n != len(want.Findings) {
					t.Errorf("%s: %d findings listed, findingsSeverityBreakdown says %d (known %v), scenario has %d", s.ID, len(findings), n, known, len(want.Findings))
				}
				for i, is := range issues {
					if is.ID == "" || is.ScanID != s.ID || cortex.ParseSeverity(is.Severity) == cortex.SeverityUnknown {
						t.Errorf("%s: issue %d = %+v, want an id, the scan id and a known severity", s.ID, i, is)
					}
				}
			}
		})
	}
}

func TestSimulatorHugeScan(t *testing.T) {
	t.Parallel()
	if testing.Short() || raceEnabled {
		t.Skip("150,000 items over HTTP: seconds normally, a minute under -race")
	}
	sc := loadScenario(t, "huge-pr")
	// Pages of 1,000; requests are validated, the 150 large bodies are not
	// (the simulator's own tests validate its responses).
	env := newSimEnv(t, sc, oas.Options{SkipResponses: true}, func(cfg *cortex.Config) { cfg.PageSize = 1000 })
	scans := pollFinal(t, env.client, sc)
	s := scans["sim-pr-42-huge"]
	issues, err := env.client.Issues(context.Background(), s.ID)
	if err != nil {
		t.Fatalf("Issues() error = %v", err)
	}
	findings, err := env.client.Findings(context.Background(), s.ID)
	if err != nil {
		t.Fatalf("Findings() error = %v", err)
	}
	ni, _ := s.IssueCount()
	nf, _ := s.FindingCount()
	if len(issues) != 50000 || ni != 50000 || len(findings) != 100000 || nf != 100000 {
		t.Errorf("got %d issues (counted %d), %d findings (counted %d); want 50,000 and 100,000", len(issues), ni, len(findings), nf)
	}
}

func TestSimulatorWrongKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sc   string
		mod  func(*cortex.Config)
	}{
		{"wrong standard key", "passed-pr", func(cfg *cortex.Config) { cfg.Key = "wrong-key-value" }},
		{"standard key on an advanced tenant", "advanced-key", func(cfg *cortex.Config) { cfg.KeyType = cortex.KeyStandard }},
		{"advanced key with a wrong clock", "advanced-key", func(cfg *cortex.Config) {
			cfg.Now = func() time.Time { return time.Now().Add(-time.Hour) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := loadScenario(t, tt.sc)
			env := newSimEnv(t, sc, oas.Options{}, tt.mod)
			_, err := env.client.ListPRScans(context.Background(), cortex.PRScanQuery{})
			var ae *cortex.APIError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
				t.Fatalf("ListPRScans() error = %v, want a 401 *APIError", err)
			}
			if !strings.Contains(err.Error(), "check api-key-id, api-key and api-key-type") {
				t.Errorf("error = %q, want the 401 hint", err)
			}
			if strings.Contains(err.Error(), simulator.DemoKey) || strings.Contains(err.Error(), "wrong-key-value") {
				t.Errorf("error = %q shows the key", err)
			}
			if n := env.sim.Stats().Requests; n != 1 {
				t.Errorf("%d requests, want 1: a 401 is not retried", n)
			}
		})
	}
}

// TestSimulatorFaults runs the client through the simulator's misbehaviours:
// each transient one is retried away, each permanent one is reported.
func TestSimulatorFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault   string // JSON of one fault
		env     string // envelope
		wantErr string // "" = recovered
		issues  int    // issues listed when recovered; 0 = all 250
	}{
		{fault: `{"kind":"status","status":503,"times":2}`},
		{fault: `{"kind":"status","status":429,"times":1}`},
		{fault: `{"kind":"status","status":502,"times":1,"endpoint":"issues"}`},
		{fault: `{"kind":"reset","times":1}`},
		{fault: `{"kind":"truncate","times":1}`},
		{fault: `{"kind":"hang","times":1}`},
		{fault: `{"kind":"html","status":504,"times":1}`},
		// Offset ignored: the second page repeats the first and ends the listing.
		{fault: `{"kind":"ignoreOffset","endpoint":"issues"}`, issues: 250}, // the first page (limit 1000) holds them all; the repeat ends the listing
		{fault: `{"kind":"delay","delayMs":5,"times":3}`, env: "reply.data"},
		{fault: `{"kind":"status","status":403}`, wantErr: "403 Forbidden"},
		{fault: `{"kind":"status","status":402}`, wantErr: "402 Payment Required"},
		{fault: `{"kind":"malformed"}`, wantErr: "malformed response: invalid JSON"},
		{fault: `{"kind":"empty"}`, wantErr: "malformed response: empty body"},
		{fault: `{"kind":"html"}`, wantErr: "malformed response: the server sent an HTML page"},
		{fault: `{"kind":"status","status":500}`, wantErr: "500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.fault+tt.env, func(t *testing.T) {
			t.Parallel()
			sc, err := simulator.Parse([]byte(`{"envelope":"` + tt.env + `","faults":[` + tt.fault + `],"scans":[
			  {"type":"pr","scanId":"f1","organizationName":"acme","repoName":"r","pullRequestId":"1","ageSeconds":5,
			   "generate":{"issues":250,"seed":3}}]}`))
			if err != nil {
				t.Fatalf("simulator.Parse() error = %v", err)
			}
			sc.Name = "faults"
			env := newSimEnv(t, sc, oas.Options{SkipResponses: true}, func(cfg *cortex.Config) {
				cfg.RequestTimeout = 200 * time.Millisecond
				cfg.MaxRetryTime = time.Second // retries start at 125ms
			})
			ctx := context.Background()
			scans, err := env.client.ListPRScans(ctx, cortex.PRScanQuery{PRID: "1"})
			var issues []cortex.Issue
			if err == nil {
				issues, err = env.client.Issues(ctx, "f1")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v, want the fault retried away", err)
			}
			want := 250
			if tt.issues != 0 {
				want = tt.issues
			}
			if len(scans) != 1 || len(issues) != want {
				t.Errorf("got %d scans and %d issues, want 1 and %d", len(scans), len(issues), want)
			}
		})
	}
}

// TestSimulatorRateLimit: a tenant allowing 40 requests a second (bursts of
// 20) and a client asking for at most 20 (bursts of a second's worth, 20)
// never meet a 429.
func TestSimulatorRateLimit(t *testing.T) {
	t.Parallel()
	sc, err := simulator.Parse([]byte(`{"rateLimit":{"perSecond":40,"burst":20},"scans":[
	  {"type":"ci","scanId":"c1","organizationName":"acme","repoName":"r","ageSeconds":5,"generate":{"issues":95,"seed":1}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	env := newSimEnv(t, sc, oas.Options{}, func(cfg *cortex.Config) { cfg.RateLimit = 20; cfg.PageSize = 10 })
	issues, err := env.client.Issues(context.Background(), "c1")
	if err != nil || len(issues) != 95 {
		t.Fatalf("Issues() = %d, %v; want 95", len(issues), err)
	}
	if st := env.sim.Stats(); st.Status[http.StatusTooManyRequests] != 0 || st.Requests != 10 {
		t.Errorf("simulator saw %d requests, %d answered 429; want 10 and none", st.Requests, st.Status[http.StatusTooManyRequests])
	}
}
