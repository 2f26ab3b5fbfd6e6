package ciplatform

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cortex-gate/cortex-gate/cortex"
)

var eventsDir = filepath.Join(oracles, "events")

// manifestEntry is one payload of events/MANIFEST.json.
type manifestEntry struct {
	File   string  `json:"file"`
	Event  string  `json:"event"`
	Action *string `json:"action"`
	Note   string  `json:"note"`
	Source string  `json:"source"`
}

func readManifest(t *testing.T) map[string]manifestEntry {
	t.Helper()
	var m struct {
		Files []manifestEntry `json:"files"`
	}
	readJSON(t, filepath.Join(eventsDir, "MANIFEST.json"), &m)
	out := map[string]manifestEntry{}
	for _, f := range m.Files {
		out[f.File] = f
	}
	return out
}

// Commits that GitHub Actions would set as GITHUB_SHA but that the payloads
// do not hold: the PR's test merge, and the default branch's tip.
const (
	mergeSHA   = "9999999999999999999999999999999999999999"
	defaultSHA = "dddddddddddddddddddddddddddddddddddddddd"
	headSHA    = "ec26c3e57ca3a959ca5aad62de7213c562f8c821" // pull_request.head.sha in every PR payload
	pushSHA    = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
)

// actionsEnv is the environment GitHub Actions sets for a payload: it mirrors
// github_actions_notes in MANIFEST.json (GITHUB_SHA is the merge commit on
// pull_request, the pushed tip on push, head_sha on merge_group, and the
// default branch's tip on events that are not about a ref).
func actionsEnv(event, path string, payload map[string]any) map[string]string {
	repo, _ := payload["repository"].(map[string]any)
	env := map[string]string{
		"GITHUB_ACTIONS":    "true",
		"GITHUB_EVENT_NAME": event,
		"GITHUB_EVENT_PATH": path,
		"GITHUB_REPOSITORY": repo["full_name"].(string),
		"GITHUB_RUN_ID":     "42",
		"GITHUB_REF":        "refs/heads/master",
		"GITHUB_REF_NAME":   "master",
		"GITHUB_REF_TYPE":   "branch",
		"GITHUB_SHA":        defaultSHA,
	}
	switch event {
	case "pull_request":
		n := int(payload["number"].(float64))
		env["GITHUB_REF"] = "refs/pull/" + strconv.Itoa(n) + "/merge"
		env["GITHUB_REF_NAME"] = strconv.Itoa(n) + "/merge"
		env["GITHUB_HEAD_REF"] = "changes"
		env["GITHUB_BASE_REF"] = "master"
		env["GITHUB_SHA"] = mergeSHA
	case "push":
		ref := payload["ref"].(string)
		env["GITHUB_REF"] = ref
		env["GITHUB_REF_NAME"] = refShortName(ref)
		if strings.HasPrefix(ref, "refs/tags/") {
			env["GITHUB_REF_TYPE"] = "tag"
		}
		env["GITHUB_SHA"] = payload["after"].(string)
	case "merge_group":
		mg := payload["merge_group"].(map[string]any)
		env["GITHUB_REF"] = mg["head_ref"].(string)
		env["GITHUB_REF_NAME"] = refShortName(mg["head_ref"].(string))
		env["GITHUB_SHA"] = mg["head_sha"].(string)
	}
	return env
}

