package ciplatform

import (
	"net/url"
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// detectJenkins reads the variables of Jenkins' branch-api (multibranch) and
// git plugins.
//
// Jenkins docs: https://www.jenkins.io/doc/book/pipeline/multibranch/ and the
// git plugin's "Environment variables" section.
func detectJenkins(env func(string) string) Context {
	c := Context{Platform: Jenkins, RunURL: env("BUILD_URL")}

	gitURL := firstOf(env("GIT_URL"), env("GIT_URL_1"))
	if r, ok := parseGitURL(gitURL); ok {
		c.ServerURL, c.RepoPath = r.serverURL, r.path
		c.Organization, c.Repository = splitPath(r.path)
	} else if gitURL == "" {
		c.notef("GIT_URL is not set (no checkout yet?): set organization and repository")
	} else {
		// The raw value may carry credentials: never repeat it.
		c.notef("GIT_URL is not a URL cortex-gate can read a repository from: set organization and repository")
	}

	c.PRID = env("CHANGE_ID")
	c.Branch = firstOf(env("CHANGE_BRANCH"), env("BRANCH_NAME"))
	if c.Branch == "" {
		// A plain (not multibranch) pipeline: only the git plugin's names.
		c.Branch = firstOf(env("GIT_LOCAL_BRANCH"), remoteBranch(env("GIT_BRANCH")))
	}
	c.CommitSHA = firstOf(env("CHANGE_BRANCH_COMMIT_ID"), env("GIT_COMMIT"))

	if c.PRID == "" {
		c.ScanType = cortex.ScanTypeCI
		c.notef("Jenkins branch build of %s: CI scan of %s on %s", c.RepoPath, short(c.CommitSHA), c.Branch)
		if tag := env("TAG_NAME"); tag != "" {
			c.notef("%s is a tag, not a branch: the branch filter is the tag name", tag)
		}
		return c
	}

	c.ScanType = cortex.ScanTypePR
	c.notef("Jenkins change request build of %s: PR #%s, head %s at %s", c.RepoPath, c.PRID, c.Branch, short(c.CommitSHA))
	if env("CHANGE_BRANCH_COMMIT_ID") == "" && c.CommitSHA != "" {
		c.notef("GIT_COMMIT %s may be a merge commit Jenkins made with %s (the 'merge with the target branch' PR strategy): set CHANGE_BRANCH_COMMIT_ID or commit-sha to the PR head",
			short(c.CommitSHA), firstOf(env("CHANGE_TARGET"), "the target branch"))
	}
	if fork := env("CHANGE_FORK"); fork != "" {
		c.Fork = true
		c.notef("the change comes from the fork %s", fork)
	}
	return c
}

// gitRemote is what a Git remote URL says about the repository.
type gitRemote struct {
	serverURL string // https://host[:port] (http when the remote is http)
	path      string // owner/repo or group/subgroup/project, without .git
}

// parseGitURL reads https://, http://, ssh://, git:// and scp-like
// (git@host:owner/repo.git) remotes. Credentials in the URL are dropped.
// For ssh remotes the web server is assumed to be https on the same host.
func parseGitURL(raw string) (gitRemote, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return gitRemote{}, false
	}
	var host, path, scheme string
	if i := strings.Index(raw, "://"); i >= 0 {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return gitRemote{}, false
		}
		scheme, host, path = strings.ToLower(u.Scheme), u.Host, u.Path
		if scheme != "http" && scheme != "https" {
			// ssh:// and git:// ports are not the web server's.
			host = u.Hostname()
		}
	} else {
		// scp-like: [user@]host:path, where host has no slash.
		// A one-letter "host" is a Windows drive (C:/repos/app).
		hostPart, p, ok := strings.Cut(raw, ":")
		if !ok || strings.Contains(hostPart, "/") || len(hostPart) == 1 {
			return gitRemote{}, false
		}
		if _, h, found := strings.Cut(hostPart, "@"); found {
			hostPart = h
		}
		host, path = hostPart, p
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	path = strings.Trim(path, "/")
	if host == "" || !strings.Contains(path, "/") {
		return gitRemote{}, false
	}
	if scheme != "http" {
		scheme = "https"
	}
	return gitRemote{serverURL: scheme + "://" + host, path: path}, true
}

// remoteBranch strips the remote name from the git plugin's GIT_BRANCH
// ("origin/main" is the branch "main").
func remoteBranch(b string) string {
	b = strings.TrimPrefix(b, "refs/remotes/")
	b = strings.TrimPrefix(b, "refs/heads/")
	if s, ok := strings.CutPrefix(b, "origin/"); ok {
		return s
	}
	return b
}
