package config

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/google/go-cmp/cmp"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	s, err := Parse(Sources{Getenv: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.APIKeyType, s.ScanType, s.LookbackDays, s.MaxScanAge, s.Timeout, s.PollInterval, s.FailOnSeverity,
		s.Mode, s.OnError, s.PartialScan, s.Comment, s.CheckRun, s.MaxCommentItems, s.RateLimit}
	want := []any{cortex.KeyStandard, ScanTypeAuto, 1, time.Hour, 30 * time.Minute, 15 * time.Second, cortex.SeverityUnknown,
		ModeEnforce, OnErrorFail, PartialAccept, CommentAuto, false, 25, 4.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if len(s.Missing()) != 3 {
		t.Errorf("Missing() = %q, want the three credentials", s.Missing())
	}
}

// TestPrecedence: flag > action input > environment > detected > default.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      map[string]string
		env        map[string]string
		detected   map[string]string
		want       string
		wantOrigin string
	}{
		{"default", nil, nil, nil, "", "default"},
		{"detected", nil, nil, map[string]string{"repository": "det"}, "det", "detected"},
		{"env over detected", nil, map[string]string{"CORTEX_REPOSITORY": "env"}, map[string]string{"repository": "det"}, "env", "CORTEX_REPOSITORY"},
		{"input over env", nil, map[string]string{"INPUT_REPOSITORY": "in", "CORTEX_REPOSITORY": "env"}, nil, "in", "input repository"},
		{"empty input falls through", nil, map[string]string{"INPUT_REPOSITORY": " ", "CORTEX_REPOSITORY": "env"}, nil, "env", "CORTEX_REPOSITORY"},
		{"flag over all", map[string]string{"repository": "flag"}, map[string]string{"INPUT_REPOSITORY": "in"}, map[string]string{"repository": "det"}, "flag", "flag --repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := Parse(Sources{Flags: tt.flags, Getenv: envOf(tt.env), Detected: tt.detected})
			if s.Repository != tt.want || s.Origin["repository"] != tt.wantOrigin {
				t.Errorf("repository = %q from %q, want %q from %q", s.Repository, s.Origin["repository"], tt.want, tt.wantOrigin)
			}
		})
	}
}

// TestHyphenatedInputs: GitHub keeps the hyphen in INPUT_API-URL.
func TestHyphenatedInputs(t *testing.T) {
	t.Parallel()
	s, err := Parse(Sources{Getenv: envOf(map[string]string{
		"INPUT_API-URL": "https://api-x.example", "INPUT_API-KEY-ID": "7", "INPUT_API-KEY": "k3y-s3cret",
		"INPUT_FAIL-ON-SEVERITY": "HIGH", "INPUT_CHECK-RUN": "true", "GITHUB_TOKEN": "ghs_x",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if s.APIURL != "https://api-x.example" || s.APIKeyID != "7" || s.APIKey != "k3y-s3cret" ||
		s.FailOnSeverity != cortex.SeverityHigh || !s.CheckRun || s.GitHubToken != "ghs_x" {
		t.Errorf("settings = %+v", s)
	}
	if len(s.Missing()) != 0 {
		t.Errorf("Missing() = %q", s.Missing())
	}
}

// TestEveryProblemAtOnce: one error lists each bad setting with what is accepted.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := Parse(Sources{Getenv: envOf(map[string]string{
		"CORTEX_TIMEOUT":          "soon",
		"CORTEX_MODE":             "strict",
		"CORTEX_LOOKBACK_DAYS":    "-1",
		"CORTEX_FAIL_ON_SEVERITY": "urgent",
		"CORTEX_API_KEY_TYPE":     "hmac",
		"CORTEX_RATE_LIMIT":       "0",
		"CORTEX_CHECK_RUN":        "maybe",
		"CORTEX_PR_ID":            "abc",
		"CORTEX_COMMIT_SHA":       "xyz",
		"CORTEX_SCAN_TYPE":        "nightly",
	})})
	if err == nil {
		t.Fatal("no error for ten bad settings")
	}
	msg := err.Error()
	for _, want := range []string{
		`invalid timeout "soon" (from CORTEX_TIMEOUT): want a positive duration`,
		`invalid mode "strict" (from CORTEX_MODE): want one of enforce, report`,
		`invalid lookback-days "-1"`, `want a whole number from 1 to 365`,
		`invalid fail-on-severity "urgent"`, `critical, high, medium, low`,
		`invalid api-key-type "hmac" (from CORTEX_API_KEY_TYPE): want one of standard, advanced`,
		`invalid rate-limit "0"`, `invalid check-run "maybe"`, `want true or false`,
		`invalid pr-id "abc"`, `invalid commit-sha "xyz"`,
		`invalid scan-type "nightly" (from CORTEX_SCAN_TYPE): want one of auto, pr, ci`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 10 {
		t.Errorf("error has %d lines, want one per problem (10):\n%s", n, msg)
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	t.Parallel()
	// A malformed secret setting can only be wrong by being absent, but the
	// error path must hide it all the same.
	p := parser{src: Sources{Getenv: envOf(map[string]string{"CORTEX_API_KEY": "sup3r-s3cret"})}, s: &Settings{Origin: map[string]string{}}}
	p.raw("api-key")
	p.fail("api-key", "sup3r-s3cret", "whatever")
	if strings.Contains(p.errs[0].Error(), "sup3r") {
		t.Errorf("error shows the key: %v", p.errs[0])
	}
}

func TestDurationsAcceptBareSeconds(t *testing.T) {
	t.Parallel()
	s, err := Parse(Sources{Getenv: envOf(map[string]string{"CORTEX_POLL_INTERVAL": "20", "CORTEX_TIMEOUT": "10m"})})
	if err != nil {
		t.Fatal(err)
	}
	if s.PollInterval != 20*time.Second {
		t.Errorf("poll-interval = %s, want 20s", s.PollInterval)
	}
	_, err = Parse(Sources{Getenv: envOf(map[string]string{"CORTEX_POLL_INTERVAL": "1h", "CORTEX_TIMEOUT": "10m"})})
	if err == nil || !strings.Contains(err.Error(), "want at most the timeout") {
		t.Errorf("poll-interval over the timeout: err = %v", err)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	set := RegisterFlags(fs)
	if err := fs.Parse([]string{"--check-run", "--timeout", "5m", "--repository=r"}); err != nil {
		t.Fatal(err)
	}
	got := set()
	want := map[string]string{"check-run": "true", "timeout": "5m", "repository": "r"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags set (-want +got):\n%s", diff)
	}
}

func TestDefinitionsAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, d := range Definitions {
		if seen[d.Name] || seen[d.Env] {
			t.Errorf("duplicate setting %s / %s", d.Name, d.Env)
		}
		seen[d.Name], seen[d.Env] = true, true
	}
}
