package ciplatform

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// jenkinsOracle is multibranch-env.json: the documented names and the
// example environments.
type jenkinsOracle struct {
	BranchAPI map[string]string            `json:"branch_api"`
	GitPlugin map[string]string            `json:"git_plugin"`
	Examples  map[string]map[string]string `json:"test_env_examples"`
}

func readJenkinsOracle(t *testing.T) (jenkinsOracle, map[string]bool) {
	t.Helper()
	var o struct {
		BranchAPI map[string]string `json:"branch_api"`
		GitPlugin map[string]string `json:"git_plugin"`
		Examples  map[string]any    `json:"test_env_examples"`
	}
	readJSON(t, filepath.Join(oracles, "jenkins", "multibranch-env.json"), &o)
	out := jenkinsOracle{BranchAPI: o.BranchAPI, GitPlugin: o.GitPlugin, Examples: map[string]map[string]string{}}
	for name, v := range o.Examples {
		m, ok := v.(map[string]any)
		if !ok {
			continue // the _note
		}
		env := map[string]string{}
		for k, val := range m {
			env[k] = fmt.Sprint(val)
		}
		out.Examples[name] = env
	}
	names := map[string]bool{
		"JENKINS_URL": true, "BUILD_URL": true, // Jenkins core, every build
		"GIT_URL_1": true, // the git plugin's GIT_URL_n, named under GIT_URL
		// SPEC.md's name for the PR head when Jenkins merged it with the
		// target: not set by Jenkins itself, the pipeline sets it (see
		// examples/jenkins/Jenkinsfile).
		"CHANGE_BRANCH_COMMIT_ID": true,
	}
	for k := range o.BranchAPI {
		names[k] = true
	}
	for k := range o.GitPlugin {
		names[k] = true
	}
	return out, names
}

func TestJenkinsReadsOnlyDocumentedVariables(t *testing.T) {
	t.Parallel()
	_, doc := readJenkinsOracle(t)
	for _, name := range envNamesIn(t, "jenkins.go") {
		if !doc[name] {
			t.Errorf("jenkins.go reads %s, which the Jenkins oracle does not document", name)
		}
	}
}

const (
	jkHead  = "4444444444444444444444444444444444444444"
	jkMerge = "5555555555555555555555555555555555555555"
)

func TestDetectJenkins(t *testing.T) {
	t.Parallel()
	oracle, doc := readJenkinsOracle(t)
	// example is an oracle environment with <sha> filled in, on a Jenkins
	// that cloned https://github.com/acme/app.git.
	example := func(name string, extra map[string]string) map[string]string {
		env := map[string]string{
			"JENKINS_URL": "https://jenkins.example.com/",
			"BUILD_URL":   "https://jenkins.example.com/job/app/job/main/3/",
			"GIT_URL":     "https://github.com/acme/app.git",
		}
		for k, v := range oracle.Examples[name] {
			env[k] = strings.ReplaceAll(v, "<sha>", jkMerge)
		}
		for k, v := range extra {
			env[k] = v
		}
		for k := range env {
			if !doc[k] {
				t.Fatalf("test environment uses %s, which the Jenkins oracle does not document", k)
			}
		}
		return env
	}
	if len(oracle.Examples) != 2 {
		t.Fatalf("oracle has %d example environments, want pr_build and branch_build", len(oracle.Examples))
	}
	base := Context{
		Platform: Jenkins, Organization: "acme", Repository: "app", RepoPath: "acme/app",
		ServerURL: "https://github.com", RunURL: "https://jenkins.example.com/job/app/job/main/3/",
	}
	with := func(f func(*Context)) Context { c := base; f(&c); return c }

	tests := []struct {
		name string
		env  map[string]string
		want Context
		note []string
	}{
		{
			name: "PR build from a fork (oracle pr_build): CHANGE_BRANCH, GIT_COMMIT noted",
			env:  example("pr_build", nil),
			want: with(func(c *Context) {
				c.ScanType, c.Branch, c.PRID, c.CommitSHA, c.Fork = cortex.ScanTypePR, "feature/x", "24", jkMerge, true
			}),
			note: []string{"GIT_COMMIT 5555555 may be a merge commit", "main"},
		},
		{
			name: "PR build with the head commit given",
			env:  example("pr_build", map[string]string{"CHANGE_BRANCH_COMMIT_ID": jkHead, "CHANGE_FORK": ""}),
			want: with(func(c *Context) {
				c.ScanType, c.Branch, c.PRID, c.CommitSHA = cortex.ScanTypePR, "feature/x", "24", jkHead
			}),
		},
		{
			name: "branch build (oracle branch_build)",
			env:  example("branch_build", nil),
			want: with(func(c *Context) { c.ScanType, c.Branch, c.CommitSHA = cortex.ScanTypeCI, "main", jkMerge }),
		},
		{
			name: "plain pipeline: branch from GIT_BRANCH without the remote",
			env:  example("branch_build", map[string]string{"BRANCH_NAME": ""}),
			want: with(func(c *Context) { c.ScanType, c.Branch, c.CommitSHA = cortex.ScanTypeCI, "main", jkMerge }),
		},
		{
			name: "tag build",
			env:  example("branch_build", map[string]string{"BRANCH_NAME": "v2.0", "TAG_NAME": "v2.0", "GIT_BRANCH": ""}),
			want: with(func(c *Context) { c.ScanType, c.Branch, c.CommitSHA = cortex.ScanTypeCI, "v2.0", jkMerge }),
			note: []string{"v2.0 is a tag"},
		},
		{
			name: "no GIT_URL: repository unknown, said so",
			env:  example("branch_build", map[string]string{"GIT_URL": ""}),
			want: with(func(c *Context) {
				c.ScanType, c.Branch, c.CommitSHA = cortex.ScanTypeCI, "main", jkMerge
				c.Organization, c.Repository, c.RepoPath, c.ServerURL = "", "", "", ""
			}),
			note: []string{"GIT_URL is not set"},
		},
		{
			name: "GIT_URL_1 when GIT_URL is unset",
			env:  example("branch_build", map[string]string{"GIT_URL": "", "GIT_URL_1": "git@github.com:acme/app.git"}),
			want: with(func(c *Context) { c.ScanType, c.Branch, c.CommitSHA = cortex.ScanTypeCI, "main", jkMerge }),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Detect(mapEnv(tc.env), noFile(t))
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreNotes); diff != "" {
				t.Errorf("Detect mismatch (-want +got):\n%s\nnotes: %q", diff, got.Notes)
			}
			if tc.note != nil && !hasNote(got.Notes, tc.note...) {
				t.Errorf("no note with %q in %q", tc.note, got.Notes)
			}
		})
	}
}

