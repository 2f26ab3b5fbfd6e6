package reliability

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cortex-gate/cortex-gate/simulator"
)

// Distinctive secrets: each holds a core no other text of a run holds, so
// a search finds them even cut short or re-encoded around the core.
const (
	secretKey         = "sk-test-SECRET-4f3a9b2c7d1e"
	secretGitHubToken = "ghs_SECRETtoken8e7d6c5b4a39"
	secretGitLabToken = "glpat-SECRET-1a2b3c4d5e6f"
)

var secretCores = map[string]string{
	secretKey: "4f3a9b2c7d1e", secretGitHubToken: "8e7d6c5b4a39", secretGitLabToken: "1a2b3c4d5e6f",
}

// TestSecretsNeverLeak runs the gate in GitHub Actions with debug logging on
// and distinctive credentials, through every kind of ending, and searches
// everything it wrote or sent for them: stdout (past the ::add-mask::
// lines, which must come first), stderr, the step outputs, the summary,
// every report file and every request body sent to GitHub.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	passed := prScan(`"inProgressPolls": 1, "status": "PASSED", "issues": [{"severity": "Low", "alert_name": "minor", "file_path": "a.go"}]`)
	blocked := prScan(`"status": "FAILED", "blockingPolicies": [{"id": "p1", "name": "Block critical CVEs"}],
		"issues": [{"severity": "Critical", "alert_name": "CVE-2021-44228 in log4j", "file_path": "pom.xml"}],
		"findings": [{"severity": "Critical", "name": "CVE-2021-44228", "file_path": "pom.xml"}]`)
	auth := func(typ string) string {
		return fmt.Sprintf(`"auth": {"keyId": "kid-1", "key": %q, "type": %q}`, secretKey, typ)
	}

	cases := []struct {
		name     string
		scenario string
		wrap     func(http.Handler) http.Handler
		env      map[string]string // on top of the Actions environment and the secrets
		noKey    bool
		fork     bool
		ghFail   bool
		flags    map[string]string
		wantCode int
		// wantEcho is text of the echoed request the gate must show (so
		// the test proves the echo reached the output, redacted).
		wantEcho string
	}{
		{name: "passed", scenario: `{` + auth("standard") + `, "scans": [` + passed + `]}`, wantCode: 0},
		{name: "blocked", scenario: `{` + auth("standard") + `, "scans": [` + blocked + `]}`, wantCode: 1},
		{name: "blocked, key as an action input", scenario: `{` + auth("standard") + `, "scans": [` + blocked + `]}`,
			env: map[string]string{"INPUT_API-KEY": secretKey, "CORTEX_API_KEY": ""}, wantCode: 1},
		{name: "error", scenario: `{` + auth("standard") + `, "scans": [` + prScan(`"health": "ERROR"`) + `]}`, wantCode: 2},
		{name: "timeout", scenario: `{` + auth("standard") + `, "scans": []}`, flags: map[string]string{"timeout": "1s"}, wantCode: 3},
		{name: "401", scenario: `{"auth": {"keyId": "kid-1", "key": "another-key"}, "scans": [` + passed + `]}`, wantCode: 2},
		{name: "a tenant that echoes the request headers", scenario: `{` + auth("standard") + `, "scans": [` + passed + `]}`,
			wrap: echoHeaders, wantCode: 2, wantEcho: "rejected request with headers"},
		{name: "fork PR without a key", scenario: `{` + auth("standard") + `, "scans": [` + passed + `]}`, noKey: true, fork: true, wantCode: 2},
		{name: "advanced key", scenario: `{` + auth("advanced") + `, "scans": [` + passed + `]}`,
			flags: map[string]string{"api-key-type": "advanced"}, wantCode: 0},
		{name: "GitHub fails and echoes the token", scenario: `{` + auth("standard") + `, "scans": [` + blocked + `]}`,
			ghFail: true, wantCode: 1, wantEcho: "upstream failed for request with headers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var wrap []func(http.Handler) http.Handler
			if tc.wrap != nil {
				wrap = append(wrap, tc.wrap)
			}
			srv, _ := startSimulator(t, parseScenario(t, tc.scenario), simulator.Options{}, wrap...)
			gh := newFakeGitHub(t, tc.ghFail)
			env := actionsEnv(t, gh, t.TempDir(), tc.fork)
			env["RUNNER_DEBUG"], env["ACTIONS_STEP_DEBUG"], env["CORTEX_DEBUG"] = "1", "true", "true"
			env["GITHUB_TOKEN"], env["GITLAB_TOKEN"] = secretGitHubToken, secretGitLabToken
			env["CORTEX_API_KEY"] = secretKey
			if tc.noKey {
				env["CORTEX_API_KEY"] = ""
			}
			for k, v := range tc.env {
				env[k] = v
			}
			flags := map[string]string{"api-key": "", "api-key-id": "kid-1", "check-run": "true", "timeout": "5s"}
			for k, v := range tc.flags {
				flags[k] = v
			}
			r := runGate(t, gateConfig{url: srv.URL, env: env, flags: flags})
			if r.code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.wantCode, r.stderr)
			}
			checkLastLine(t, r)

			secrets := []string{secretGitHubToken, secretGitLabToken}
			if !tc.noKey {
				secrets = append(secrets, secretKey)
			}
			rest := checkMasksFirst(t, r.stdout, secrets)
			places := map[string]string{"stdout after the masks": rest, "stderr": r.stderr}
			entries, err := os.ReadDir(r.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				places[e.Name()] = string(b)
			}
			for i, req := range gh.posted() {
				places[fmt.Sprintf("GitHub request %d (%s %s) body", i, req.Method, req.Path)] = req.Body
				places[fmt.Sprintf("GitHub request %d (%s %s) URL", i, req.Method, req.Path)] = req.Path
			}
			if len(gh.posted()) == 0 && !tc.noKey {
				t.Errorf("nothing was sent to GitHub: the comment and check run were not tried")
			}
			if tc.wantEcho != "" && !strings.Contains(r.stderr+places["summary.md"], tc.wantEcho) {
				t.Errorf("the echoed request (%q) is not in stderr or the summary: the leak path was not exercised", tc.wantEcho)
			}
			for where, text := range places {
				for _, s := range []string{secretKey, secretGitHubToken, secretGitLabToken} {
					if strings.Contains(text, secretCores[s]) {
						t.Errorf("%s holds the secret %s…:\n%s", where, s[:8], excerpt(text, secretCores[s]))
					}
				}
			}
		})
	}
}

