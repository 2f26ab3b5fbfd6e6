// Package config reads cortex-gate's settings from flags, GitHub Actions
// inputs, environment variables, the detected CI context and defaults, in
// that order of precedence, and validates them all at once.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// Settings is every setting of the gate, parsed and validated.
type Settings struct {
	APIURL     string
	APIKeyID   string
	APIKey     string
	APIKeyType cortex.KeyType

	ScanType     ScanTypeSetting
	ScanID       string
	Organization string
	Repository   string
	Branch       string
	PRID         string
	CommitSHA    string

	LookbackDays int
	MaxScanAge   time.Duration
	Timeout      time.Duration
	PollInterval time.Duration

	FailOnSeverity cortex.Severity // SeverityUnknown: off
	Mode           Mode
	OnError        OnError
	PartialScan    PartialScan

	Comment         CommentSetting
	CheckRun        bool
	GitHubToken     string
	GitLabToken     string
	JSONFile        string
	SARIFFile       string
	JUnitFile       string
	CodeQualityFile string
	MaxCommentItems int
	RateLimit       float64
	CACert          string

	// Origin says where each setting's value came from, by setting name:
	// "flag", "input", "CORTEX_TIMEOUT", "detected" or "default".
	Origin map[string]string
}

// Definition describes one setting as users meet it.
type Definition struct {
	Name    string // flag and action input name
	Env     string // environment variable
	Default string
	Usage   string
	Secret  bool // never printed
	Bool    bool // a flag that may be given without a value
}

// Definitions lists every setting, in the order SPEC.md documents them.
var Definitions = []Definition{
	{Name: "api-url", Env: "CORTEX_API_URL", Usage: "Cortex tenant API URL (required)"},
	{Name: "api-key-id", Env: "CORTEX_API_KEY_ID", Usage: "Cortex API key ID (required)"},
	{Name: "api-key", Env: "CORTEX_API_KEY", Usage: "Cortex API key (required; never printed)", Secret: true},
	{Name: "api-key-type", Env: "CORTEX_API_KEY_TYPE", Default: "standard", Usage: "standard or advanced"},
	{Name: "scan-type", Env: "CORTEX_SCAN_TYPE", Default: "auto", Usage: "pr, ci, or auto (pr when the run is for a PR/MR)"},
	{Name: "scan-id", Env: "CORTEX_SCAN_ID", Usage: "gate on this Cortex scan id instead of finding it by PR or commit"},
	{Name: "organization", Env: "CORTEX_ORGANIZATION", Usage: "organizationName filter (default: detected owner or namespace)"},
	{Name: "repository", Env: "CORTEX_REPOSITORY", Usage: "repository name (default: detected)"},
	{Name: "branch", Env: "CORTEX_BRANCH", Usage: "branch (default: detected)"},
	{Name: "pr-id", Env: "CORTEX_PR_ID", Usage: "pull/merge request number (default: detected)"},
	{Name: "commit-sha", Env: "CORTEX_COMMIT_SHA", Usage: "head commit (default: detected)"},
	{Name: "lookback-days", Env: "CORTEX_LOOKBACK_DAYS", Default: "1", Usage: "days filter of the scan lists"},
	{Name: "max-scan-age", Env: "CORTEX_MAX_SCAN_AGE", Default: "1h", Usage: "CI scans without a commit id: newest scan not older than this"},
	{Name: "timeout", Env: "CORTEX_TIMEOUT", Default: "30m", Usage: "total time to wait for the scan to appear and finish"},
	{Name: "poll-interval", Env: "CORTEX_POLL_INTERVAL", Default: "15s", Usage: "longest wait between polls; polling starts faster"},
	{Name: "fail-on-severity", Env: "CORTEX_FAIL_ON_SEVERITY", Usage: "also block on an unresolved issue at least critical, high, medium or low"},
	{Name: "mode", Env: "CORTEX_MODE", Default: "enforce", Usage: "enforce, or report (a block is reported but exits 0)"},
	{Name: "on-error", Env: "CORTEX_ON_ERROR", Default: "fail", Usage: "fail, or pass (an error or timeout exits 0 with a warning)"},
	{Name: "partial-scan", Env: "CORTEX_PARTIAL_SCAN", Default: "accept", Usage: "PARTIALLY_COMPLETED scans: accept (decide, and warn) or fail"},
	{Name: "comment", Env: "CORTEX_COMMENT", Default: "auto", Usage: "auto (sticky PR/MR comment when there is a PR/MR and a token) or off"},
	{Name: "check-run", Env: "CORTEX_CHECK_RUN", Default: "false", Usage: "also create a GitHub check run with annotations", Bool: true},
	{Name: "github-token", Env: "GITHUB_TOKEN", Usage: "GitHub token for the PR comment and check run", Secret: true},
	{Name: "gitlab-token", Env: "GITLAB_TOKEN", Usage: "GitLab project or personal token for MR notes", Secret: true},
	{Name: "json-file", Env: "CORTEX_JSON_FILE", Usage: "write the JSON report here"},
	{Name: "sarif-file", Env: "CORTEX_SARIF_FILE", Usage: "write a SARIF 2.1.0 report here"},
	{Name: "junit-file", Env: "CORTEX_JUNIT_FILE", Usage: "write a JUnit XML report here"},
	{Name: "codequality-file", Env: "CORTEX_CODEQUALITY_FILE", Usage: "write a GitLab Code Quality report here"},
	{Name: "max-comment-items", Env: "CORTEX_MAX_COMMENT_ITEMS", Default: "25", Usage: "issues listed in full in the comment"},
	{Name: "rate-limit", Env: "CORTEX_RATE_LIMIT", Default: "4", Usage: "Cortex requests per second, at most"},
	{Name: "ca-cert", Env: "CORTEX_CA_CERT", Usage: "PEM file trusted in addition to the system roots"},
}

