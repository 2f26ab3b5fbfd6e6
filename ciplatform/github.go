package ciplatform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// ghEvent is the part of a GitHub webhook payload detection reads. Every
// field is optional: older payloads lack newer fields, and each event has its
// own shape.
//
// GitHub docs: https://docs.github.com/webhooks/webhook-events-and-payloads
type ghEvent struct {
	Action      string        `json:"action"`
	Number      int           `json:"number"`
	PullRequest *ghPull       `json:"pull_request"`
	Ref         string        `json:"ref"`
	After       string        `json:"after"`
	Deleted     bool          `json:"deleted"`
	Repository  *ghRepo       `json:"repository"`
	Issue       *ghIssue      `json:"issue"`
	MergeGroup  *ghMergeGroup `json:"merge_group"`
}

type ghPull struct {
	Number int    `json:"number"`
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	Head   ghRef  `json:"head"`
	Base   ghRef  `json:"base"`
}

type ghRef struct {
	Ref  string  `json:"ref"`
	SHA  string  `json:"sha"`
	Repo *ghRepo `json:"repo"` // null when the head repository (a fork) was deleted
}

type ghRepo struct {
	FullName string `json:"full_name"`
}

type ghIssue struct {
	Number int `json:"number"`
	// PullRequest is present only when the issue is a pull request.
	PullRequest *struct {
		URL string `json:"url"`
	} `json:"pull_request"`
}

type ghMergeGroup struct {
	HeadSHA string `json:"head_sha"`
	HeadRef string `json:"head_ref"`
}

// detectGitHub reads GitHub Actions' default variables and event payload.
//
// GitHub docs: https://docs.github.com/actions/reference/workflows-and-actions/variables
// and https://docs.github.com/actions/reference/workflows-and-actions/events-that-trigger-workflows
func detectGitHub(env func(string) string, readFile func(string) ([]byte, error)) (Context, error) {
	c := Context{
		Platform:  GitHub,
		Event:     env("GITHUB_EVENT_NAME"),
		ServerURL: strings.TrimSuffix(firstOf(env("GITHUB_SERVER_URL"), "https://github.com"), "/"),
		APIURL:    strings.TrimSuffix(firstOf(env("GITHUB_API_URL"), "https://api.github.com"), "/"),
	}
	ev, err := readGitHubEvent(env("GITHUB_EVENT_PATH"), readFile)
	if err != nil {
		return Context{}, err
	}

	c.RepoPath = env("GITHUB_REPOSITORY")
	if c.RepoPath == "" && ev.Repository != nil {
		c.RepoPath = ev.Repository.FullName
		c.notef("GITHUB_REPOSITORY is empty; using the payload's repository %s", c.RepoPath)
	}
	c.Organization, c.Repository = splitPath(c.RepoPath)
	if c.Organization == "" || strings.Contains(c.Organization, "/") {
		c.notef("repository %q is not owner/repo: set organization and repository", c.RepoPath)
	}
	if id := env("GITHUB_RUN_ID"); id != "" && c.RepoPath != "" {
		c.RunURL = c.ServerURL + "/" + c.RepoPath + "/actions/runs/" + id
	}

	sha := env("GITHUB_SHA")
	refName := firstOf(env("GITHUB_REF_NAME"), refShortName(env("GITHUB_REF")))

	switch {
	case strings.HasPrefix(c.Event, "pull_request"):
		// pull_request, pull_request_target and the review events: GITHUB_SHA
		// is a merge commit (or, for _target, the base branch's tip), so the
		// head comes from the payload.
		githubPR(&c, ev, env, sha)
	case c.Event == "issue_comment" && ev.Issue != nil && ev.Issue.PullRequest != nil:
		c.ScanType = cortex.ScanTypePR
		c.PRID = fmt.Sprint(ev.Issue.Number)
		c.notef("GitHub Actions issue_comment on PR #%s of %s: the payload has no head commit, so the newest PR scan of the PR is used (GITHUB_SHA %s is the default branch's, not the PR's)",
			c.PRID, c.RepoPath, short(sha))
	case c.Event == "push" && (ev.Deleted || isZeroSHA(ev.After)):
		c.ScanType = cortex.ScanTypeCI
		c.Branch = refName
		c.Deleted = true
		c.notef("GitHub Actions push deleted %s of %s: nothing to gate, the ref has no commit any more", firstOf(ev.Ref, refName), c.RepoPath)
	default:
		ref := firstOf(env("GITHUB_REF"), ev.Ref)
		githubCI(&c, ev, sha, refName, env("GITHUB_REF_TYPE") == "tag" || strings.HasPrefix(ref, "refs/tags/"))
	}
	return c, nil
}

