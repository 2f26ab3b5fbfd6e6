package gate

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// minSHAPrefix is the shortest commit prefix taken as a match, as git's
// own abbreviations are.
const minSHAPrefix = 7

// match is the scan chosen among a list, and why.
type match struct {
	scan   *cortex.Scan
	reason string
}

// sameCommit reports whether two commit ids name the same commit: equal, or
// one a prefix of the other of at least minSHAPrefix characters.
func sameCommit(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= minSHAPrefix && strings.HasPrefix(b, a)
}

// sameRepo compares Cortex's repoName with the repository the gate looks for.
// Tenants write either the bare name or owner/name; both are accepted.
func sameRepo(repoName string, c Change) bool {
	if c.Repository == "" {
		return true
	}
	got := strings.ToLower(strings.TrimSpace(repoName))
	want := strings.ToLower(c.Repository)
	if got == want {
		return true
	}
	if c.Organization != "" && got == strings.ToLower(c.Organization+"/"+c.Repository) {
		return true
	}
	return strings.HasSuffix(got, "/"+want)
}

func samePR(got, want string) bool {
	return strings.TrimPrefix(strings.TrimSpace(got), "#") == want
}

// newestFirst orders scans by scanDate, newest first; ties keep list order.
func newestFirst(scans []*cortex.Scan) {
	sort.SliceStable(scans, func(i, j int) bool { return scans[i].Date.After(scans[j].Date) })
}

// matchPR picks the PR scan of the change: same PR and repository and, when
// the head commit is known, the same commit. A scan of an older commit of
// the PR is no match: the gate keeps waiting for the scan of this one.
func matchPR(scans []cortex.Scan, c Change) match {
	var kept []*cortex.Scan
	olderCommits := 0
	for i := range scans {
		s := &scans[i]
		if !samePR(s.PullRequestID, c.PRID) || !sameRepo(s.RepoName, c) {
			continue
		}
		if c.CommitSHA != "" && !sameCommit(s.CommitID, c.CommitSHA) {
			olderCommits++
			continue
		}
		kept = append(kept, s)
	}
	if len(kept) == 0 {
		reason := fmt.Sprintf("no PR scan of %s yet", describe(c))
		if olderCommits > 0 {
			reason += fmt.Sprintf(" (%d of other commits of the PR skipped)", olderCommits)
		}
		return match{reason: reason}
	}
	newestFirst(kept)
	reason := fmt.Sprintf("PR scan %s: %s", kept[0].ID, plural(len(kept), "matching scan"))
	if len(kept) > 1 {
		reason += ", the newest chosen"
	}
	if olderCommits > 0 {
		reason += fmt.Sprintf("; %s of other commits skipped", plural(olderCommits, "scan"))
	}
	return match{scan: kept[0], reason: reason}
}

// matchCI picks the CI scan of the change: same repository and branch (when
// known); the same commit when the items carry one, otherwise the newest
// not older than maxAge. Cortex's CI scans have no commit id in the vendor
// description, so the age rule is the common case.
func matchCI(scans []cortex.Scan, c Change, now time.Time, maxAge time.Duration) match {
	var byCommit, byAge []*cortex.Scan
	tooOld, otherCommit, undated := 0, 0, 0
	for i := range scans {
		s := &scans[i]
		if !sameRepo(s.RepoName, c) {
			continue
		}
		if c.Branch != "" && s.BranchName != "" && !strings.EqualFold(s.BranchName, c.Branch) {
			continue
		}
		switch {
		case s.CommitID != "" && c.CommitSHA != "":
			if sameCommit(s.CommitID, c.CommitSHA) {
				byCommit = append(byCommit, s)
			} else {
				otherCommit++
			}
		case s.Date.IsZero():
			undated++
		case now.Sub(s.Date) > maxAge:
			tooOld++
		default:
			byAge = append(byAge, s)
		}
	}
	if len(byCommit) > 0 {
		newestFirst(byCommit)
		return match{scan: byCommit[0], reason: fmt.Sprintf("CI scan %s: %s of commit %s", byCommit[0].ID, plural(len(byCommit), "scan"), short(c.CommitSHA))}
	}
	if len(byAge) > 0 && otherCommit == 0 {
		newestFirst(byAge)
		return match{scan: byAge[0], reason: fmt.Sprintf("CI scan %s: the newest of %s of %s within max-scan-age %s (Cortex gives no commit id for CI scans)",
			byAge[0].ID, plural(len(byAge), "scan"), describe(c), maxAge)}
	}
	reason := fmt.Sprintf("no CI scan of %s yet", describe(c))
	var skipped []string
	if otherCommit > 0 {
		skipped = append(skipped, plural(otherCommit, "scan")+" of other commits")
	}
	if tooOld > 0 {
		skipped = append(skipped, fmt.Sprintf("%s older than max-scan-age %s", plural(tooOld, "scan"), maxAge))
	}
	if undated > 0 {
		skipped = append(skipped, plural(undated, "scan")+" without a readable scanDate")
	}
	if len(skipped) > 0 {
		reason += " (skipped " + strings.Join(skipped, ", ") + ")"
	}
	return match{reason: reason}
}

// matchID picks the scan the user named with scan-id.
func matchID(scans []cortex.Scan, id string) match {
	for i := range scans {
		if scans[i].ID == id {
			return match{scan: &scans[i], reason: fmt.Sprintf("scan %s, given by scan-id", id)}
		}
	}
	return match{reason: fmt.Sprintf("scan %s (given by scan-id) not listed yet", id)}
}

// describe names the change in log lines: "acme/payments-api PR #42 at 0123abc".
func describe(c Change) string {
	var b strings.Builder
	if c.Organization != "" {
		b.WriteString(c.Organization + "/")
	}
	b.WriteString(c.Repository)
	if c.PRID != "" && c.ScanType == cortex.ScanTypePR {
		b.WriteString(" PR #" + c.PRID)
	} else if c.Branch != "" {
		b.WriteString(" on " + c.Branch)
	}
	if c.CommitSHA != "" {
		b.WriteString(" at " + short(c.CommitSHA))
	}
	return strings.TrimSpace(b.String())
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