// Sources are where settings come from, besides the defaults.
type Sources struct {
	// Flags holds the flags given on the command line, by setting name.
	Flags map[string]string
	// Getenv reads the environment: action inputs (INPUT_<NAME>) and variables.
	Getenv func(string) string
	// Detected holds values from the CI context, by setting name.
	Detected map[string]string
}

// InputEnv is the variable GitHub Actions passes an input in: the name
// upper-cased with hyphens kept (INPUT_API-URL), as the runner does.
func InputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// lookup finds a setting's raw value and where it came from.
func (s Sources) lookup(d Definition) (value, origin string) {
	if v, ok := s.Flags[d.Name]; ok {
		return v, "flag --" + d.Name
	}
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	// GitHub passes every declared input, empty when the user gave none,
	// so an empty input falls through to the environment.
	if v := strings.TrimSpace(getenv(InputEnv(d.Name))); v != "" {
		return v, "input " + d.Name
	}
	if v := strings.TrimSpace(getenv(d.Env)); v != "" {
		return v, d.Env
	}
	if v := s.Detected[d.Name]; v != "" {
		return v, "detected"
	}
	return d.Default, "default"
}

// Parse reads and validates every setting. The error joins one line per
// problem, each naming the setting, where its value came from, and the
// accepted values.
func Parse(src Sources) (*Settings, error) {
	p := parser{src: src, s: &Settings{Origin: map[string]string{}}}
	s := p.s
	s.APIURL = p.str("api-url")
	s.APIKeyID = p.str("api-key-id")
	s.APIKey = p.str("api-key")
	s.APIKeyType = cortex.KeyType(p.enum("api-key-type", string(cortex.KeyStandard), string(cortex.KeyAdvanced)))
	s.ScanType = ScanTypeSetting(p.enum("scan-type", string(ScanTypeAuto), string(ScanTypePR), string(ScanTypeCI)))
	s.ScanID = p.str("scan-id")
	s.Organization = p.str("organization")
	s.Repository = p.str("repository")
	s.Branch = p.str("branch")
	s.PRID = strings.TrimPrefix(p.str("pr-id"), "#")
	s.CommitSHA = strings.ToLower(p.str("commit-sha"))
	s.LookbackDays = p.integer("lookback-days", 1, 365)
	s.MaxScanAge = p.duration("max-scan-age")
	s.Timeout = p.duration("timeout")
	s.PollInterval = p.duration("poll-interval")
	s.FailOnSeverity = p.threshold("fail-on-severity")
	s.Mode = Mode(p.enum("mode", string(ModeEnforce), string(ModeReport)))
	s.OnError = OnError(p.enum("on-error", string(OnErrorFail), string(OnErrorPass)))
	s.PartialScan = PartialScan(p.enum("partial-scan", string(PartialAccept), string(PartialFail)))
	s.Comment = CommentSetting(p.enum("comment", string(CommentAuto), string(CommentOff)))
	s.CheckRun = p.boolean("check-run")
	s.GitHubToken = p.str("github-token")
	s.GitLabToken = p.str("gitlab-token")
	s.JSONFile = p.str("json-file")
	s.SARIFFile = p.str("sarif-file")
	s.JUnitFile = p.str("junit-file")
	s.CodeQualityFile = p.str("codequality-file")
	s.MaxCommentItems = p.integer("max-comment-items", 0, 10000)
	s.RateLimit = p.rate("rate-limit")
	s.CACert = p.str("ca-cert")

	if s.PRID != "" {
		if n, err := strconv.Atoi(s.PRID); err != nil || n <= 0 {
			p.fail("pr-id", s.PRID, "want a pull/merge request number such as 42")
		}
	}
	if s.CommitSHA != "" && !isHex(s.CommitSHA) {
		p.fail("commit-sha", s.CommitSHA, "want a hexadecimal commit id of 7 to 64 characters")
	}
	if s.PollInterval > 0 && s.Timeout > 0 && s.PollInterval > s.Timeout {
		p.fail("poll-interval", s.PollInterval.String(), "want at most the timeout ("+s.Timeout.String()+")")
	}
	if s.CACert != "" {
		if _, err := os.Stat(s.CACert); err != nil {
			p.fail("ca-cert", s.CACert, "want a readable PEM file")
		}
	}
	return s, errors.Join(p.errs...)
}

