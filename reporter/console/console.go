// Package console renders a gate.Result for a CI log: the short verdict
// block every run prints, and GitHub workflow-command annotations.
//
// Everything printed comes from a scan and is untrusted. In a GitHub log a
// line can itself be a workflow command (`::add-mask::`, `::stop-commands::`,
// or the legacy `##[command]` anywhere in a line), so scan text never starts
// a line, never holds a line break, ANSI escape or control character, and
// never holds "##[".
package console

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
)

// GitHub shows at most this many annotations of each level per step.
const maxAnnotations = 10

// Caps on untrusted values, in runes.
const (
	maxField   = 200
	maxMessage = 1000
)

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// EscapeData escapes a workflow command's message as actions/toolkit's
// escapeData does: "%", CR and LF are percent-encoded, so the message stays
// on its line.
func EscapeData(s string) string { return dataEscaper.Replace(s) }

// EscapeProperty escapes a workflow command's property value as
// actions/toolkit's escapeProperty does: EscapeData's set plus ":" and ",",
// so a value cannot end the property list or start another property.
func EscapeProperty(s string) string { return propertyEscaper.Replace(s) }

type property struct{ key, value string }

// command formats one workflow command as actions/toolkit's Command.toString
// does: properties in order, empty values left out (but the space after the
// name kept when there are properties at all).
func command(name string, props []property, message string) string {
	var b strings.Builder
	b.WriteString("::" + name)
	if len(props) > 0 {
		b.WriteByte(' ')
		first := true
		for _, p := range props {
			if p.value == "" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(p.key + "=" + EscapeProperty(p.value))
		}
	}
	b.WriteString("::" + EscapeData(message))
	return b.String()
}

// Annotations returns GitHub workflow-command lines for the top issues: an
// `::error` for each of the first ten blocking issues, then a `::warning`
// for each of the first ten unresolved high or critical issues that do not
// block. An issue with a file is annotated on that file.
//
// GitHub docs: https://docs.github.com/actions/reference/workflow-commands-for-github-actions#setting-an-error-message
func Annotations(r *gate.Result) []string {
	if r == nil {
		return nil
	}
	var lines []string
	errs, warns := 0, 0
	for _, idx := range reporter.IssueOrder(r) {
		i := r.Issues[idx]
		level := ""
		switch {
		case r.IssueBlocks(i):
			if errs == maxAnnotations {
				continue
			}
			errs++
			level = "error"
		case !i.Resolved() && cortex.ParseSeverity(i.Severity) >= cortex.SeverityHigh:
			if warns == maxAnnotations {
				continue
			}
			warns++
			level = "warning"
		default:
			continue
		}
		sev := cortex.ParseSeverity(i.Severity).Title()
		title := fmt.Sprintf("Cortex: %s %s issue", sev, clean(cortex.Category(i.DetectionMethod), maxField))
		msg := clean(i.AlertName, maxMessage)
		if level == "error" {
			msg += " (blocks this change"
		} else {
			msg += " (does not block this change"
		}
		if id := clean(i.ID, maxField); id != "" {
			msg += "; Cortex issue " + id
		}
		msg += ")"
		var props []property
		if f := strings.TrimLeft(clean(i.FilePath, 1000), "/"); f != "" {
			props = append(props, property{"file", f})
		}
		props = append(props, property{"title", title})
		lines = append(lines, command(level, props, msg))
		if errs == maxAnnotations && warns == maxAnnotations {
			break
		}
	}
	return lines
}

