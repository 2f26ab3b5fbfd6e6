// Package codequality writes the gate's issues as a GitLab Code Quality
// report (the codequality-file report), which GitLab shows in the merge
// request widget and diff.
//
// The report is one JSON array (GitLab reads no other shape), [] when there
// is nothing to show, with one entry per unresolved issue, highest severity
// first. Issues resolved in Cortex are left out, so GitLab lists them as
// fixed. Each entry is a Code Climate issue
// (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format):
//
//   - description: "<Severity>: <alert> (<category>)", plus a note when the
//     issue blocks the change.
//   - check_name: sarif.RuleID of the alert name, the rule id of the SARIF
//     report, so an alert has one id in both.
//   - fingerprint: SHA-256 of the check, path, asset and category, with an
//     occurrence number so two identical issues stay two. It holds neither
//     the Cortex issue id nor the scan type: GitLab compares the merge
//     request's report with the target branch's to tell new issues from
//     fixed ones, and those come from other scans (a CI scan on the target
//     branch, a PR scan on the MR), so only what the issue is may count.
//   - severity: Cortex Critical is blocker, High critical, Medium major,
//     Low minor, anything else info.
//   - location.path: the repository-relative file (backslashes made
//     slashes, "." and ".." resolved without climbing above the root); the
//     asset name when there is no file, else NoFilePath. Cortex gives no
//     line numbers, so lines.begin is 1.
package codequality

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
	"github.com/cortex-gate/cortex-gate/reporter/sarif"
)

// NoFilePath stands in for the file of an issue that names neither a file
// nor an asset: GitLab needs a path.
const NoFilePath = "cortex-gate-no-file"

// maxTextRunes cuts long scan texts; the JSON report keeps them whole.
const maxTextRunes = 4096

