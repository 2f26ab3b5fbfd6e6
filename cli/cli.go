// Package cli is cortex-gate's command line: it parses the command and its
// settings, wires the Cortex client, the gate and the reporters together,
// and maps the outcome to an exit code in one place.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes, as SPEC.md gives them: a workflow can tell "the change is
// blocked" from "the gate broke" from "the scan never came".
const (
	exitOK      = 0
	exitBlocked = 1
	exitError   = 2
	exitTimeout = 3
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = "dev"

// Env is the process's outside world, injected so tests can run the whole
// command in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	ReadFile       func(string) ([]byte, error)
}

// System is the real process environment.
func System() Env {
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, ReadFile: os.ReadFile}
}

// Main runs the command in args and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	cmd, rest := "run", args
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		usage(env.Stdout)
		return exitOK
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runCommand(ctx, rest, env)
	case "demo":
		return demoCommand(ctx, rest, env)
	case "simulate":
		return simulateCommand(ctx, rest, env)
	case "version":
		fmt.Fprintf(env.Stdout, "cortex-gate %s\n", Version)
		return exitOK
	case "help":
		usage(env.Stdout)
		return exitOK
	}
	fmt.Fprintf(env.Stderr, "cortex-gate: unknown command %q: want run, demo, simulate or version (see cortex-gate --help).\n", cmd)
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprint(w, `cortex-gate waits for the Cortex Cloud scan of this change and fails the pipeline when it is blocked.

Usage:
  cortex-gate [run] [flags]          the gate (settings from flags, INPUT_* and CORTEX_* variables)
  cortex-gate demo [--scenario NAME] the whole gate against the built-in Cortex simulator
  cortex-gate simulate --listen ADDR [--scenario NAME|FILE]
                                     serve the Cortex simulator for dry runs
  cortex-gate version

Exit codes: 0 passed, 1 blocked, 2 error, 3 timeout.
Run "cortex-gate run --help" for every setting.
`)
}

// parseFlags parses a sub-command's flags; help is not an error.
func parseFlags(fs *flag.FlagSet, args []string, env Env) (done bool, code int) {
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: cortex-gate %s [flags]\n", fs.Name())
		if fs.Name() == "run" {
			fmt.Fprint(env.Stderr, "Every setting is also an action input (INPUT_<NAME>) and an environment variable; precedence: flag > input > environment > detected > default.\n")
		}
		fmt.Fprintln(env.Stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, exitOK
		}
		fmt.Fprintf(env.Stderr, "cortex-gate: %v: see cortex-gate %s --help.\n", err, fs.Name())
		return true, exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "cortex-gate: unexpected argument %q: settings are flags, such as --timeout 10m.\n", fs.Arg(0))
		return true, exitError
	}
	return false, 0
}
