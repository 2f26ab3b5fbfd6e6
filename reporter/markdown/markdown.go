// Package markdown renders a gate.Result as GitHub Flavored Markdown: the
// sticky PR/MR comment and the GitHub job summary. Everything that comes from
// a scan is untrusted and goes through Escape.
package markdown

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
)

const (
	// MaxCommentRunes is GitHub's limit on a comment body, counted in
	// characters, not bytes.
	MaxCommentRunes = 65536
	// MaxSummaryBytes is the runner's limit on a step summary; a larger file
	// is not uploaded at all.
	MaxSummaryBytes = 1 << 20
)

// Per-value caps, in runes of raw text: a hostile scan cannot blow one table
// cell up to the whole budget.
const (
	maxNameRunes    = 200
	maxPathRunes    = 200
	maxShortRunes   = 80
	maxPolicyRunes  = 200
	maxMessageRunes = 1000
	maxSelectRunes  = 300
)

// The issue types the comment counts, in order. Anything else is "Other".
var typeOrder = []string{"Vulnerabilities", "Secrets", "IaC", "Licenses", "Operational risk"}

// Comment renders the sticky PR/MR comment: marker first, then the verdict,
// message, blocking policies, warnings, counts and issues. The body is at
// most MaxCommentRunes runes: the issue list is trimmed first, and the
// comment says how many issues were left out and where the full list is.
func Comment(r *gate.Result, ctx reporter.Context, marker string) string {
	rd := renderer{r: r, ctx: ctx, limit: MaxCommentRunes, size: utf8.RuneCountInString, hint: ctx.FullReportHint}
	if rd.hint == "" {
		rd.hint = "the job summary and the report files"
	}
	return rd.render(marker, false)
}

// Summary renders the job summary: the comment's content with the full issue
// list in one table, kept under MaxSummaryBytes bytes (with a note of what
// was left out when the list does not fit).
func Summary(r *gate.Result, ctx reporter.Context) string {
	rd := renderer{r: r, ctx: ctx, limit: MaxSummaryBytes - 1024, size: func(s string) int { return len(s) },
		hint: "the JSON report (json-file)"}
	return rd.render("", true)
}

type renderer struct {
	r     *gate.Result
	ctx   reporter.Context
	limit int              // the whole document's budget, in size units
	size  func(string) int // runes for a comment, bytes for a summary
	hint  string           // where the full issue list is (trusted text)
}

func (rd renderer) render(marker string, full bool) string {
	r := rd.r
	if r == nil {
		r = &gate.Result{Verdict: gate.VerdictError, Message: "The gate produced no result."}
		rd.r = r
	}
	head := rd.heading()
	if marker != "" {
		head = marker + "\n\n" + head
	}
	counts, foot := rd.counts(), rd.footer()
	// The verdict, message and policies are never dropped for the issues'
	// sake. The lists share what the fixed parts leave, policies first; only
	// a list too long for the whole budget is cut, with a note.
	avail := rd.limit - rd.size(head) - rd.size(counts) - rd.size(foot) - 1024
	policies := rd.list("**Blocking policies:**\n\n", "- ", r.BlockingPolicies, maxPolicyRunes, avail, "blocking policies")
	avail -= rd.size(policies)
	reasons := rd.list("**Why:**\n\n", "- ", r.Reasons, maxMessageRunes, avail, "reasons")
	avail -= rd.size(reasons)
	warnings := rd.list("> [!WARNING]\n", "> - ", r.Warnings, maxMessageRunes, avail, "warnings")

	out := head + reasons + policies + warnings + counts
	budget := rd.limit - rd.size(out) - rd.size(foot)
	return out + rd.issues(budget, full) + foot
}