// githubPR fills a PR scan from a pull_request* payload.
func githubPR(c *Context, ev ghEvent, env func(string) string, sha string) {
	c.ScanType = cortex.ScanTypePR
	pr := ev.PullRequest
	if pr == nil {
		// No payload: the PR number is in GITHUB_REF (refs/pull/N/merge) and
		// the head branch in GITHUB_HEAD_REF, but the head commit is unknown.
		c.PRID = prFromRef(env("GITHUB_REF"))
		c.Branch = env("GITHUB_HEAD_REF")
		c.notef("GitHub Actions %s on %s without a pull_request payload: PR #%s, head commit unknown (GITHUB_SHA %s is a merge commit, not used)",
			c.Event, c.RepoPath, c.PRID, short(sha))
		return
	}
	c.PRID = prFromRef(env("GITHUB_REF"))
	if n := firstNonZero(pr.Number, ev.Number); n > 0 {
		c.PRID = fmt.Sprint(n)
	}
	c.Branch = firstOf(pr.Head.Ref, env("GITHUB_HEAD_REF"))
	c.CommitSHA = pr.Head.SHA

	action := ""
	if ev.Action != "" {
		action = " (" + ev.Action + ")"
	}
	c.notef("GitHub Actions %s%s on %s: PR #%s, head %s at %s", c.Event, action, c.RepoPath, c.PRID, c.Branch, short(c.CommitSHA))

	if sha != "" && c.CommitSHA != "" && !strings.EqualFold(sha, c.CommitSHA) {
		if c.Event == "pull_request_target" {
			c.notef("GITHUB_SHA %s is the base branch's tip under pull_request_target; using the PR head %s", short(sha), short(c.CommitSHA))
		} else {
			c.notef("GITHUB_SHA %s is the merge commit; using the PR head %s", short(sha), short(c.CommitSHA))
		}
	}
	if c.CommitSHA == "" {
		c.notef("the payload has no pull_request.head.sha: head commit unknown")
	}

	base := c.RepoPath
	if pr.Base.Repo != nil && pr.Base.Repo.FullName != "" {
		base = pr.Base.Repo.FullName
	}
	switch {
	case pr.Head.Repo == nil:
		// GitHub nulls head.repo when the fork the PR came from was deleted.
		c.Fork = true
		c.notef("the PR's head repository is gone (a deleted fork): treated as a fork")
	case !strings.EqualFold(pr.Head.Repo.FullName, base):
		c.Fork = true
		c.notef("the PR comes from the fork %s: under pull_request its token is read-only and secrets are withheld, so the comment and check run may fail (a warning, never the verdict)", pr.Head.Repo.FullName)
	}
	if pr.State == "closed" {
		state := "closed without merging"
		if pr.Merged {
			state = "merged"
		}
		c.notef("the PR is %s", state)
	}
}

// githubCI fills a CI scan of GITHUB_SHA on GITHUB_REF_NAME: push,
// merge_group, workflow_dispatch, schedule and any other event.
func githubCI(c *Context, ev ghEvent, sha, refName string, tag bool) {
	c.ScanType = cortex.ScanTypeCI
	c.CommitSHA = sha
	c.Branch = refName
	switch {
	case c.Event == "merge_group" && ev.MergeGroup != nil:
		mg := ev.MergeGroup
		if c.CommitSHA == "" {
			c.CommitSHA = mg.HeadSHA
		}
		if c.Branch == "" {
			c.Branch = refShortName(mg.HeadRef)
		}
		c.notef("GitHub Actions merge_group on %s: CI scan of the merge queue's commit %s (merge_group.head_sha %s) on %s",
			c.RepoPath, short(c.CommitSHA), short(mg.HeadSHA), c.Branch)
		if mg.HeadSHA != "" && !strings.EqualFold(mg.HeadSHA, c.CommitSHA) {
			c.notef("GITHUB_SHA %s differs from merge_group.head_sha %s", short(sha), short(mg.HeadSHA))
		}
	case c.Event == "push" && ev.After != "":
		if c.CommitSHA == "" {
			c.CommitSHA = ev.After
		}
		c.notef("GitHub Actions push on %s: CI scan of %s on %s", c.RepoPath, short(c.CommitSHA), c.Branch)
		if !strings.EqualFold(ev.After, c.CommitSHA) {
			c.notef("GITHUB_SHA %s differs from the payload's after %s; using GITHUB_SHA", short(sha), short(ev.After))
		}
	default:
		c.notef("GitHub Actions %s on %s: CI scan of %s on %s", firstOf(c.Event, "(no event name)"), c.RepoPath, short(c.CommitSHA), c.Branch)
	}
	if c.Event == "issue_comment" {
		c.notef("the comment is on issue #%d, not a pull request", issueNumber(ev))
	}
	if tag {
		c.notef("%s is a tag, not a branch: the branch filter is the tag name", c.Branch)
	}
	if c.CommitSHA == "" {
		c.notef("GITHUB_SHA is empty: head commit unknown")
	}
}

// readGitHubEvent reads and decodes the payload at path; no path is no payload.
func readGitHubEvent(path string, readFile func(string) ([]byte, error)) (ghEvent, error) {
	var ev ghEvent
	if path == "" {
		return ev, nil
	}
	b, err := readFile(path)
	if err != nil {
		return ev, fmt.Errorf("failed to read the event payload GITHUB_EVENT_PATH %s: %w", path, err)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return ev, fmt.Errorf("failed to parse the event payload GITHUB_EVENT_PATH %s: not a JSON object", path)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("failed to parse the event payload GITHUB_EVENT_PATH %s: %w", path, err)
	}
	return ev, nil
}

// refShortName strips refs/heads/ or refs/tags/ from a full ref.
func refShortName(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if s, ok := strings.CutPrefix(ref, p); ok {
			return s
		}
	}
	return ref
}

// prFromRef is N in refs/pull/N/merge (or /head), else "".
func prFromRef(ref string) string {
	rest, ok := strings.CutPrefix(ref, "refs/pull/")
	if !ok {
		return ""
	}
	n, _, _ := strings.Cut(rest, "/")
	return n
}

func issueNumber(ev ghEvent) int {
	if ev.Issue == nil {
		return 0
	}
	return ev.Issue.Number
}

func firstNonZero(values ...int) int {
	for _, v := range values {
		if v != 0 {
			return v
		}
	}
	return 0
}