// TestDetectGitHubEveryPayload feeds every payload in the oracle folder
// through GITHUB_EVENT_PATH, as the runner would.
func TestDetectGitHubEveryPayload(t *testing.T) {
	t.Parallel()
	manifest := readManifest(t)
	hello := func(w want) want {
		w.Platform, w.Organization, w.Repository, w.RepoPath = GitHub, "Codertocat", "Hello-World", "Codertocat/Hello-World"
		return w
	}
	prWant := func(fork bool) want {
		return hello(want{Event: "pull_request", ScanType: cortex.ScanTypePR, Branch: "changes", PRID: "2", CommitSHA: headSHA, Fork: fork})
	}
	tests := map[string]struct {
		want  want
		notes [][]string // each: parts one note must contain
	}{
		"pull_request.opened.json":              {want: prWant(false), notes: [][]string{{"GITHUB_SHA 9999999 is the merge commit", "PR head ec26c3e"}}},
		"pull_request.opened.null-body.json":    {want: prWant(false)},
		"pull_request.opened.org.json":          {want: prWant(false)},
		"pull_request.opened.legacy-docs.json":  {want: prWant(false)},
		"pull_request.opened.fork.DERIVED.json": {want: prWant(true), notes: [][]string{{"fork forker/Hello-World"}}},
		"pull_request.synchronize.json":         {want: prWant(false)},
		"pull_request.closed.json":              {want: prWant(false), notes: [][]string{{"closed without merging"}}},
		"pull_request.labeled.json":             {want: prWant(false)},
		"pull_request.reopened.json":            {want: prWant(false)},
		"pull_request.ready_for_review.json":    {want: prWant(false)},
		"push.branch-created.json":              {want: hello(want{Event: "push", ScanType: cortex.ScanTypeCI, Branch: "master", CommitSHA: pushSHA})},
		"push.tag-created.legacy-docs.json":     {want: hello(want{Event: "push", ScanType: cortex.ScanTypeCI, Branch: "simple-tag", CommitSHA: pushSHA}), notes: [][]string{{"simple-tag is a tag"}}},
		"push.tag-deleted.json":                 {want: hello(want{Event: "push", ScanType: cortex.ScanTypeCI, Branch: "simple-tag", Deleted: true}), notes: [][]string{{"deleted refs/tags/simple-tag", "nothing to gate"}}},
		"issue_comment.created.json":            {want: hello(want{Event: "issue_comment", ScanType: cortex.ScanTypeCI, Branch: "master", CommitSHA: defaultSHA}), notes: [][]string{{"issue #1, not a pull request"}}},
		"check_run.created.json":                {want: hello(want{Event: "check_run", ScanType: cortex.ScanTypeCI, Branch: "master", CommitSHA: defaultSHA})},
		"check_run.completed.json":              {want: hello(want{Event: "check_run", ScanType: cortex.ScanTypeCI, Branch: "master", CommitSHA: defaultSHA})},
		"workflow_dispatch.json":                {want: want{Platform: GitHub, Event: "workflow_dispatch", ScanType: cortex.ScanTypeCI, Organization: "octo-org", Repository: "octo-repo", RepoPath: "octo-org/octo-repo", Branch: "master", CommitSHA: defaultSHA}},
		"merge_group.checks_requested.json": {
			want:  want{Platform: GitHub, Event: "merge_group", ScanType: cortex.ScanTypeCI, Organization: "octo-org", Repository: "octo-repo", RepoPath: "octo-org/octo-repo", Branch: "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", CommitSHA: "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d"},
			notes: [][]string{{"merge_group.head_sha 2ffea6d"}},
		},
	}

	paths, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range paths {
		name := filepath.Base(path)
		if name == "MANIFEST.json" {
			continue
		}
		seen++
		tc, ok := tests[name]
		if !ok {
			t.Errorf("payload %s has no test case: add one", name)
			continue
		}
		entry, ok := manifest[name]
		if !ok {
			t.Errorf("payload %s is not in MANIFEST.json", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var payload map[string]any
			if err := json.Unmarshal(raw, &payload); err != nil {
				t.Fatal(err)
			}
			env := actionsEnv(entry.Event, path, payload)
			got, err := Detect(mapEnv(env), os.ReadFile)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if diff := cmp.Diff(tc.want, project(got)); diff != "" {
				t.Errorf("Detect mismatch (-want +got):\n%s\nnotes: %q", diff, got.Notes)
			}
			for _, parts := range tc.notes {
				if !hasNote(got.Notes, parts...) {
					t.Errorf("no note with %q in %q", parts, got.Notes)
				}
			}
			if got.ServerURL != "https://github.com" || got.APIURL != "https://api.github.com" {
				t.Errorf("ServerURL, APIURL = %q, %q, want the github.com defaults", got.ServerURL, got.APIURL)
			}
			if wantRun := "https://github.com/" + got.RepoPath + "/actions/runs/42"; got.RunURL != wantRun {
				t.Errorf("RunURL = %q, want %q", got.RunURL, wantRun)
			}
			if got.CommitSHA == mergeSHA {
				t.Errorf("CommitSHA is GITHUB_SHA's merge commit, want the PR head")
			}
		})
	}
	if seen != len(tests) {
		t.Errorf("%d payloads in %s, %d test cases: a payload is missing", seen, eventsDir, len(tests))
	}
}

