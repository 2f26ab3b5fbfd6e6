package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/ciplatform"
	"github.com/cortex-gate/cortex-gate/config"
	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/filecmd"
	"github.com/cortex-gate/cortex-gate/gate"
)

// runCommand is the gate: cortex-gate [run] [flags].
func runCommand(ctx context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	setFlags := config.RegisterFlags(fs)
	if done, code := parseFlags(fs, args, env); done {
		return code
	}
	g := gateRun{env: env, flags: setFlags()}
	return g.main(ctx)
}

// gateRun is one run of the gate, from settings to exit code.
type gateRun struct {
	env   Env
	flags map[string]string
	// for demo: fixed sources instead of the process environment
	detected *ciplatform.Context
	tuning   gateTuning
}

// gateTuning holds the knobs demo turns; zero values are the product's
// defaults.
type gateTuning struct {
	initialInterval time.Duration
	commentPreview  bool   // print the comment that would be posted
	commentFile     string // and write it here
}

func (g *gateRun) main(ctx context.Context) int {
	inActions := g.env.Getenv("GITHUB_ACTIONS") == "true"
	log := newLogger(g.env, inActions)
	// Mask the secrets before anything else is printed.
	for _, name := range []string{"CORTEX_API_KEY", "INPUT_API-KEY", "GITHUB_TOKEN", "INPUT_GITHUB-TOKEN", "GITLAB_TOKEN", "INPUT_GITLAB-TOKEN"} {
		if v := strings.TrimSpace(g.env.Getenv(name)); v != "" {
			log.AddMask(v)
		}
	}
	for _, name := range []string{"api-key", "github-token", "gitlab-token"} {
		if v := g.flags[name]; v != "" {
			log.AddMask(v)
		}
	}

	log.Group("cortex-gate " + Version + ": settings")
	ci, err := g.detect()
	if err != nil {
		log.EndGroup()
		return g.usageError(log, err, "the CI context cannot be read")
	}
	for _, n := range ci.Notes {
		log.Infof("%s", n)
	}
	if ci.Deleted {
		log.EndGroup()
		fmt.Fprintf(g.env.Stderr, "cortex-gate: this push deleted %s, so there is no commit to gate: nothing to do.\n", orDash(ci.Branch))
		return exitOK
	}
	s, err := config.Parse(config.Sources{Flags: g.flags, Getenv: g.env.Getenv, Detected: detectedSettings(ci)})
	if err != nil {
		log.EndGroup()
		return g.usageError(log, err, "a setting is invalid")
	}
	change, err := resolveChange(s)
	if err != nil {
		log.EndGroup()
		return g.usageError(log, err, "the change to gate is not known")
	}
	logSettings(log, s, ci, change)
	log.EndGroup()

	rep := newReporting(g.env, log, s, ci, change, g.tuning)
	res := g.gate(ctx, log, s, ci, change)
	rep.report(ctx, res)
	return finish(g.env, log, s, res)
}

func (g *gateRun) detect() (ciplatform.Context, error) {
	if g.detected != nil {
		return *g.detected, nil
	}
	readFile := g.env.ReadFile
	if readFile == nil {
		readFile = os.ReadFile
	}
	return ciplatform.Detect(g.env.Getenv, readFile)
}

// usageError ends a run whose settings or CI context cannot be used at
// all. The step outputs still say error, so a later step's condition on
// the verdict does not read an empty one as "not run".
func (g *gateRun) usageError(log logger, err error, what string) int {
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		fmt.Fprintf(g.env.Stderr, "cortex-gate: %s\n", oneLine(l))
	}
	if path := g.env.Getenv("GITHUB_OUTPUT"); path != "" {
		if werr := filecmd.SetOutputs(path, map[string]string{"verdict": string(gate.VerdictError), "blocked": "false"}); werr != nil {
			log.Warningf("failed to write the step outputs: %v", werr)
		}
	}
	if len(lines) > 1 && what == "a setting is invalid" {
		what = fmt.Sprintf("%d settings are invalid", len(lines))
	}
	fmt.Fprintf(g.env.Stderr, "cortex-gate: %s: fix the problem above and re-run (exit 2).\n", what)
	return exitError
}

// detectedSettings maps the CI context onto setting names; explicit
// settings win over it in config.Parse.
func detectedSettings(ci ciplatform.Context) map[string]string {
	return map[string]string{
		"organization": ci.Organization,
		"repository":   ci.Repository,
		"branch":       ci.Branch,
		"pr-id":        ci.PRID,
		"commit-sha":   ci.CommitSHA,
	}
}

// resolveChange turns the settings into what the gate looks for.
func resolveChange(s *config.Settings) (gate.Change, error) {
	c := gate.Change{
		ScanID: s.ScanID, Organization: s.Organization, Repository: s.Repository,
		Branch: s.Branch, PRID: s.PRID, CommitSHA: s.CommitSHA,
	}
	switch s.ScanType {
	case config.ScanTypePR:
		c.ScanType = cortex.ScanTypePR
	case config.ScanTypeCI:
		c.ScanType = cortex.ScanTypeCI
	default:
		c.ScanType = cortex.ScanTypeCI
		if s.PRID != "" {
			c.ScanType = cortex.ScanTypePR
		}
	}
	c.AnyScanType = c.ScanID != "" && s.ScanType == config.ScanTypeAuto
	var errs []error
	if c.ScanID == "" {
		if c.Repository == "" {
			errs = append(errs, errors.New("repository is unknown: no CI platform was detected, so set the repository input, --repository or CORTEX_REPOSITORY"))
		}
		if c.ScanType == cortex.ScanTypePR && c.PRID == "" {
			errs = append(errs, errors.New("scan-type is pr but no pull request was detected: set pr-id (--pr-id or CORTEX_PR_ID), or use scan-type ci"))
		}
	}
	return c, errors.Join(errs...)
}

