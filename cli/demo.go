package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/ciplatform"
	"github.com/cortex-gate/cortex-gate/simulator"
)

// demoDir is where demo writes its reports, relative to the working folder.
const demoDir = "cortex-gate-demo"

// demoCommand runs the real gate against the built-in simulator.
func demoCommand(ctx context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	scenario := scenarioFlag(fs)
	out := fs.String("out", demoDir, "folder for the reports")
	if done, code := parseFlags(fs, args, env); done {
		return code
	}
	sc, ok := loadScenario(*scenario, env)
	if !ok {
		return exitError
	}
	target, err := demoTarget(sc)
	if err != nil {
		fmt.Fprintf(env.Stderr, "cortex-gate: scenario %s cannot be demonstrated: %v.\n", *scenario, err)
		return exitError
	}
	url, stop, err := serve(simulator.New(sc, simulator.Options{}), "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(env.Stderr, "cortex-gate: failed to start the simulator: %v.\n", err)
		return exitError
	}
	defer stop()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(env.Stderr, "cortex-gate: failed to create %s: %v.\n", *out, err)
		return exitError
	}

	fmt.Fprintf(env.Stdout, "cortex-gate demo: the real gate against the built-in Cortex simulator at %s (scenario %s).\n", url, *scenario)
	fmt.Fprintf(env.Stdout, "%s\n\n", sc.Description)

	file := func(name string) string { return filepath.Join(*out, name) }
	// The demo ignores the machine's own CI variables: it must behave the
	// same in a terminal and inside a pipeline.
	demoEnv := map[string]string{
		"GITHUB_STEP_SUMMARY": file("summary.md"),
		"GITHUB_OUTPUT":       file("outputs.txt"),
	}
	for _, f := range []string{"summary.md", "outputs.txt"} {
		_ = os.Remove(file(f)) // both are appended to: start afresh
	}
	g := gateRun{
		env: Env{Stdout: env.Stdout, Stderr: env.Stderr, Getenv: func(k string) string { return demoEnv[k] }, ReadFile: env.ReadFile},
		flags: map[string]string{
			"api-url": url, "api-key-id": target.keyID, "api-key": target.key, "api-key-type": target.keyType,
			"scan-type": target.scanType, "organization": target.org, "repository": target.repo,
			"branch": target.branch, "pr-id": target.prID, "commit-sha": target.commit,
			"timeout": "2m", "poll-interval": "2s",
			"json-file": file("cortex-gate.json"), "sarif-file": file("cortex-gate.sarif"),
			"junit-file": file("junit.xml"), "codequality-file": file("gl-code-quality-report.json"),
		},
		detected: &ciplatform.Context{ServerURL: "https://github.com", RepoPath: target.org + "/" + target.repo},
		tuning:   gateTuning{initialInterval: time.Second, commentPreview: true, commentFile: file("comment.md")},
	}
	code := g.main(ctx)
	fmt.Fprintf(env.Stdout, "\nDemo finished: the reports are in %s/. In a pipeline this step would exit %d (%s).\n", *out, code, exitMeaning(code))
	return code
}

func exitMeaning(code int) string {
	switch code {
	case exitOK:
		return "passed"
	case exitBlocked:
		return "blocked: the pipeline stops here"
	case exitTimeout:
		return "timeout"
	}
	return "error"
}

// target is the change a scenario's first scan belongs to, and its tenant's credentials.
type target struct {
	keyID, key, keyType                       string
	scanType, org, repo, branch, prID, commit string
}

func demoTarget(sc *simulator.Scenario) (target, error) {
	if len(sc.Scans) == 0 {
		return target{}, errors.New("it has no scans")
	}
	s := sc.Scans[0]
	keyID, key, keyType := credentials(sc)
	return target{
		keyID: keyID, key: key, keyType: keyType,
		scanType: s.Type, org: s.OrganizationName, repo: s.RepoName, branch: s.BranchName,
		prID: s.PullRequestID, commit: s.CommitID,
	}, nil
}

// serve starts h on addr and returns its base URL and a stop function.
func serve(h http.Handler, addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// simulateCommand serves the simulator until a signal.
func simulateCommand(ctx context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	scenario := scenarioFlag(fs)
	quiet := fs.Bool("quiet", false, "do not log requests")
	if done, code := parseFlags(fs, args, env); done {
		return code
	}
	sc, ok := loadScenario(*scenario, env)
	if !ok {
		return exitError
	}
	opts := simulator.Options{}
	if !*quiet {
		opts.Logf = func(format string, a ...any) { fmt.Fprintf(env.Stdout, format+"\n", a...) }
	}
	url, stop, err := serve(simulator.New(sc, opts), *listen)
	if err != nil {
		fmt.Fprintf(env.Stderr, "cortex-gate: failed to listen on %s: %v.\n", *listen, err)
		return exitError
	}
	defer stop()
	keyID, key, keyType := credentials(sc)
	fmt.Fprintf(env.Stdout, "Cortex simulator (scenario %s) listening on %s\n%s\n\n", *scenario, url, sc.Description)
	fmt.Fprintf(env.Stdout, "Point the gate at it:\n  CORTEX_API_URL=%s CORTEX_API_KEY_ID=%s CORTEX_API_KEY=%s CORTEX_API_KEY_TYPE=%s cortex-gate run", url, keyID, key, keyType)
	if t, err := demoTarget(sc); err == nil {
		fmt.Fprintf(env.Stdout, " --scan-type %s --organization %s --repository %s", t.scanType, t.org, t.repo)
		if t.prID != "" {
			fmt.Fprintf(env.Stdout, " --pr-id %s", t.prID)
		}
		if t.commit != "" {
			fmt.Fprintf(env.Stdout, " --commit-sha %s", t.commit)
		}
		if t.branch != "" {
			fmt.Fprintf(env.Stdout, " --branch %s", t.branch)
		}
	}
	fmt.Fprintf(env.Stdout, "\nStop with Ctrl-C.\n")
	<-ctx.Done()
	fmt.Fprintf(env.Stdout, "Simulator stopped.\n")
	return exitOK
}

// credentials are the key the scenario's tenant accepts, with the
// simulator's defaults filled in.
func credentials(sc *simulator.Scenario) (keyID, key, keyType string) {
	keyID, key, keyType = simulator.DemoKeyID, simulator.DemoKey, "standard"
	if a := sc.Auth; a != nil {
		if a.KeyID != "" {
			keyID = a.KeyID
		}
		if a.Key != "" {
			key = a.Key
		}
		if a.Type != "" {
			keyType = a.Type
		}
	}
	return keyID, key, keyType
}

// scenarioFlag is demo's and simulate's --scenario.
func scenarioFlag(fs *flag.FlagSet) *string {
	return fs.String("scenario", "blocked-pr", "built-in scenario ("+strings.Join(simulator.Names(), ", ")+") or a scenario file")
}

// loadScenario loads a scenario, saying on stderr why it cannot.
func loadScenario(name string, env Env) (*simulator.Scenario, bool) {
	sc, err := simulator.Load(name)
	if err != nil {
		fmt.Fprintf(env.Stderr, "cortex-gate: failed to load scenario: %v.\n", err)
		return nil, false
	}
	return sc, true
}
