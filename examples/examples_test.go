// Package examples holds the CI configurations users copy; its tests lint
// them and check that every setting they pass is one the gate knows.
package examples

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"
)

const actionRef = "cortex-gate/cortex-gate@"

func githubExamples(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("github", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Fatalf("found %d GitHub examples, want at least 4: %v", len(paths), paths)
	}
	return paths
}

// actionlintModule is the linter, run through the go command: its Go API
// cannot be linked into this module, because kin-openapi needs
// go.yaml.in/yaml/v4 v4.0.0 and actionlint v1.7.12 needs that module's
// pre-release API (v4.0.0-rc.3). `go run pkg@version` builds it in its own
// module graph, from the module cache once fetched.
const actionlintModule = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

// TestGitHubExamplesLint runs actionlint over every workflow example, as a
// user's editor or CI would. actionlint knows popular actions' inputs
// (upload-sarif, checkout) but not ours: TestGitHubExamplesInputs checks those.
func TestGitHubExamplesLint(t *testing.T) {
	t.Parallel()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("failed to find the go command to run actionlint: %v", err)
	}
	// Shellcheck and pyflakes stay off, so the result does not depend on
	// what else the machine has installed.
	args := append([]string{"run", actionlintModule, "-oneline", "-no-color", "-shellcheck=", "-pyflakes="}, githubExamples(t)...)
	cmd := exec.Command(goCmd, args...)
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1: // 1: lint errors found
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			t.Errorf("actionlint: %s", line)
		}
	default:
		t.Fatalf("failed to run actionlint: %v\n%s%s", err, stdout.String(), stderr.String())
	}
}

// settings is what the gate accepts: input (flag) names and their
// environment variables.
type settings struct {
	inputs map[string]bool
	envs   map[string]bool
	source string // where the input names came from
}

// readSettings takes the input names from the action's action.yml when it
// exists, else from SPEC.md's settings table; the environment names always
// come from SPEC.md.
func readSettings(t *testing.T) settings {
	t.Helper()
	specInputs, envs := specSettings(t)
	s := settings{inputs: specInputs, envs: envs, source: "SPEC.md settings table"}
	b, err := os.ReadFile(filepath.Join("..", "action.yml"))
	if err != nil {
		return s
	}
	var action struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatalf("failed to parse action.yml: %v", err)
	}
	s.inputs, s.source = map[string]bool{}, "action.yml"
	for name := range action.Inputs {
		s.inputs[name] = true
	}
	return s
}

// specSettings parses the settings table of SPEC.md: its first column names
// the inputs, its second the environment variables.
func specSettings(t *testing.T) (inputs, envs map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "SPEC.md"))
	if err != nil {
		t.Fatalf("failed to read SPEC.md: %v", err)
	}
	_, table, ok := strings.Cut(string(b), "## Settings")
	if !ok {
		t.Fatal("SPEC.md has no Settings section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	inputs, envs = map[string]bool{}, map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			inputs[m[1]] = true
		}
		for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
			envs[m[1]] = true
		}
	}
	// The table abbreviates the report files' variables as "CORTEX_JSON_FILE, ...".
	for name := range inputs {
		if strings.HasSuffix(name, "-file") {
			envs["CORTEX_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = true
		}
	}
	if len(inputs) < 20 {
		t.Fatalf("parsed %d settings from SPEC.md, want the whole table", len(inputs))
	}
	return inputs, envs
}

