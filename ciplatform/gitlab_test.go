package ciplatform

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cortex-gate/cortex-gate/cortex"
)

var ignoreNotes = cmpopts.IgnoreFields(Context{}, "Notes")

// gitlabDocumented is every variable named in the GitLab oracle, plus the
// few standard ones the subset leaves out.
func gitlabDocumented(t *testing.T) map[string]bool {
	t.Helper()
	var sections map[string]any
	readJSON(t, filepath.Join(oracles, "gitlab", "predefined-variables.subset.json"), &sections)
	names := map[string]bool{
		// In GitLab's predefined_variables.md but not in the subset.
		"CI_PROJECT_NAMESPACE": true, "CI_PROJECT_NAME": true, "CI_PROJECT_URL": true,
		"CI_MERGE_REQUEST_PROJECT_URL": true,
	}
	for _, v := range sections {
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				if !strings.HasPrefix(k, "_") {
					names[k] = true
				}
			}
		}
	}
	return names
}

// envNamesIn lists the variables a source file reads with env("...").
func envNamesIn(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`env\("([A-Z0-9_]+)"\)`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestGitLabReadsOnlyDocumentedVariables guards against a misspelt or
// invented name (CI_MERGE_REQUEST_ID for _IID is the classic).
func TestGitLabReadsOnlyDocumentedVariables(t *testing.T) {
	t.Parallel()
	doc := gitlabDocumented(t)
	for _, name := range envNamesIn(t, "gitlab.go") {
		if !doc[name] {
			t.Errorf("gitlab.go reads %s, which the GitLab oracle does not document", name)
		}
	}
}

// gitlabPipeline is the environment of a job, every key checked against the
// oracle so the tests cannot drift from GitLab's names.
func gitlabPipeline(t *testing.T, sets ...map[string]string) map[string]string {
	t.Helper()
	doc := gitlabDocumented(t)
	env := map[string]string{
		"CI": "true", "GITLAB_CI": "true",
		"CI_SERVER_URL": "https://gitlab.example.com", "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
		"CI_PROJECT_ID": "100", "CI_PROJECT_PATH": "group/subgroup/project",
		"CI_PROJECT_NAMESPACE": "group/subgroup", "CI_PROJECT_NAME": "project",
		"CI_PROJECT_URL":  "https://gitlab.example.com/group/subgroup/project",
		"CI_JOB_URL":      "https://gitlab.example.com/group/subgroup/project/-/jobs/555",
		"CI_PIPELINE_URL": "https://gitlab.example.com/group/subgroup/project/-/pipelines/77",
		"CI_PIPELINE_ID":  "77", "CI_JOB_TOKEN": "job-token-not-a-secret-in-tests", "CI_DEFAULT_BRANCH": "main",
	}
	for _, set := range sets {
		for k, v := range set {
			env[k] = v
		}
	}
	for k := range env {
		if !doc[k] {
			t.Fatalf("test environment uses %s, which the GitLab oracle does not document", k)
		}
	}
	return env
}

const (
	glHead   = "1111111111111111111111111111111111111111"
	glMerge  = "2222222222222222222222222222222222222222"
	glTarget = "3333333333333333333333333333333333333333"
)

// mrPipeline is a merge request pipeline of MR !7 (instance-wide id 987654),
// feature/x into main, within one project.
var mrPipeline = map[string]string{
	"CI_PIPELINE_SOURCE":                  "merge_request_event",
	"CI_COMMIT_SHA":                       glHead,
	"CI_COMMIT_REF_NAME":                  "feature/x",
	"CI_COMMIT_BEFORE_SHA":                "0000000000000000000000000000000000000000",
	"CI_MERGE_REQUEST_IID":                "7",
	"CI_MERGE_REQUEST_ID":                 "987654",
	"CI_MERGE_REQUEST_PROJECT_ID":         "100",
	"CI_MERGE_REQUEST_PROJECT_PATH":       "group/subgroup/project",
	"CI_MERGE_REQUEST_PROJECT_URL":        "https://gitlab.example.com/group/subgroup/project",
	"CI_MERGE_REQUEST_SOURCE_PROJECT_ID":  "100",
	"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/x",
	"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
	"CI_MERGE_REQUEST_EVENT_TYPE":         "detached",
	"CI_MERGE_REQUEST_SOURCE_BRANCH_SHA":  "", // empty in MR pipelines, per the docs
	"CI_MERGE_REQUEST_TARGET_BRANCH_SHA":  "",
	"CI_MERGE_REQUEST_REF_PATH":           "refs/merge-requests/7/head",
}

// mergedResults is what a merged-results (or merge-train) pipeline changes:
// CI_COMMIT_SHA is the merge of source and target.
func mergedResults(eventType string) map[string]string {
	return map[string]string{
		"CI_MERGE_REQUEST_EVENT_TYPE":        eventType,
		"CI_COMMIT_SHA":                      glMerge,
		"CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": glHead,
		"CI_MERGE_REQUEST_TARGET_BRANCH_SHA": glTarget,
	}
}

func TestDetectGitLab(t *testing.T) {
	t.Parallel()
	gl := Context{
		Platform: GitLab, Organization: "group/subgroup", Repository: "project", RepoPath: "group/subgroup/project",
		ServerURL: "https://gitlab.example.com", APIURL: "https://gitlab.example.com/api/v4",
		RunURL:    "https://gitlab.example.com/group/subgroup/project/-/jobs/555",
		ProjectID: "100", ProjectURL: "https://gitlab.example.com/group/subgroup/project",
	}
	mr := gl
	mr.Event, mr.ScanType, mr.Branch, mr.PRID, mr.CommitSHA = "merge_request_event", cortex.ScanTypePR, "feature/x", "7", glHead
	with := func(c Context, f func(*Context)) Context { f(&c); return c }

	tests := []struct {
		name string
		sets []map[string]string
		want Context
		note []string
	}{
		{
			name: "MR pipeline: IID, CI_COMMIT_SHA, source branch",
			sets: []map[string]string{mrPipeline},
			want: mr,
			note: []string{"MR !7", "source feature/x at 1111111"},
		},
		{
			name: "branch pipeline: CI scan of CI_COMMIT_SHA on the branch",
			sets: []map[string]string{{
				"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": glHead, "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main",
				"CI_COMMIT_BEFORE_SHA": glTarget, "CI_OPEN_MERGE_REQUESTS": "group/subgroup/project!7",
			}},
			want: with(gl, func(c *Context) {
				c.Event, c.ScanType, c.Branch, c.CommitSHA = "push", cortex.ScanTypeCI, "main", glHead
			}),
		},
		{
			name: "merged results: the source head, not the merge commit",
			sets: []map[string]string{mrPipeline, mergedResults("merged_result")},
			want: mr,
			note: []string{"CI_COMMIT_SHA 2222222 is the merged results commit", "source head 1111111"},
		},
		{
			name: "merge train: the source head, not the merge commit",
			sets: []map[string]string{mrPipeline, mergedResults("merge_train")},
			want: mr,
			note: []string{"merge train commit"},
		},
		{
			name: "merged results without the source SHA: head unknown rather than the merge",
			sets: []map[string]string{mrPipeline, mergedResults("merged_result"), {"CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": ""}},
			want: with(mr, func(c *Context) { c.CommitSHA = "" }),
			note: []string{"head commit is unknown"},
		},
		{
			name: "fork MR run in the fork: the MR's target project",
			sets: []map[string]string{mrPipeline, {
				"CI_PROJECT_ID": "200", "CI_PROJECT_PATH": "forker/project", "CI_PROJECT_NAMESPACE": "forker",
				"CI_PROJECT_URL": "https://gitlab.example.com/forker/project", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "200",
				"CI_JOB_URL": "https://gitlab.example.com/forker/project/-/jobs/556",
			}},
			want: with(mr, func(c *Context) {
				c.Fork, c.RunURL = true, "https://gitlab.example.com/forker/project/-/jobs/556"
			}),
			note: []string{"runs in forker/project but the MR belongs to group/subgroup/project"},
		},
		{
			name: "fork MR run in the parent project",
			sets: []map[string]string{mrPipeline, {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "200"}},
			want: with(mr, func(c *Context) { c.Fork = true }),
			note: []string{"from a fork (source project 200, target project 100)"},
		},
		{
			name: "tag pipeline",
			sets: []map[string]string{{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": glHead, "CI_COMMIT_REF_NAME": "v1.0.0", "CI_COMMIT_TAG": "v1.0.0"}},
			want: with(gl, func(c *Context) {
				c.Event, c.ScanType, c.Branch, c.CommitSHA = "push", cortex.ScanTypeCI, "v1.0.0", glHead
			}),
			note: []string{"v1.0.0 is a tag"},
		},
		{
			name: "external GitHub pull request: a CI scan, never an MR note on the wrong MR",
			sets: []map[string]string{{
				"CI_PIPELINE_SOURCE": "external_pull_request_event", "CI_COMMIT_SHA": glHead, "CI_COMMIT_REF_NAME": "feature/x",
				"CI_EXTERNAL_PULL_REQUEST_IID": "12", "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA": glHead,
			}},
			want: with(gl, func(c *Context) {
				c.Event, c.ScanType, c.Branch, c.CommitSHA = "external_pull_request_event", cortex.ScanTypeCI, "feature/x", glHead
			}),
			note: []string{"external pull request #12"},
		},
		{
			name: "no job URL, no API URL: pipeline URL and API derived from the server",
			sets: []map[string]string{mrPipeline, {"CI_JOB_URL": "", "CI_API_V4_URL": "", "CI_SERVER_URL": "https://gitlab.example.com/"}},
			want: with(mr, func(c *Context) { c.RunURL = "https://gitlab.example.com/group/subgroup/project/-/pipelines/77" }),
		},
		{
			name: "no namespace variables: split CI_PROJECT_PATH",
			sets: []map[string]string{{"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_SHA": glHead, "CI_COMMIT_REF_NAME": "main", "CI_PROJECT_NAMESPACE": "", "CI_PROJECT_NAME": ""}},
			want: with(gl, func(c *Context) {
				c.Event, c.ScanType, c.Branch, c.CommitSHA = "schedule", cortex.ScanTypeCI, "main", glHead
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Detect(mapEnv(gitlabPipeline(t, tc.sets...)), noFile(t))
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreNotes); diff != "" {
				t.Errorf("Detect mismatch (-want +got):\n%s\nnotes: %q", diff, got.Notes)
			}
			if tc.note != nil && !hasNote(got.Notes, tc.note...) {
				t.Errorf("no note with %q in %q", tc.note, got.Notes)
			}
			if got.PRID == "987654" {
				t.Errorf("PRID is CI_MERGE_REQUEST_ID, want the IID")
			}
		})
	}
}