// Verdict writes the short console block: verdict, message, reasons,
// blocking policies, warnings, counts and the top topN issues. Every line
// after the first starts with an indent and a fixed label or bullet, so no
// scan text can start a line.
func Verdict(w io.Writer, r *gate.Result, topN int) error {
	if r == nil {
		r = &gate.Result{Verdict: gate.VerdictError, Message: "The gate produced no result."}
	}
	var b strings.Builder
	word := strings.ToUpper(string(r.Verdict))
	if word == "" {
		word = "ERROR"
	}
	fmt.Fprintf(&b, "Cortex Code Security: %s", word)
	var notes []string
	if r.Cancelled {
		notes = append(notes, "cancelled")
	}
	if !r.Enforced {
		notes = append(notes, "report mode: not enforced")
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	b.WriteString("\n")
	if m := clean(r.Message, maxMessage); m != "" {
		fmt.Fprintf(&b, "  Result: %s\n", m)
	}
	list(&b, "Why", r.Reasons)
	list(&b, "Blocking policies", r.BlockingPolicies)
	for _, wr := range r.Warnings {
		fmt.Fprintf(&b, "  Warning: %s\n", clean(wr, maxMessage))
	}
	if r.Scan != nil && r.Scan.Final() || r.Counts != (gate.Counts{}) || len(r.Issues) > 0 {
		c := r.Counts
		fmt.Fprintf(&b, "  Issues: %d (critical %d, high %d, medium %d, low %d); findings: %d\n",
			c.Issues, c.Critical, c.High, c.Medium, c.Low, c.Findings)
	}
	if len(r.Issues) > 0 && topN > 0 {
		b.WriteString("  Top issues:\n")
		order := reporter.IssueOrder(r)
		for _, idx := range order[:min(topN, len(order))] {
			i := r.Issues[idx]
			mark := "          "
			if r.IssueBlocks(i) {
				mark = "BLOCKING  "
			}
			fmt.Fprintf(&b, "    - %s%-8s %-16s %s", mark, cortex.ParseSeverity(i.Severity).Title(),
				clean(cortex.Category(i.DetectionMethod), 40), orDash(clean(i.AlertName, maxField)))
			if f := clean(i.FilePath, maxField); f != "" {
				fmt.Fprintf(&b, " at %s", strings.TrimLeft(f, "/"))
			}
			b.WriteString("\n")
		}
		if left := len(order) - topN; left > 0 {
			fmt.Fprintf(&b, "    ... and %d more issues in the job summary and report files\n", left)
		}
	}
	if r.Scan != nil {
		fmt.Fprintf(&b, "  Scan: %s", orDash(clean(r.Scan.ID, maxField)))
		if c := clean(r.Scan.CommitID, maxField); c != "" {
			fmt.Fprintf(&b, ", commit %s", c)
		}
		if !r.Scan.Date.IsZero() {
			fmt.Fprintf(&b, ", scanned %s", r.Scan.Date.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	if s := clean(r.Selection, maxMessage); s != "" {
		fmt.Fprintf(&b, "  Selection: %s\n", s)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("failed to write the verdict block: %w", err)
	}
	return nil
}

func list(b *strings.Builder, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "  %s:\n", title)
	for _, it := range items {
		fmt.Fprintf(b, "    - %s\n", orDash(clean(it, maxMessage)))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clean makes untrusted text one safe log line of at most n runes: ANSI
// escape sequences and bidirectional overrides are removed, line breaks,
// tabs and other control characters become spaces, invalid UTF-8 becomes
// U+FFFD, and "##[" (a legacy workflow command anywhere in a line) is
// broken up. Surrounding space is trimmed.
func clean(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b:
			i += escapeLen(s[i:])
			continue
		case r == 0x9b: // the one-character CSI of C1
			i += w + csiLen(s[i+w:])
			continue
		case r == utf8.RuneError && w == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\u2028' || r == '\u2029' || unicode.IsControl(r):
			b.WriteByte(' ')
		case scantext.IsBidiControl(r):
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	out := strings.TrimSpace(b.String())
	for strings.Contains(out, "##[") {
		out = strings.ReplaceAll(out, "##[", "## [")
	}
	if utf8.RuneCountInString(out) > n {
		out = string([]rune(out)[:n-1]) + "…"
	}
	return out
}

// escapeLen is the length of the escape sequence at the start of s, which
// starts with ESC: CSI (ESC [ ... final), OSC/DCS/APC/PM/SOS strings (up to
// BEL or ESC \), or ESC and one character.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[':
		return 2 + csiLen(s[2:])
	case ']', 'P', '_', '^', 'X':
		for j := 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
		return len(s)
	}
	_, w := utf8.DecodeRuneInString(s[1:])
	return 1 + w
}

// csiLen is the length of a CSI sequence's parameters and final byte.
func csiLen(s string) int {
	for j := 0; j < len(s); j++ {
		if c := s[j]; c >= 0x40 && c <= 0x7e {
			return j + 1
		} else if c < 0x20 || c > 0x3f {
			return j // malformed: drop what was read, keep the rest
		}
	}
	return len(s)
}