// workflow is the part of a workflow file the input checks read.
type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		ContinueOnError any               `yaml:"continue-on-error"`
		Permissions     map[string]string `yaml:"permissions"`
		Steps           []struct {
			Uses            string         `yaml:"uses"`
			With            map[string]any `yaml:"with"`
			ContinueOnError any            `yaml:"continue-on-error"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// TestGitHubExamplesInputs checks each use of the gate: every `with:` key is
// an input of the action, the Cortex credentials come from secrets, and the
// workflow asks for the permissions its settings need and no more.
func TestGitHubExamplesInputs(t *testing.T) {
	t.Parallel()
	s := readSettings(t)
	t.Logf("checking inputs against %s (%d inputs)", s.source, len(s.inputs))
	for _, path := range githubExamples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var w workflow
			if err := yaml.Unmarshal(b, &w); err != nil {
				t.Fatalf("failed to parse: %v", err)
			}
			if _, ok := w.On["pull_request_target"]; ok {
				t.Errorf("triggers on pull_request_target: a fork's run would get the secrets and a write token")
			}
			if w.Permissions["contents"] != "read" {
				t.Errorf("permissions.contents = %q, want read", w.Permissions["contents"])
			}
			gates, checkRun, sarif := 0, false, false
			for jobName, job := range w.Jobs {
				if job.ContinueOnError != nil {
					t.Errorf("job %s sets continue-on-error: the gate would never fail", jobName)
				}
				if job.Permissions != nil {
					t.Errorf("job %s has its own permissions: keep them at the top, where the comment explains them", jobName)
				}
				for _, step := range job.Steps {
					if strings.HasPrefix(step.Uses, "github/codeql-action/upload-sarif@") {
						sarif = true
					}
					if !strings.HasPrefix(step.Uses, actionRef) {
						continue
					}
					gates++
					if step.Uses != actionRef+"v1" {
						t.Errorf("uses %s, want %sv1", step.Uses, actionRef)
					}
					if step.ContinueOnError != nil {
						t.Errorf("the gate step sets continue-on-error: the gate would never fail")
					}
					for key, v := range step.With {
						if !s.inputs[key] {
							t.Errorf("with: %s is not an input of the action (%s)", key, s.source)
						}
						if key == "check-run" && v == true {
							checkRun = true
						}
					}
					for _, key := range []string{"api-url", "api-key-id", "api-key"} {
						v, _ := step.With[key].(string)
						if !regexp.MustCompile(`^\$\{\{ *secrets\.[A-Z_]+ *\}\}$`).MatchString(v) {
							t.Errorf("with: %s = %q, want it from ${{ secrets.* }}", key, v)
						}
					}
				}
			}
			if gates == 0 {
				t.Errorf("no step uses %s", actionRef)
			}
			_, onPR := w.On["pull_request"]
			wantPerm := map[string]bool{
				"pull-requests":   onPR,
				"checks":          checkRun,
				"security-events": sarif,
			}
			for perm, want := range wantPerm {
				got := w.Permissions[perm] == "write"
				if got != want {
					t.Errorf("permissions.%s write = %v, want %v (pull_request: %v, check-run: %v, SARIF upload: %v)", perm, got, want, onPR, checkRun, sarif)
				}
			}
			for perm, level := range w.Permissions {
				if _, known := wantPerm[perm]; !known && perm != "contents" && !(perm == "actions" && level == "read" && sarif) {
					t.Errorf("permissions.%s: %s is more than the example needs", perm, level)
				}
			}
		})
	}
}

// gateFlags lists the --flag names passed to the gate: on the lines from
// "cortex-gate run" on, up to the end of that command.
func gateFlags(text string) []string {
	var out []string
	for _, cmd := range regexp.MustCompile(`cortex-gate run[^'\n]*(?:\n\s+--[^'\n]*)*`).FindAllString(text, -1) {
		for _, m := range regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(cmd, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// gitlabJob is the part of a GitLab CI job the example check reads.
type gitlabJob struct {
	Image struct {
		Name       string   `yaml:"name"`
		Entrypoint []string `yaml:"entrypoint"`
	} `yaml:"image"`
	Rules        []gitlabRule      `yaml:"rules"`
	Variables    map[string]string `yaml:"variables"`
	Script       []string          `yaml:"script"`
	AllowFailure any               `yaml:"allow_failure"`
	Artifacts    struct {
		When    string            `yaml:"when"`
		Reports map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

type gitlabRule struct {
	If string `yaml:"if"`
}

func TestGitLabExample(t *testing.T) {
	t.Parallel()
	s := readSettings(t)
	b, err := os.ReadFile(filepath.Join("gitlab", ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Top-level keys that are not jobs (stages: a list) do not fit the job
	// shape, so decode the job alone.
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("failed to parse .gitlab-ci.yml: %v", err)
	}
	node, ok := doc["cortex-gate"]
	if !ok {
		t.Fatal("no cortex-gate job")
	}
	var job gitlabJob
	if err := node.Decode(&job); err != nil {
		t.Fatalf("failed to decode the cortex-gate job: %v", err)
	}

	if job.Image.Name != "ghcr.io/cortex-gate/cortex-gate:v1" {
		t.Errorf("image = %q, want ghcr.io/cortex-gate/cortex-gate:v1", job.Image.Name)
	}
	if !slices.Equal(job.Image.Entrypoint, []string{""}) {
		t.Errorf(`entrypoint = %q, want [""] so GitLab can run the script`, job.Image.Entrypoint)
	}
	if !slices.ContainsFunc(job.Rules, func(r gitlabRule) bool { return r.If == `$CI_PIPELINE_SOURCE == "merge_request_event"` }) {
		t.Errorf("rules %v do not run the job in merge request pipelines", job.Rules)
	}
	if job.AllowFailure != nil && job.AllowFailure != false {
		t.Errorf("allow_failure = %v: the gate would never fail the pipeline", job.AllowFailure)
	}
	if job.Artifacts.When != "always" {
		t.Errorf("artifacts.when = %q, want always: a blocked MR needs its reports most", job.Artifacts.When)
	}
	script := strings.Join(job.Script, "\n")
	for _, report := range []struct{ kind, flag string }{{"codequality", "codequality-file"}, {"junit", "junit-file"}} {
		file := job.Artifacts.Reports[report.kind]
		if file == "" {
			t.Errorf("artifacts.reports.%s is missing", report.kind)
			continue
		}
		if !strings.Contains(script, "--"+report.flag+" "+file) {
			t.Errorf("the script does not write %s (--%s %s)", file, report.flag, file)
		}
	}
	flags := gateFlags(script)
	if len(flags) == 0 {
		t.Errorf("the script does not run cortex-gate run with flags")
	}
	for _, f := range flags {
		if !s.inputs[f] {
			t.Errorf("the script passes --%s, which is not a setting (%s)", f, s.source)
		}
	}
	for name := range job.Variables {
		if !s.envs[name] {
			t.Errorf("variables: %s is not a setting's environment variable (SPEC.md)", name)
		}
	}
	if !strings.Contains(string(b), "GITLAB_TOKEN") || !strings.Contains(string(b), "Masked") {
		t.Errorf("the example does not explain GITLAB_TOKEN as a masked CI/CD variable")
	}
}

func TestJenkinsExample(t *testing.T) {
	t.Parallel()
	s := readSettings(t)
	b, err := os.ReadFile(filepath.Join("jenkins", "Jenkinsfile"))
	if err != nil {
		t.Fatal(err)
	}
	jf := string(b)
	for _, want := range []string{
		"image 'ghcr.io/cortex-gate/cortex-gate:v1'",
		"withCredentials(",
		"credentialsId: 'cortex-api-url', variable: 'CORTEX_API_URL'",
		"credentialsId: 'cortex-api-key-id', variable: 'CORTEX_API_KEY_ID'",
		"credentialsId: 'cortex-api-key', variable: 'CORTEX_API_KEY'",
		"returnStatus: true",
		"if (rc == 1)",
		"rc == 2 || rc == 3",
		"junit testResults: 'cortex-gate.junit.xml'",
		"--junit-file cortex-gate.junit.xml",
		"env.CHANGE_BRANCH_COMMIT_ID",
	} {
		if !strings.Contains(jf, want) {
			t.Errorf("Jenkinsfile lacks %q", want)
		}
	}
	if strings.Count(jf, "{") != strings.Count(jf, "}") || strings.Count(jf, "(") != strings.Count(jf, ")") {
		t.Errorf("Jenkinsfile braces or parentheses are unbalanced")
	}
	flags := gateFlags(jf)
	if len(flags) == 0 {
		t.Errorf("the Jenkinsfile does not run cortex-gate run with flags")
	}
	for _, f := range flags {
		if !s.inputs[f] {
			t.Errorf("Jenkinsfile passes --%s, which is not a setting (%s)", f, s.source)
		}
	}
	for _, m := range regexp.MustCompile(`\b(CORTEX_[A-Z_]+)\b`).FindAllStringSubmatch(jf, -1) {
		if !s.envs[m[1]] {
			t.Errorf("Jenkinsfile names %s, which is not a setting's environment variable (SPEC.md)", m[1])
		}
	}
}

// TestActionInputsMatchSpec keeps the two sources of input names the checks
// above use in step: the examples are right only if both agree.
func TestActionInputsMatchSpec(t *testing.T) {
	t.Parallel()
	s := readSettings(t)
	if s.source != "action.yml" {
		t.Skip("no action.yml yet: the examples are checked against SPEC.md alone")
	}
	spec, _ := specSettings(t)
	if diff := cmp.Diff(spec, s.inputs); diff != "" {
		t.Errorf("inputs differ (-SPEC.md +action.yml):\n%s", diff)
	}
}
