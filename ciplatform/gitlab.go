package ciplatform

import (
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// detectGitLab reads GitLab CI's predefined variables.
//
// In an MR pipeline the repository is the MR's target project
// (CI_MERGE_REQUEST_PROJECT_*): a fork's MR pipeline may run in the fork,
// where CI_PROJECT_* name the fork, but the MR, its notes and Cortex's PR
// scan belong to the target. Organization is the full namespace path
// (group/subgroup), which is what GitLab calls the project's namespace.
//
// GitLab docs: https://docs.gitlab.com/ci/variables/predefined_variables/
func detectGitLab(env func(string) string) Context {
	c := Context{
		Platform:   GitLab,
		Event:      env("CI_PIPELINE_SOURCE"),
		ServerURL:  strings.TrimSuffix(env("CI_SERVER_URL"), "/"),
		APIURL:     strings.TrimSuffix(env("CI_API_V4_URL"), "/"),
		RunURL:     firstOf(env("CI_JOB_URL"), env("CI_PIPELINE_URL")),
		RepoPath:   env("CI_PROJECT_PATH"),
		ProjectID:  env("CI_PROJECT_ID"),
		ProjectURL: env("CI_PROJECT_URL"),
	}
	if c.APIURL == "" && c.ServerURL != "" {
		c.APIURL = c.ServerURL + "/api/v4"
	}
	c.Organization = env("CI_PROJECT_NAMESPACE")
	c.Repository = env("CI_PROJECT_NAME")
	if ns, name := splitPath(c.RepoPath); c.Organization == "" || c.Repository == "" {
		c.Organization, c.Repository = firstOf(c.Organization, ns), firstOf(c.Repository, name)
	}

	iid := env("CI_MERGE_REQUEST_IID")
	if iid == "" {
		gitlabCI(&c, env)
		return c
	}

	c.ScanType = cortex.ScanTypePR
	c.PRID = iid // the project-level IID; CI_MERGE_REQUEST_ID is instance-wide and wrong for the API
	if target := env("CI_MERGE_REQUEST_PROJECT_PATH"); target != "" && target != c.RepoPath {
		c.notef("the pipeline runs in %s but the MR belongs to %s: using the MR's project", c.RepoPath, target)
		c.RepoPath = target
		c.Organization, c.Repository = splitPath(target)
		c.ProjectURL = env("CI_MERGE_REQUEST_PROJECT_URL")
	}
	c.ProjectID = firstOf(env("CI_MERGE_REQUEST_PROJECT_ID"), c.ProjectID)
	c.Branch = firstOf(env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"), env("CI_COMMIT_REF_NAME"))

	sha := env("CI_COMMIT_SHA")
	eventType := env("CI_MERGE_REQUEST_EVENT_TYPE")
	sourceSHA := env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
	c.CommitSHA = sha
	switch {
	case sourceSHA != "":
		// Merged-results and merge-train pipelines build a merge of source
		// and target: CI_COMMIT_SHA is that merge, the source head is here.
		c.CommitSHA = sourceSHA
		if !strings.EqualFold(sha, sourceSHA) {
			c.notef("CI_COMMIT_SHA %s is the %s commit; using the MR source head %s", short(sha), mergeKind(eventType), short(sourceSHA))
		}
	case eventType == "merged_result" || eventType == "merge_train":
		c.CommitSHA = ""
		c.notef("%s pipeline without CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: CI_COMMIT_SHA %s is a merge commit, so the head commit is unknown", mergeKind(eventType), short(sha))
	}

	src, dst := env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID"), env("CI_MERGE_REQUEST_PROJECT_ID")
	c.Fork = src != "" && dst != "" && src != dst
	c.notef("GitLab CI %s pipeline (%s) on %s: MR !%s, source %s at %s",
		firstOf(c.Event, "merge_request_event"), firstOf(eventType, "detached"), c.RepoPath, c.PRID, c.Branch, short(c.CommitSHA))
	if c.Fork {
		c.notef("the MR comes from a fork (source project %s, target project %s)", src, dst)
	}
	return c
}

// gitlabCI fills a CI scan of CI_COMMIT_SHA on the branch or tag built.
func gitlabCI(c *Context, env func(string) string) {
	c.ScanType = cortex.ScanTypeCI
	c.CommitSHA = env("CI_COMMIT_SHA")
	c.Branch = firstOf(env("CI_COMMIT_BRANCH"), env("CI_COMMIT_REF_NAME"))
	c.notef("GitLab CI %s pipeline on %s: CI scan of %s on %s", firstOf(c.Event, "(unknown source)"), c.RepoPath, short(c.CommitSHA), c.Branch)
	if tag := env("CI_COMMIT_TAG"); tag != "" {
		c.notef("%s is a tag, not a branch: the branch filter is the tag name", tag)
	}
	if pr := env("CI_EXTERNAL_PULL_REQUEST_IID"); pr != "" {
		// The pull request lives on GitHub: an MR note would land on the
		// wrong MR, so this stays a CI scan unless the user says otherwise.
		c.notef("external pull request #%s (GitHub, via CI/CD for external repositories): gated as a CI scan; set scan-type: pr and pr-id to gate its PR scan", pr)
	}
	if c.CommitSHA == "" {
		c.notef("CI_COMMIT_SHA is empty: head commit unknown")
	}
}

func mergeKind(eventType string) string {
	if eventType == "merge_train" {
		return "merge train"
	}
	return "merged results"
}
