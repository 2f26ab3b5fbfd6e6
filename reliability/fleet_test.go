package reliability

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/simulator"
)

// fleetSize is how many pipelines share the tenant at once.
const fleetSize = 25

// TestFleetSharesTenantRateLimit starts 25 gates at the same moment against
// one tenant whose API allows 10 requests per second for everyone, each
// waiting for its own PR's scan, which appears after one to three polls and
// finishes one or two polls later (scans of different sizes). Every gate must reach its own verdict, and the fleet must
// stay mostly within the tenant's budget: 429s are retried, but a fleet that
// lives on 429s slows every pipeline of the tenant.
func TestFleetSharesTenantRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("25 gates for about 15 s")
	}
	t.Parallel()
	var scans []string
	want := map[string]int{}
	for i := range fleetSize {
		pr := fmt.Sprint(100 + i)
		common := fmt.Sprintf(`"type": "pr", "scanId": "fleet-pr-%s", "organizationName": "acme", "repoName": "payments-api",
			"pullRequestId": "%s", "commitId": "%s", "ageSeconds": 10, "appearAfterPolls": %d, "inProgressPolls": %d`, pr, pr, commit, 1+i%3, 1+i%2)
		if i%3 == 0 {
			scans = append(scans, `{`+common+`, "status": "FAILED", "blockingPolicies": [{"id": "p1", "name": "Block critical CVEs"}],
				"issues": [{"severity": "Critical", "alert_name": "CVE-2021-44228 in log4j"}]}`)
			want[pr] = 1
		} else {
			scans = append(scans, `{`+common+`, "status": "PASSED", "issues": [{"severity": "Low", "alert_name": "minor"}]}`)
			want[pr] = 0
		}
	}
	sc := parseScenario(t, `{"rateLimit": {"perSecond": 10, "burst": 10}, "scans": [`+strings.Join(scans, ",")+`]}`)
	tl := &timeline{start: time.Now()}
	srv, sim := startSimulator(t, sc, simulator.Options{}, tl.wrap)

	start := time.Now()
	var wg sync.WaitGroup
	results := make([]run, fleetSize)
	for i := range fleetSize {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runGate(t, gateConfig{url: srv.URL, noFiles: true, flags: map[string]string{
				"pr-id": fmt.Sprint(100 + i), "timeout": "90s", "poll-interval": "3s",
				"rate-limit": "", // the default, as a pipeline would run it
			}})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	for i, r := range results {
		pr := fmt.Sprint(100 + i)
		if r.code != want[pr] {
			t.Errorf("gate of PR %s: exit %d, want %d: %s", pr, r.code, want[pr], r.lastStderrLine())
		}
	}
	st := sim.Stats()
	limited := st.Status[429]
	share := float64(limited) / float64(st.Requests)
	t.Logf("%d gates finished in %s: %d requests, %d answered 429 (%.1f%%), by endpoint %v",
		fleetSize, elapsed.Round(time.Millisecond), st.Requests, limited, 100*share, st.ByEndpoint)
	t.Logf("requests / 429s per second: %s", tl)
	// The first poll of 25 gates at once meets a bucket of 10: 15 429s are
	// unavoidable. Past that, the gates must back off, not hammer.
	if share > 0.20 {
		t.Errorf("%d of %d requests (%.0f%%) were rate limited, over the 20%% bound", limited, st.Requests, 100*share)
	}
	// The bucket starts full (10) and refills at 10 per second.
	if through, most := st.Requests-limited, 10+int(10*elapsed.Seconds()+0.5); through > most {
		t.Errorf("the tenant let %d requests through in %s, more than its bucket allows (%d): is the simulator's limit on?", through, elapsed, most)
	}
}

// timeline counts requests and 429s per second since start.
type timeline struct {
	start time.Time
	mu    sync.Mutex
	secs  [][2]int
}

func (tl *timeline) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		sec := int(time.Since(tl.start).Seconds())
		tl.mu.Lock()
		for len(tl.secs) <= sec {
			tl.secs = append(tl.secs, [2]int{})
		}
		tl.secs[sec][0]++
		if rec.Code == http.StatusTooManyRequests {
			tl.secs[sec][1]++
		}
		tl.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (tl *timeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	parts := make([]string, len(tl.secs))
	for i, s := range tl.secs {
		parts[i] = fmt.Sprintf("%d/%d", s[0], s[1])
	}
	return strings.Join(parts, " ")
}