// TestPayloadsAgainstWebhookSchema checks the oracle payloads are what they
// claim to be: the current ones valid against octokit's schema, the legacy
// ones not (they lack newer fields, and Detect must still read them).
func TestPayloadsAgainstWebhookSchema(t *testing.T) {
	t.Parallel()
	schemaPath := filepath.Join(oracles, "octokit-webhooks-schema.noformat.json")
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("failed to parse schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	const base = "https://cortex-gate.test/octokit-webhooks.json"
	if err := c.AddResource(base, doc); err != nil {
		t.Fatal(err)
	}

	manifest := readManifest(t)
	names := make([]string, 0, len(manifest))
	for name := range manifest {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		entry := manifest[name]
		def := entry.Event + "$event"
		if entry.Action != nil {
			def = entry.Event + "$" + *entry.Action
		}
		sch, err := c.Compile(base + "#/definitions/" + def)
		if err != nil {
			t.Errorf("%s: failed to compile schema %s: %v", name, def, err)
			continue
		}
		raw, err := os.Open(filepath.Join(eventsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(raw)
		raw.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantValid := !strings.Contains(entry.Note, "FAILS")
		err = sch.Validate(v)
		switch {
		case wantValid && err != nil:
			t.Errorf("%s against %s: want valid, got %v", name, def, err)
		case !wantValid && err == nil:
			t.Errorf("%s against %s: MANIFEST says it FAILS the schema, but it is valid", name, def)
		case !wantValid:
			t.Logf("%s fails %s, as MANIFEST says: %v", name, def, err)
		}
	}
}

// payloadWith is an oracle payload with one edit applied.
func payloadWith(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	readJSON(t, filepath.Join(eventsDir, name), &p)
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetectGitHubEdgeCases(t *testing.T) {
	t.Parallel()
	const evPath = "/github/workflow/event.json"
	base := func(event string, extra map[string]string) map[string]string {
		env := map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": evPath,
			"GITHUB_REPOSITORY": "Codertocat/Hello-World", "GITHUB_SHA": mergeSHA,
			"GITHUB_REF": "refs/pull/2/merge", "GITHUB_REF_NAME": "2/merge", "GITHUB_HEAD_REF": "changes",
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	pr := want{Platform: GitHub, ScanType: cortex.ScanTypePR, Organization: "Codertocat", Repository: "Hello-World", RepoPath: "Codertocat/Hello-World", Branch: "changes", PRID: "2"}
	with := func(w want, f func(*want)) want { f(&w); return w }
	opened, err := os.ReadFile(filepath.Join(eventsDir, "pull_request.opened.json"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		env     map[string]string
		payload []byte
		want    want
		note    []string
	}{
		{
			name:    "pull_request_target: GITHUB_SHA is the base tip",
			env:     base("pull_request_target", map[string]string{"GITHUB_SHA": defaultSHA, "GITHUB_REF": "refs/heads/master", "GITHUB_REF_NAME": "master"}),
			payload: opened,
			want:    with(pr, func(w *want) { w.Event, w.CommitSHA = "pull_request_target", headSHA }),
			note:    []string{"base branch's tip under pull_request_target", "PR head ec26c3e"},
		},
		{
			name: "head.repo null: the fork was deleted",
			env:  base("pull_request", nil),
			payload: payloadWith(t, "pull_request.closed.json", func(p map[string]any) {
				p["pull_request"].(map[string]any)["head"].(map[string]any)["repo"] = nil
			}),
			want: with(pr, func(w *want) { w.Event, w.CommitSHA, w.Fork = "pull_request", headSHA, true }),
			note: []string{"deleted fork"},
		},
		{
			name: "fork with a different case is the same repository",
			env:  base("pull_request", nil),
			payload: payloadWith(t, "pull_request.opened.json", func(p map[string]any) {
				p["pull_request"].(map[string]any)["head"].(map[string]any)["repo"].(map[string]any)["full_name"] = "codertocat/hello-world"
			}),
			want: with(pr, func(w *want) { w.Event, w.CommitSHA = "pull_request", headSHA }),
		},
		{
			name: "issue_comment on a pull request: head unknown",
			env:  base("issue_comment", map[string]string{"GITHUB_SHA": defaultSHA, "GITHUB_REF": "refs/heads/master", "GITHUB_REF_NAME": "master", "GITHUB_HEAD_REF": ""}),
			payload: payloadWith(t, "issue_comment.created.json", func(p map[string]any) {
				p["issue"].(map[string]any)["pull_request"] = map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
			}),
			want: with(pr, func(w *want) { w.Event, w.PRID, w.Branch = "issue_comment", "1", "" }),
			note: []string{"PR #1", "no head commit"},
		},
		{
			name: "pull_request without a payload: number from GITHUB_REF, head unknown",
			env:  base("pull_request", map[string]string{"GITHUB_EVENT_PATH": ""}),
			want: with(pr, func(w *want) { w.Event = "pull_request" }),
			note: []string{"without a pull_request payload", "merge commit, not used"},
		},
		{
			name: "schedule: CI scan of GITHUB_SHA on the default branch",
			env:  base("schedule", map[string]string{"GITHUB_EVENT_PATH": "", "GITHUB_SHA": defaultSHA, "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_HEAD_REF": ""}),
			want: with(pr, func(w *want) {
				w.Event, w.ScanType, w.Branch, w.PRID, w.CommitSHA = "schedule", cortex.ScanTypeCI, "main", "", defaultSHA
			}),
		},
		{
			name:    "GITHUB_REF_NAME missing: derived from GITHUB_REF",
			env:     base("workflow_dispatch", map[string]string{"GITHUB_SHA": defaultSHA, "GITHUB_REF": "refs/heads/release/1.2", "GITHUB_REF_NAME": "", "GITHUB_HEAD_REF": ""}),
			payload: []byte(`{"ref":"refs/heads/release/1.2","inputs":{}}`),
			want: with(pr, func(w *want) {
				w.Event, w.ScanType, w.Branch, w.PRID, w.CommitSHA = "workflow_dispatch", cortex.ScanTypeCI, "release/1.2", "", defaultSHA
			}),
		},
		{
			name:    "push whose after is all zeros is a deletion even without deleted",
			env:     base("push", map[string]string{"GITHUB_SHA": "", "GITHUB_REF": "refs/heads/gone", "GITHUB_REF_NAME": "gone", "GITHUB_HEAD_REF": ""}),
			payload: []byte(`{"ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000"}`),
			want: with(pr, func(w *want) {
				w.Event, w.ScanType, w.Branch, w.PRID, w.Deleted = "push", cortex.ScanTypeCI, "gone", "", true
			}),
			note: []string{"nothing to gate"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			read := files(map[string][]byte{evPath: tc.payload})
			if tc.payload == nil {
				read = noFile(t)
			}
			got, err := Detect(mapEnv(tc.env), read)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if diff := cmp.Diff(tc.want, project(got)); diff != "" {
				t.Errorf("Detect mismatch (-want +got):\n%s\nnotes: %q", diff, got.Notes)
			}
			if tc.note != nil && !hasNote(got.Notes, tc.note...) {
				t.Errorf("no note with %q in %q", tc.note, got.Notes)
			}
		})
	}
}

func TestDetectGitHubEnterpriseURLs(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "acme/app",
		"GITHUB_SHA": pushSHA, "GITHUB_REF_NAME": "main", "GITHUB_RUN_ID": "7",
		"GITHUB_SERVER_URL": "https://ghe.example.com/", "GITHUB_API_URL": "https://ghe.example.com/api/v3",
	}
	got, err := Detect(mapEnv(env), noFile(t))
	if err != nil {
		t.Fatal(err)
	}
	wantURLs := []string{"https://ghe.example.com", "https://ghe.example.com/api/v3", "https://ghe.example.com/acme/app/actions/runs/7"}
	if diff := cmp.Diff(wantURLs, []string{got.ServerURL, got.APIURL, got.RunURL}); diff != "" {
		t.Errorf("URLs mismatch (-want +got):\n%s", diff)
	}
}

func TestDetectGitHubBadEventFile(t *testing.T) {
	t.Parallel()
	const evPath = "/runner/_temp/_github_workflow/event.json"
	tests := []struct {
		name string
		read func(string) ([]byte, error)
	}{
		{"unreadable", func(string) ([]byte, error) { return nil, errBoom }},
		{"not JSON", files(map[string][]byte{evPath: []byte(`{"pull_request": {`)})},
		{"empty", files(map[string][]byte{evPath: nil})},
		{"JSON but not an object", files(map[string][]byte{evPath: []byte(`[1, 2]`)})},
		{"wrong type", files(map[string][]byte{evPath: []byte(`{"pull_request": {"number": "two"}}`)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": evPath, "GITHUB_REPOSITORY": "o/r"}
			_, err := Detect(mapEnv(env), tc.read)
			if err == nil {
				t.Fatal("Detect: want an error, got none")
			}
			if !strings.Contains(err.Error(), "GITHUB_EVENT_PATH") || !strings.Contains(err.Error(), evPath) {
				t.Errorf("error %q does not name GITHUB_EVENT_PATH and the file", err)
			}
			if tc.name == "unreadable" && !errors.Is(err, errBoom) {
				t.Errorf("error %q does not wrap the read error", err)
			}
		})
	}
}

func TestDetectNoPlatform(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{},
		{"CI": "true", "GITHUB_ACTIONS": "false", "GITLAB_CI": "false"},
	} {
		got, err := Detect(mapEnv(env), noFile(t))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Context{}, got); diff != "" {
			t.Errorf("Detect(%v) mismatch (-want +got):\n%s", env, diff)
		}
	}
}