type entry struct {
	Type        string   `json:"type"`
	CheckName   string   `json:"check_name"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
	Severity    string   `json:"severity"`
	Fingerprint string   `json:"fingerprint"`
	Location    location `json:"location"`
}

type location struct {
	Path  string `json:"path"`
	Lines lines  `json:"lines"`
}

type lines struct {
	Begin int `json:"begin"`
}

// Write writes the Code Quality report of r to w. See the package comment.
func Write(w io.Writer, r *gate.Result, _ reporter.Context) error {
	if r == nil {
		return errors.New("failed to write Code Quality report: no result")
	}
	if err := writeEntries(w, r, plan(r)); err != nil {
		return fmt.Errorf("failed to write Code Quality report: %w", err)
	}
	return nil
}

// writeEntries writes the array as json.Encoder with SetIndent("", "  ")
// would, byte for byte, making and encoding one entry at a time:
// encoding/json builds a whole array in memory, then a second, indented
// copy, tens of MB for a huge scan.
func writeEntries(w io.Writer, r *gate.Result, p entryPlan) error {
	if len(p.refs) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("  ", "  ")
	for n, ref := range p.refs {
		b.Reset()
		if n == 0 {
			b.WriteString("[\n  ")
		} else {
			b.WriteString(",\n  ")
		}
		e := p.entry(r, ref)
		if err := enc.Encode(&e); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode ends the entry with a newline
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n]\n")
	return err
}

// entryPlan is the report's entries before they are made: the issues in
// the report's order, and the texts they share.
type entryPlan struct {
	refs []issueRef
	// By alert name, by file and asset, by detection method: a huge scan
	// has few of each, and tens of thousands of issues.
	checks     map[string]string
	paths      map[[2]string]string
	categories map[string]string
}

// issueRef is an unresolved issue and the how-manieth issue of its
// identity it is (1 for the first).
type issueRef struct {
	issue      *cortex.Issue
	occurrence int
	rank       int
}

func plan(r *gate.Result) entryPlan {
	p := entryPlan{checks: map[string]string{}, paths: map[[2]string]string{}, categories: map[string]string{}}
	p.refs = make([]issueRef, 0, len(r.Issues))
	seen := map[[sha256.Size]byte]int{}
	// Occurrences are numbered in Cortex's order, before sorting.
	for n := range r.Issues {
		i := &r.Issues[n]
		if i.Resolved() {
			continue
		}
		id := sha256.Sum256([]byte(p.identity(i)))
		seen[id]++
		p.refs = append(p.refs, issueRef{issue: i, occurrence: seen[id], rank: rank(severity(cortex.ParseSeverity(i.Severity)))})
	}
	slices.SortStableFunc(p.refs, func(a, b issueRef) int { return cmp.Compare(b.rank, a.rank) })
	return p
}

// identity is what the fingerprint of an issue hashes, without its
// occurrence.
func (p *entryPlan) identity(i *cortex.Issue) string {
	return "cortex-gate/v1\x00" + p.check(i) + "\x00" + p.path(i) + "\x00" + scantext.Clean(i.AssetName, maxTextRunes) + "\x00" + p.category(i)
}

func (p *entryPlan) check(i *cortex.Issue) string {
	c, ok := p.checks[i.AlertName]
	if !ok {
		c = sarif.RuleID(i.AlertName)
		p.checks[i.AlertName] = c
	}
	return c
}

func (p *entryPlan) path(i *cortex.Issue) string {
	k := [2]string{i.FilePath, i.AssetName}
	v, ok := p.paths[k]
	if !ok {
		v = filePath(*i)
		p.paths[k] = v
	}
	return v
}

func (p *entryPlan) category(i *cortex.Issue) string {
	c, ok := p.categories[i.DetectionMethod]
	if !ok {
		c = category(*i)
		p.categories[i.DetectionMethod] = c
	}
	return c
}

func (p *entryPlan) entry(r *gate.Result, ref issueRef) entry {
	i := ref.issue
	sum := sha256.Sum256([]byte(p.identity(i) + "\x00" + strconv.Itoa(ref.occurrence)))
	sev := cortex.ParseSeverity(i.Severity)
	alert := scantext.Clean(i.AlertName, maxTextRunes)
	if alert == "" {
		alert = "Unnamed Cortex issue"
	}
	desc := sev.Title() + ": " + alert + " (" + p.category(i) + ")"
	if r.IssueBlocks(*i) {
		desc += "; it blocks this change"
	}
	return entry{
		Type:        "issue",
		CheckName:   p.check(i),
		Description: desc,
		Categories:  []string{"Security"},
		Severity:    severity(sev),
		Fingerprint: hex.EncodeToString(sum[:]),
		Location:    location{Path: p.path(i), Lines: lines{Begin: 1}},
	}
}

// build makes every entry, in the report's order.
func build(r *gate.Result) []entry {
	p := plan(r)
	entries := make([]entry, len(p.refs))
	for n, ref := range p.refs {
		entries[n] = p.entry(r, ref)
	}
	return entries
}

// severity maps a Cortex severity to Code Climate's scale.
func severity(s cortex.Severity) string {
	switch s {
	case cortex.SeverityCritical:
		return "blocker"
	case cortex.SeverityHigh:
		return "critical"
	case cortex.SeverityMedium:
		return "major"
	case cortex.SeverityLow:
		return "minor"
	}
	return "info"
}

func rank(codeClimate string) int {
	return slices.Index([]string{"info", "minor", "major", "critical", "blocker"}, codeClimate)
}

// filePath is the issue's file relative to the repository root.
func filePath(i cortex.Issue) string {
	p := scantext.Clean(i.FilePath, maxTextRunes)
	if p == "" {
		p = scantext.Clean(i.AssetName, maxTextRunes)
	}
	p = strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(p, `\`, "/")), "/")
	if strings.TrimSpace(p) == "" {
		return NoFilePath
	}
	return p
}

// category is the issue's kind in the console's words, "Other" when nothing
// readable is left.
func category(i cortex.Issue) string {
	if c := scantext.Clean(cortex.Category(i.DetectionMethod), maxTextRunes); c != "" {
		return c
	}
	return "Other"
}