func logSettings(log logger, s *config.Settings, ci ciplatform.Context, c gate.Change) {
	platform := string(ci.Platform)
	if platform == "" {
		platform = "none detected"
	}
	log.Infof("CI platform: %s; event: %s", platform, orDash(ci.Event))
	log.Infof("Looking for the Cortex %s scan of %s", c.ScanType, describeChange(c))
	for _, d := range config.Definitions {
		if d.Secret {
			continue
		}
		if o := s.Origin[d.Name]; o != "default" {
			log.Debugf("setting %s from %s", d.Name, o)
		}
	}
	log.Infof("Timeout %s, poll interval up to %s, mode %s, on-error %s", s.Timeout, s.PollInterval, s.Mode, s.OnError)
}

func describeChange(c gate.Change) string {
	var parts []string
	repo := c.Repository
	if c.Organization != "" {
		repo = c.Organization + "/" + repo
	}
	parts = append(parts, "repository "+orDash(repo))
	if c.PRID != "" {
		parts = append(parts, "PR #"+c.PRID)
	}
	if c.Branch != "" {
		parts = append(parts, "branch "+c.Branch)
	}
	if c.CommitSHA != "" {
		parts = append(parts, "commit "+c.CommitSHA)
	}
	if c.ScanID != "" {
		parts = append(parts, "scan id "+c.ScanID)
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// gate builds the Cortex client and runs the gate. Problems before the
// first request (missing credentials, a bad URL or CA file) are error
// verdicts too, so they are reported like any other.
func (g *gateRun) gate(ctx context.Context, log logger, s *config.Settings, ci ciplatform.Context, c gate.Change) *gate.Result {
	log.Group("Waiting for the Cortex " + string(c.ScanType) + " scan")
	defer log.EndGroup()
	opts := gate.Options{
		Change: c, LookbackDays: s.LookbackDays, MaxScanAge: s.MaxScanAge, Timeout: s.Timeout,
		InitialInterval: g.tuning.initialInterval, PollInterval: s.PollInterval,
		Policy:        gate.Policy{FailOnSeverity: s.FailOnSeverity, FailPartial: s.PartialScan == config.PartialFail},
		Enforce:       s.Mode == config.ModeEnforce,
		FetchFindings: s.JSONFile != "",
		Log:           log,
	}
	client, err := g.client(log, s, ci)
	if err != nil {
		return gate.Failed(opts, err)
	}
	return gate.Run(ctx, client, opts)
}

func (g *gateRun) client(log logger, s *config.Settings, ci ciplatform.Context) (*cortex.Client, error) {
	if missing := s.Missing(); len(missing) > 0 {
		msg := strings.Join(missing, "; ")
		if s.APIKey == "" && ci.Platform == ciplatform.GitHub && ci.PRID != "" {
			msg += "; GitHub does not pass secrets to workflows run for pull requests from forks"
			if ci.Fork {
				msg += ", and this pull request comes from a fork"
			}
			msg += ": run the gate from pull_request_target (with care: never check out and run the fork's code there), or set on-error: pass for fork pull requests"
		}
		return nil, errors.New(msg)
	}
	httpClient, err := newHTTPClient(s.CACert)
	if err != nil {
		return nil, err
	}
	return cortex.New(cortex.Config{
		BaseURL: s.APIURL, KeyID: s.APIKeyID, Key: s.APIKey, KeyType: s.APIKeyType,
		RateLimit: s.RateLimit, HTTPClient: httpClient,
		UserAgent: "cortex-gate/" + Version,
		Debugf:    log.Debugf,
	})
}

// newHTTPClient is the client for Cortex: proxies from the environment,
// TLS 1.2 or later, the system roots plus ca-cert.
func newHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read ca-cert %s: %w", caFile, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca-cert %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

// finish prints the last line and maps the verdict to the exit code.
func finish(env Env, log logger, s *config.Settings, res *gate.Result) int {
	code := exitCode(res, s)
	line := res.Message
	switch {
	case res.Verdict == gate.VerdictBlocked && s.Mode == config.ModeReport:
		log.Warningf("mode is report: the block above does not fail the pipeline")
	case (res.Verdict == gate.VerdictError || res.Verdict == gate.VerdictTimeout) && s.OnError == config.OnErrorPass && !res.Cancelled:
		log.Warningf("on-error is pass: this %s does NOT fail the pipeline, and the change was NOT checked by Cortex", res.Verdict)
		line = "Not enforced (on-error: pass): " + line
	}
	w := &redactor{w: env.Stderr, secrets: nonEmpty(s.Secrets())}
	fmt.Fprintf(w, "cortex-gate: %s\n", oneLine(line))
	return code
}

func exitCode(res *gate.Result, s *config.Settings) int {
	switch res.Verdict {
	case gate.VerdictPassed:
		return exitOK
	case gate.VerdictBlocked:
		if s.Mode == config.ModeReport {
			return exitOK
		}
		return exitBlocked
	case gate.VerdictTimeout:
		if s.OnError == config.OnErrorPass {
			return exitOK
		}
		return exitTimeout
	}
	if s.OnError == config.OnErrorPass && !res.Cancelled {
		return exitOK
	}
	return exitError
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	return out
}

// oneLine keeps the last line one line: a message that quotes a server or
// a scan must not start a second line, let alone a workflow command.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
