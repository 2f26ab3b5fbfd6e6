// Package reporter holds what every renderer of a gate.Result needs besides
// the result itself. The renderers live in sub-packages, one format each.
package reporter

import (
	"net/url"
	"strings"
)

// Context says where the change lives, so reports can link to it.
type Context struct {
	// ServerURL is the forge's web address, e.g. https://github.com or a
	// GitHub Enterprise Server / self-managed GitLab URL. Empty: no links.
	ServerURL string
	// Platform is "github", "gitlab", or "" (blob URLs differ).
	Platform string
	// RepoPath is "owner/repo" (GitLab: "group/subgroup/project").
	RepoPath string
	// HeadSHA is the commit the files are linked at.
	HeadSHA string
	// MaxCommentItems is how many issues the comment lists in full.
	MaxCommentItems int
	// FullReportHint says where the full list is, e.g. "the job summary".
	FullReportHint string
	// RunURL links to the CI run, when known.
	RunURL string
}

// BlobURL is the web address of a file at the head commit, or "" when the
// context does not know the forge or the path could leave the repository
// (a "." or ".." segment from a hostile scan would resolve to any page of
// the forge). Path segments are escaped.
func (c Context) BlobURL(path string) string {
	if c.ServerURL == "" || c.RepoPath == "" || c.HeadSHA == "" || path == "" {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if s == "." || s == ".." || s == "" {
			return ""
		}
		segs[i] = url.PathEscape(s)
	}
	base := strings.TrimSuffix(c.ServerURL, "/") + "/" + c.RepoPath
	if c.Platform == "gitlab" {
		return base + "/-/blob/" + url.PathEscape(c.HeadSHA) + "/" + strings.Join(segs, "/")
	}
	return base + "/blob/" + url.PathEscape(c.HeadSHA) + "/" + strings.Join(segs, "/")
}
