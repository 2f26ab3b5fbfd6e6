package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// logger is the one logger of a run. In GitHub Actions it speaks workflow
// commands (groups, masks, debug); elsewhere it prints plain lines.
type logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
	Debugf(format string, args ...any)
	Group(title string)
	EndGroup()
	AddMask(secret string)
}

func newLogger(env Env, inActions bool) logger {
	out := &redactor{w: env.Stdout}
	if inActions {
		a := githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(env.Getenv))
		return &actionsLogger{Action: a, out: out}
	}
	debug := isTrue(env.Getenv("CORTEX_DEBUG")) || isTrue(env.Getenv("RUNNER_DEBUG"))
	return &plainLogger{w: out, debug: debug}
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// actionsLogger adds the mask to the redactor too, so a secret never
// reaches the log even where the runner's own masking would miss it.
type actionsLogger struct {
	*githubactions.Action
	out *redactor
}

func (l *actionsLogger) AddMask(s string) {
	l.Action.AddMask(s) // issued before the redactor knows it: the command carries the secret itself
	l.out.add(s)
}

func (l *actionsLogger) Infof(format string, args ...any) {
	fmt.Fprintln(l.out, safeLine(fmt.Sprintf(format, args...)))
}

type plainLogger struct {
	w     *redactor
	debug bool
}

func (l *plainLogger) Infof(format string, args ...any) {
	fmt.Fprintln(l.w, safeLine(fmt.Sprintf(format, args...)))
}
func (l *plainLogger) Warningf(format string, args ...any) {
	fmt.Fprintln(l.w, "warning: "+safeLine(fmt.Sprintf(format, args...)))
}
func (l *plainLogger) Debugf(format string, args ...any) {
	if l.debug {
		fmt.Fprintln(l.w, "debug: "+safeLine(fmt.Sprintf(format, args...)))
	}
}
func (l *plainLogger) Group(title string) { fmt.Fprintf(l.w, "== %s\n", title) }
func (l *plainLogger) EndGroup()          {}
func (l *plainLogger) AddMask(s string)   { l.w.add(s) }

// safeLine keeps a log line one line of plain text: progress lines quote
// scan ids and health values from the tenant, which must not start a
// second line, a workflow command (::cmd:: or the runner's older ##[cmd]),
// or an ANSI escape.
func safeLine(s string) string {
	s = oneLine(s)
	s = strings.ReplaceAll(s, "##[", "## [")
	if strings.HasPrefix(strings.TrimLeft(s, " "), "::") {
		s = "· " + s
	}
	return s
}

// redactor replaces secrets with *** in everything written through it.
// Lines are written whole, so a secret never straddles two writes.
type redactor struct {
	w       io.Writer
	secrets []string
}

func (r *redactor) add(s string) {
	if len(s) >= 4 { // masking "a" would mangle every line
		r.secrets = append(r.secrets, s)
	}
}

// Write never fails: a log that cannot be written (a closed pipe, a full
// disk) must not stop the gate from reaching and reporting its verdict, and
// go-githubactions panics on a write error.
func (r *redactor) Write(p []byte) (int, error) {
	s := string(p)
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	_, _ = io.WriteString(r.w, s)
	return len(p), nil
}
