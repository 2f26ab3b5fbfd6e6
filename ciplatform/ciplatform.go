// Package ciplatform detects the change being built from the CI environment:
// which forge and CI system, which repository, and which pull request (or
// branch) and head commit the gate should look for in Cortex.
//
// Detection only reads: the environment through an injected getenv, and on
// GitHub Actions the event payload at GITHUB_EVENT_PATH through an injected
// readFile. Settings given by the user (flags, inputs, CORTEX_* variables)
// override what is detected; that precedence lives with the settings, not here.
//
// Choices where the platforms leave room:
//   - CommitSHA is the change's head, never a merge commit the CI made. When
//     only a merge commit is known (a pull_request run without a payload, an
//     issue_comment, a merged-results pipeline without the source SHA) it is
//     "" and a Note says so: the gate then matches the newest scan of the PR.
//   - A push that deleted its ref sets Deleted, with no commit and a Note:
//     there is nothing to gate, and the caller decides (skip, or fail).
//   - Tags are built like branches: Branch is the tag name, with a Note.
//   - GitLab's Organization is the full namespace path (group/subgroup),
//     CI_PROJECT_NAMESPACE; set organization when Cortex knows the group by
//     another name. In an MR pipeline the repository is the MR's target
//     project, even when the pipeline runs in the fork.
//   - GitLab pipelines for external (GitHub) pull requests stay CI scans: the
//     PR number is not an MR IID, and an MR note would land on the wrong MR.
package ciplatform

import (
	"fmt"
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// Platform is the CI system the gate runs in.
type Platform string

const (
	None    Platform = ""        // no CI detected: the change comes from settings alone
	GitHub  Platform = "github"  // GitHub Actions (GITHUB_ACTIONS=true)
	GitLab  Platform = "gitlab"  // GitLab CI (GITLAB_CI=true)
	Jenkins Platform = "jenkins" // Jenkins (JENKINS_URL set)
)

// Context is what the CI environment says about the change.
type Context struct {
	Platform Platform
	// Event is the GitHub event name (GITHUB_EVENT_NAME) or the GitLab
	// pipeline source (CI_PIPELINE_SOURCE); "" on Jenkins.
	Event string
	// ScanType is "pr" when the run is for a PR/MR, else "ci"; "" when no
	// CI platform was detected.
	ScanType cortex.ScanType
	// Organization is the owner (GitHub, Jenkins) or, on GitLab, the full
	// namespace path such as "group/subgroup": Cortex's organizationName.
	Organization string
	// Repository is the repository name alone, as Cortex's repoName.
	Repository string
	// RepoPath is "owner/repo" or "group/subgroup/project", for links and the
	// forge's API.
	RepoPath string
	// Branch is the PR/MR source (head) branch, or the branch (or tag) built.
	Branch string
	// PRID is the PR number, the MR IID or Jenkins' CHANGE_ID.
	PRID string
	// CommitSHA is the head commit of the change, never a merge commit the CI
	// made; "" when the environment does not tell it (see Notes).
	CommitSHA string
	// Fork is set when the PR/MR comes from another repository (a fork).
	Fork bool
	// Deleted is set for a push that deleted its branch or tag: there is no
	// commit to gate, and the caller decides what to do (CommitSHA is "").
	Deleted bool
	// ServerURL is the forge's web address (GITHUB_SERVER_URL, CI_SERVER_URL,
	// or derived from Jenkins' GIT_URL).
	ServerURL string
	// APIURL is the forge's REST root (GITHUB_API_URL, CI_API_V4_URL); "" on
	// Jenkins.
	APIURL string
	// RunURL links to this CI run when the environment tells it.
	RunURL string
	// ProjectID and ProjectURL are GitLab's project of the MR (the target
	// project for an MR, else CI_PROJECT_ID / CI_PROJECT_URL).
	ProjectID  string
	ProjectURL string
	// Notes are human-readable lines on what was detected and anything odd,
	// for the caller to log. They never hold credentials.
	Notes []string
}

// Detect reads the CI environment. getenv returns an environment variable
// ("" when unset); readFile reads the GitHub event payload. The only error is
// an unreadable or malformed GITHUB_EVENT_PATH; anything else odd is a Note.
//
// Platforms are tried in order: GitHub Actions, GitLab CI, Jenkins. With none
// of them, Detect returns the zero Context.
func Detect(getenv func(string) string, readFile func(string) ([]byte, error)) (Context, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	switch {
	case env("GITHUB_ACTIONS") == "true":
		return detectGitHub(env, readFile)
	case env("GITLAB_CI") == "true":
		return detectGitLab(env), nil
	case env("JENKINS_URL") != "":
		return detectJenkins(env), nil
	}
	return Context{}, nil
}

// notef appends one note.
func (c *Context) notef(format string, args ...any) {
	c.Notes = append(c.Notes, fmt.Sprintf(format, args...))
}

// short is the 7-character form of a commit id, as forges show it.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// splitPath splits "a/b/c" into the namespace "a/b" and the name "c".
func splitPath(p string) (namespace, name string) {
	p = strings.Trim(p, "/")
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// isZeroSHA reports whether sha is Git's all-zero "no commit" id.
func isZeroSHA(sha string) bool {
	return sha != "" && strings.Trim(sha, "0") == ""
}

// firstOf returns the first non-empty value.
func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
