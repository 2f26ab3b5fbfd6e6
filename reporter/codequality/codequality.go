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
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(build(r)); err != nil {
		return fmt.Errorf("failed to write Code Quality report: %w", err)
	}
	return nil
}

func build(r *gate.Result) []entry {
	issues := slices.DeleteFunc(slices.Clone(r.Issues), cortex.Issue.Resolved)
	entries := make([]entry, 0, len(issues))
	seen := map[string]int{}
	// Occurrences are numbered in Cortex's order, before sorting.
	for _, i := range issues {
		check := sarif.RuleID(i.AlertName)
		p := filePath(i)
		cat := category(i)
		identity := "cortex-gate/v1\x00" + check + "\x00" + p + "\x00" + scantext.Clean(i.AssetName, maxTextRunes) + "\x00" + cat
		seen[identity]++
		sum := sha256.Sum256([]byte(identity + "\x00" + strconv.Itoa(seen[identity])))

		sev := cortex.ParseSeverity(i.Severity)
		alert := scantext.Clean(i.AlertName, maxTextRunes)
		if alert == "" {
			alert = "Unnamed Cortex issue"
		}
		desc := sev.Title() + ": " + alert + " (" + cat + ")"
		if r.IssueBlocks(i) {
			desc += "; it blocks this change"
		}
		entries = append(entries, entry{
			Type:        "issue",
			CheckName:   check,
			Description: desc,
			Categories:  []string{"Security"},
			Severity:    severity(sev),
			Fingerprint: hex.EncodeToString(sum[:]),
			Location:    location{Path: p, Lines: lines{Begin: 1}},
		})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(rank(b.Severity), rank(a.Severity)) })
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
