package filecmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseOutputFile reads a GITHUB_OUTPUT file the way the runner does
// (actions/runner FileCommandManager EnvFileKeyValuePairs): key=value
// lines, or key<<DELIM heredocs; blank lines skipped.
func parseOutputFile(t *testing.T, content string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(content, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			out[line[:eq]] = line[eq+1:]
			continue
		}
		if hd < 0 {
			t.Fatalf("line %d: %q is neither key=value nor a heredoc", i+1, line)
		}
		key, delim := line[:hd], line[hd+2:]
		var val []string
		for i++; ; i++ {
			if i >= len(lines) {
				t.Fatalf("heredoc %s for %s never ends", delim, key)
			}
			if lines[i] == delim {
				break
			}
			val = append(val, lines[i])
		}
		out[key] = strings.Join(val, "\n")
	}
	return out
}

// TestParserAgreesWithRunnerVectors proves the test parser on the runner's
// own vectors before it is trusted to check SetOutputs.
func TestParserAgreesWithRunnerVectors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../shared/oracles/actions/github-output-file-vectors.json")
	if err != nil {
		t.Skipf("runner vectors not available: %v", err)
	}
	var vectors struct {
		Cases []struct {
			Name    string            `json:"name"`
			Content string            `json:"content"`
			Expect  map[string]string `json:"expect"`
			Error   any               `json:"error"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	for _, c := range vectors.Cases {
		if c.Expect == nil {
			continue // error cases: the runner rejects them; SetOutputs never writes such files
		}
		got := parseOutputFile(t, strings.ReplaceAll(c.Content, "\r\n", "\n"))
		if diff := cmp.Diff(c.Expect, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", c.Name, diff)
		}
	}
}

func TestSetOutputsRoundTrips(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte("earlier=kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"verdict":           "blocked",
		"blocking-policies": `["No secrets","a=b"]`,
		"multi":             "line one\nline two\nEOF\nforged=1",
		"empty":             "",
	}
	if err := SetOutputs(path, want); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	got := parseOutputFile(t, string(raw))
	want["earlier"] = "kept"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if strings.Contains(string(raw), "_GitHubActionsFileCommandDelimeter_") {
		t.Error("a fixed, guessable delimiter was used")
	}
}

func TestSetOutputsRejectsBadNames(t *testing.T) {
	t.Parallel()
	if err := SetOutputs(filepath.Join(t.TempDir(), "o"), map[string]string{"a\nb": "x"}); err == nil {
		t.Error("a name with a newline was accepted")
	}
}

func TestAppendSummaryKeepsWhatWasThere(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AppendSummary(path, "## cortex-gate"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if got, want := string(raw), "# earlier step\n## cortex-gate\n"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if err := AppendSummary(path, strings.Repeat("x", 1<<20+1)); err == nil {
		t.Error("a summary over 1 MiB was accepted")
	}
}