// checkMasksFirst asserts stdout opens with an ::add-mask:: line for every
// secret, before anything else, and returns the rest.
func checkMasksFirst(t *testing.T, stdout string, secrets []string) string {
	t.Helper()
	lines := strings.SplitAfter(stdout, "\n")
	masked := map[string]bool{}
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], "::add-mask::"); i++ {
		masked[strings.TrimSpace(strings.TrimPrefix(lines[i], "::add-mask::"))] = true
	}
	for _, s := range secrets {
		if !masked[s] {
			t.Errorf("stdout does not mask %s… before anything else is printed; it opens with:\n%s", s[:8], strings.Join(lines[:min(len(lines), 5)], ""))
		}
	}
	rest := strings.Join(lines[i:], "")
	for _, l := range lines[i:] {
		if strings.HasPrefix(l, "::add-mask::") {
			t.Errorf("an ::add-mask:: line comes after other output: %q", l)
		}
	}
	return rest
}

// echoHeaders answers every Cortex request with a 400 whose message quotes
// the request's headers, Authorization included, as a careless gateway
// does. A 400 is final: the gate must report it, without the key.
func echoHeaders(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errorCode": "BAD_REQUEST", "message": "rejected request with headers Authorization=%s x-xdr-auth-id=%s"}`,
			r.Header.Get("Authorization"), r.Header.Get("x-xdr-auth-id"))
	})
}

// excerpt is the text around needle.
func excerpt(text, needle string) string {
	i := strings.Index(text, needle)
	if i < 0 {
		return ""
	}
	return text[max(0, i-200):min(len(text), i+len(needle)+100)]
}