func (rd renderer) heading() string {
	r := rd.r
	icon, word := "⚠️", "error"
	switch r.Verdict {
	case gate.VerdictPassed:
		icon, word = "✅", "passed"
	case gate.VerdictBlocked:
		icon, word = "❌", "blocked"
	case gate.VerdictTimeout:
		icon, word = "⏱️", "timeout"
	}
	var notes []string
	if r.Cancelled {
		notes = append(notes, "cancelled")
	}
	if !r.Enforced {
		notes = append(notes, "report mode: not enforced")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## %s Cortex Code Security: %s", icon, word)
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	b.WriteString("\n\n")
	if m := strings.TrimSpace(r.Message); m != "" {
		b.WriteString(Escape(clip(m, maxMessageRunes)) + "\n\n")
	}
	if !r.Enforced && r.Blocked() {
		b.WriteString("This change would be blocked; under `mode: report` the pipeline does not fail.\n\n")
	}
	return b.String()
}

// list renders untrusted lines as a Markdown list after open, each line
// clipped to capRunes, as many as fit in budget; the rest are counted.
func (rd renderer) list(open, prefix string, items []string, capRunes, budget int, what string) string {
	if len(items) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(open)
	used := rd.size(open) + 1
	for i, it := range items {
		line := prefix + cell(it, capRunes) + "\n"
		more := fmt.Sprintf("%s… and %d more %s (see %s)\n", prefix, len(items)-i, what, rd.hint)
		if used+rd.size(line)+rd.size(more) > budget && i < len(items)-1 || used+rd.size(line) > budget {
			b.WriteString(more)
			break
		}
		b.WriteString(line)
		used += rd.size(line)
	}
	b.WriteString("\n")
	return b.String()
}

func (rd renderer) counts() string {
	r := rd.r
	if (r.Scan == nil || !r.Scan.Final()) && r.Counts == (gate.Counts{}) && len(r.Issues) == 0 {
		return "" // no finished scan, nothing counted: zeros would mislead
	}
	c := r.Counts
	var b strings.Builder
	b.WriteString("| Critical | High | Medium | Low | Issues | Findings |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d |\n\n", c.Critical, c.High, c.Medium, c.Low, c.Issues, c.Findings)

	byType, other := rd.typeCounts()
	b.WriteString("| ")
	for _, t := range typeOrder {
		b.WriteString(t + " | ")
	}
	b.WriteString("Other |\n|")
	b.WriteString(strings.Repeat("---:|", len(typeOrder)+1))
	b.WriteString("\n| ")
	for _, t := range typeOrder {
		fmt.Fprintf(&b, "%d | ", byType[t])
	}
	fmt.Fprintf(&b, "%d |\n\n", other)
	return b.String()
}

// typeCounts counts issues by cortex.Category of their detection method, or,
// when no issues were fetched, reads the scan's own breakdown.
func (rd renderer) typeCounts() (map[string]int, int) {
	byType := map[string]int{}
	if len(rd.r.Issues) > 0 {
		for _, i := range rd.r.Issues {
			byType[cortex.Category(i.DetectionMethod)]++
		}
	} else if rd.r.Scan != nil {
		for k, v := range rd.r.Scan.IssuesTypesBreakdown {
			byType[cortex.Category(k)] += int(v)
		}
	}
	other := 0
	for k, v := range byType {
		if !known(k) {
			other += v
		}
	}
	return byType, other
}

func known(t string) bool {
	for _, k := range typeOrder {
		if k == t {
			return true
		}
	}
	return false
}

const tableHead = "| Blocks | Severity | Type | Issue | File | Status | Assignee |\n|---|---|---|---|---|---|---|\n"

// issues renders the issue tables within budget. A comment lists the top
// MaxCommentItems in a table and as many of the rest as fit in a collapsed
// <details>; a summary lists them all in one table. Whatever does not fit
// is counted in a closing note.
func (rd renderer) issues(budget int, full bool) string {
	r := rd.r
	if len(r.Issues) == 0 {
		if r.Counts.Issues > 0 {
			return fmt.Sprintf("The %d issues were not fetched; see %s.\n\n", r.Counts.Issues, rd.hint)
		}
		return ""
	}
	order := reporter.IssueOrder(r)
	// Room for the closing note, whatever it says.
	budget -= 400

	var b strings.Builder
	top := len(order)
	if !full {
		top = min(max(rd.ctx.MaxCommentItems, 0), len(order))
	}
	listed := 0
	if top > 0 {
		b.WriteString("### Issues\n\n")
		n, table := rd.table(order[:top], budget-rd.size(b.String()))
		listed += n
		b.WriteString(table)
	}
	if listed == top && top < len(order) {
		open := fmt.Sprintf("<details>\n<summary>%d more issues</summary>\n\n", len(order)-top)
		const closing = "</details>\n\n"
		room := budget - rd.size(b.String()) - rd.size(open) - rd.size(closing)
		if n, table := rd.table(order[top:], room); n > 0 {
			b.WriteString(open + table + closing)
			listed += n
		}
	}
	if left := order[listed:]; len(left) > 0 {
		blocking := 0
		for _, i := range left {
			if r.IssueBlocks(r.Issues[i]) {
				blocking++
			}
		}
		why := "to keep this comment within GitHub's 65,536-character limit"
		if full {
			why = "to keep the job summary under 1 MiB"
		} else if listed == top {
			why = "to keep this comment short"
		}
		fmt.Fprintf(&b, "%d more issues (%d of them blocking) are not listed here %s; the full list is in %s.\n\n",
			len(left), blocking, why, rd.hint)
	}
	return b.String()
}

// table renders the rows of the given issues that fit in budget, and how
// many did; no rows fit, no table.
func (rd renderer) table(order []int, budget int) (int, string) {
	var b strings.Builder
	b.WriteString(tableHead)
	used := rd.size(tableHead) + 1 // the blank line after the table
	n := 0
	for _, i := range order {
		row := rd.row(rd.r.Issues[i])
		if used+rd.size(row) > budget {
			break
		}
		b.WriteString(row)
		used += rd.size(row)
		n++
	}
	if n == 0 {
		return 0, ""
	}
	b.WriteString("\n")
	return n, b.String()
}

func (rd renderer) row(i cortex.Issue) string {
	blocks := "no"
	if rd.r.IssueBlocks(i) {
		blocks = "🚫 yes"
	}
	sev := cortex.ParseSeverity(i.Severity).Title()
	file := "—"
	if p := strings.TrimSpace(i.FilePath); p != "" {
		// Shown relative to the repository root, as the blob URL is.
		file = cell(strings.TrimLeft(p, "/"), maxPathRunes)
		if u := safeURL(rd.ctx.BlobURL(p)); u != "" && !dotSegments(p) {
			file = "[" + file + "](" + u + ")"
		}
	}
	return "| " + blocks + " | " + sev + " | " + cell(cortex.Category(i.DetectionMethod), maxShortRunes) +
		" | " + cell(i.AlertName, maxNameRunes) + " | " + file + " | " + cell(i.ResolutionStatus, maxShortRunes) +
		" | " + cell(i.Assignee, maxShortRunes) + " |\n"
}

// dotSegments reports a path with "." or ".." segments: the browser would
// resolve them out of the blob URL, to any page of the forge.
func dotSegments(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

func (rd renderer) footer() string {
	r := rd.r
	var parts []string
	if r.Scan != nil {
		parts = append(parts, "Scan "+cell(r.Scan.ID, maxShortRunes))
	}
	commit := r.Change.CommitSHA
	if r.Scan != nil && r.Scan.CommitID != "" {
		commit = r.Scan.CommitID
	}
	if commit != "" {
		parts = append(parts, "commit "+cell(commit, maxShortRunes))
	}
	if r.Scan != nil {
		switch {
		case !r.Scan.Date.IsZero():
			parts = append(parts, "scanned "+r.Scan.Date.UTC().Format(time.RFC3339))
		case r.Scan.DateRaw != "":
			parts = append(parts, "scanned "+cell(r.Scan.DateRaw, maxShortRunes))
		}
	}
	if u := safeURL(rd.ctx.RunURL); u != "" {
		parts = append(parts, "[CI run]("+u+")")
	}
	var b strings.Builder
	b.WriteString("---\n\n")
	if len(parts) > 0 {
		b.WriteString(strings.Join(parts, " · ") + "\n\n")
	}
	if s := strings.TrimSpace(r.Selection); s != "" {
		b.WriteString("Selection: " + cell(s, maxSelectRunes) + "\n\n")
	}
	b.WriteString("Reported by cortex-gate.\n")
	return b.String()
}