// Missing lists the required settings that are empty, each with how to set it.
func (s *Settings) Missing() []string {
	var out []string
	for _, m := range []struct{ name, value string }{
		{"api-url", s.APIURL}, {"api-key-id", s.APIKeyID}, {"api-key", s.APIKey},
	} {
		if m.value == "" {
			d := definition(m.name)
			out = append(out, fmt.Sprintf("%s is required: set the %s input, the --%s flag or %s", d.Name, d.Name, d.Name, d.Env))
		}
	}
	return out
}

// Secrets are the values that must never be printed.
func (s *Settings) Secrets() []string {
	var out []string
	for _, v := range []string{s.APIKey, s.GitHubToken, s.GitLabToken} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func definition(name string) Definition {
	for _, d := range Definitions {
		if d.Name == name {
			return d
		}
	}
	panic("config: no setting named " + name) // a programming error, caught by tests
}

type parser struct {
	src  Sources
	s    *Settings
	errs []error
}

func (p *parser) raw(name string) string {
	d := definition(name)
	v, origin := p.src.lookup(d)
	p.s.Origin[name] = origin
	return v
}

func (p *parser) fail(name, value, want string) {
	d := definition(name)
	shown := strconv.Quote(value)
	if d.Secret {
		shown = "(hidden)"
	}
	origin := p.s.Origin[name]
	if origin == "" {
		origin = "value"
	}
	p.errs = append(p.errs, fmt.Errorf("invalid %s %s (from %s): %s", name, shown, origin, want))
}

func (p *parser) str(name string) string { return p.raw(name) }

func (p *parser) enum(name string, accepted ...string) string {
	v := p.raw(name)
	got, err := enum(v, accepted...)
	if err != nil {
		p.fail(name, v, err.Error())
		return accepted[0]
	}
	return got
}

func (p *parser) threshold(name string) cortex.Severity {
	v := p.raw(name)
	sev, err := parseThreshold(v)
	if err != nil {
		p.fail(name, v, err.Error())
	}
	return sev
}

func (p *parser) duration(name string) time.Duration {
	v := p.raw(name)
	d, err := time.ParseDuration(v)
	if err != nil {
		// A bare number is taken as seconds, as shell scripts tend to write it.
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
	}
	if err != nil || d <= 0 {
		p.fail(name, v, "want a positive duration such as 30s, 5m or 1h")
		d, _ = time.ParseDuration(definition(name).Default)
	}
	return d
}

func (p *parser) integer(name string, lo, hi int) int {
	v := p.raw(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, v, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
		n, _ = strconv.Atoi(definition(name).Default)
	}
	return n
}

func (p *parser) rate(name string) float64 {
	v := p.raw(name)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 100 {
		p.fail(name, v, "want requests per second, a number above 0 and at most 100 (the tenant allows 10 for everyone)")
		f, _ = strconv.ParseFloat(definition(name).Default, 64)
	}
	return f
}

func (p *parser) boolean(name string) bool {
	v := p.raw(name)
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true
	case "false", "no", "0", "off", "":
		return false
	}
	p.fail(name, v, "want true or false")
	return false
}

func isHex(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// RegisterFlags adds a flag per setting to fs and returns a function that,
// after fs.Parse, gives the flags the user actually set.
func RegisterFlags(fs *flag.FlagSet) func() map[string]string {
	values := map[string]*flagValue{}
	for _, d := range Definitions {
		v := &flagValue{isBool: d.Bool}
		values[d.Name] = v
		usage := d.Usage + " (env " + d.Env + ")"
		if d.Default != "" {
			usage += " (default " + d.Default + ")"
		}
		fs.Var(v, d.Name, usage)
	}
	return func() map[string]string {
		set := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			if v, ok := values[f.Name]; ok {
				set[f.Name] = v.value
			}
		})
		return set
	}
}

// flagValue keeps a flag's raw text; Parse validates it with the rest.
type flagValue struct {
	value  string
	isBool bool
}

func (f *flagValue) String() string { return f.value }
func (f *flagValue) Set(s string) error {
	f.value = s
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.isBool }