// TestDetectJenkinsGitURLForms reads the repository from every remote form
// Jenkins users configure, and never keeps the credentials some embed.
func TestDetectJenkinsGitURLForms(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-t0ken"
	tests := []struct {
		gitURL, server, org, repo string
	}{
		{"https://github.com/acme/app.git", "https://github.com", "acme", "app"},
		{"https://github.com/acme/app", "https://github.com", "acme", "app"},
		{"https://github.com/acme/app/", "https://github.com", "acme", "app"},
		{"https://x-access-token:" + secret + "@github.com/acme/app.git", "https://github.com", "acme", "app"},
		{"https://" + secret + "@github.com/acme/app.git", "https://github.com", "acme", "app"},
		{"http://gitea.local:3000/acme/app.git", "http://gitea.local:3000", "acme", "app"},
		{"https://gitlab.example.com:8443/group/sub/project.git", "https://gitlab.example.com:8443", "group/sub", "project"},
		{"git@github.com:acme/app.git", "https://github.com", "acme", "app"},
		{"git@github.com:acme/app", "https://github.com", "acme", "app"},
		{"github.com:acme/app.git", "https://github.com", "acme", "app"},
		{"git@gitlab.example.com:group/sub/project.git", "https://gitlab.example.com", "group/sub", "project"},
		{"ssh://git@github.com/acme/app.git", "https://github.com", "acme", "app"},
		{"ssh://git@gitlab.example.com:2222/group/project.git", "https://gitlab.example.com", "group", "project"},
		{"ssh://deploy:" + secret + "@git.example.com/acme/app", "https://git.example.com", "acme", "app"},
		{"git://github.com/acme/app.git", "https://github.com", "acme", "app"},
		{" https://github.com/acme/app.git ", "https://github.com", "acme", "app"},
		// Not readable: no owner/repo, a local path, a broken URL with a secret.
		{"https://github.com/app.git", "", "", ""},
		{"/var/git/app.git", "", "", ""},
		{"C:/repos/acme/app", "", "", ""},
		{"file:///var/git/acme/app.git", "", "", ""},
		{"https://user:" + secret + "@github.com/acme/%zz.git", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.gitURL, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"JENKINS_URL": "https://ci.example.com/", "GIT_URL": tc.gitURL, "BRANCH_NAME": "main", "GIT_COMMIT": jkHead}
			got, err := Detect(mapEnv(env), noFile(t))
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			wantPath := ""
			if tc.repo != "" {
				wantPath = tc.org + "/" + tc.repo
			}
			if diff := cmp.Diff([]string{tc.server, tc.org, tc.repo, wantPath}, []string{got.ServerURL, got.Organization, got.Repository, got.RepoPath}); diff != "" {
				t.Errorf("server, org, repo, path mismatch (-want +got):\n%s", diff)
			}
			if tc.repo == "" && !hasNote(got.Notes, "GIT_URL", "set organization and repository") {
				t.Errorf("no note on the unreadable GIT_URL in %q", got.Notes)
			}
			if s := fmt.Sprintf("%+v", got); strings.Contains(s, secret) {
				t.Errorf("the credential from GIT_URL leaked into the context: %s", s)
			}
		})
	}
}
