package reliability

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"github.com/cortex-gate/cortex-gate/simulator"
)

// gfm reads Markdown as GitHub does (tables, autolinks, strikethrough,
// task lists); raw HTML is rendered so the test can see any that got in.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(ghtml.WithUnsafe()))

// TestHostileScanTextEndToEnd gates a scan whose every text is hostile
// (testdata/hostile.json, with invalid UTF-8 spliced into the wire bytes)
// in GitHub Actions with a comment, check run and every report on, and
// reads each output the way its consumer does.
func TestHostileScanTextEndToEnd(t *testing.T) {
	t.Parallel()
	sc := loadScenario(t, "testdata/hostile.json")
	// JSON cannot carry invalid UTF-8 in a string; a tenant's bytes can.
	srv, _ := startSimulator(t, sc, simulator.Options{}, rewriteBody(func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte("INVALID_UTF8"), []byte("bad\xff\xfe\xc3("))
	}))
	gh := newFakeGitHub(t, false)
	env := actionsEnv(t, gh, t.TempDir(), false)
	env["GITHUB_TOKEN"] = "ghs_hostileTestToken0000000000"
	r := runGate(t, gateConfig{url: srv.URL, env: env, flags: map[string]string{"check-run": "true"}})
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (blocked)\n%s", r.code, r.stderr)
	}
	checkLastLine(t, r)

	comments := gh.commentBodies(t)
	if len(comments) != 1 {
		t.Fatalf("%d comments posted, want 1", len(comments))
	}
	t.Run("comment", func(t *testing.T) { checkMarkdown(t, comments[0], 1) })
	t.Run("summary", func(t *testing.T) { checkMarkdown(t, r.file(t, "summary.md"), 0) })
	t.Run("check run", func(t *testing.T) {
		for _, o := range gh.checkRunOutputs(t) {
			checkMarkdown(t, o.Summary, 0)
		}
	})
	t.Run("stdout", func(t *testing.T) { checkLog(t, r.stdout) })
	t.Run("stderr", func(t *testing.T) { checkLog(t, r.stderr) })
	t.Run("JUnit", func(t *testing.T) {
		if err := xmlWellFormed(r.file(t, "junit.xml")); err != nil {
			t.Errorf("JUnit XML does not parse: %v", err)
		}
	})
	t.Run("JSON files", func(t *testing.T) {
		for _, f := range []string{"cortex-gate.sarif", "codequality.json", "cortex-gate.json"} {
			var v any
			if err := json.Unmarshal([]byte(r.file(t, f)), &v); err != nil {
				t.Errorf("%s is not valid JSON: %v", f, err)
			}
		}
	})
	t.Run("step outputs", func(t *testing.T) {
		out := outputs(t, r.file(t, "outputs.txt"))
		want := []string{"blocked", "blocking-policies", "comment-url", "critical-count", "findings-count", "high-count",
			"issues-count", "low-count", "medium-count", "report-file", "scan-health", "scan-id", "scan-status", "scan-type", "verdict"}
		for _, k := range want {
			if _, ok := out[k]; !ok {
				t.Errorf("output %s is missing", k)
			}
		}
		if len(out) != len(want) {
			t.Errorf("GITHUB_OUTPUT sets %d outputs, want %d: scan text forged some? %v", len(out), len(want), out)
		}
		var names []string
		if err := json.Unmarshal([]byte(out["blocking-policies"]), &names); err != nil || len(names) < 3 {
			t.Errorf("blocking-policies output %q is not the JSON array of the policies: %v", out["blocking-policies"], err)
		}
	})
}

var (
	ownHTMLBlock = regexp.MustCompile(`^(<!-- cortex-gate:v1 [^<>]* -->|<details>\n<summary>\d+ more issues</summary>|</details>)\n$`)
	liveMention  = regexp.MustCompile(`@[A-Za-z0-9]`)
	// badHTML is markup the gate never emits: script-capable tags, event
	// handler attributes, script links.
	badHTML = regexp.MustCompile(`(?i)<(script|img|iframe|svg|b|style)\b|<[a-z][^>]*\son[a-z]+=|href="(javascript|data|vbscript):`)
	// Links the gate builds: blob URLs of the repository, and the run.
	ownLink = regexp.MustCompile(`^https://github\.com/acme/payments-api/(blob/[0-9a-f]{40}/|actions/runs/4242$)`)
)

// checkMarkdown parses md as GFM and fails on anything scan text could have
// smuggled in: broken table rows, raw HTML, links, images, autolinks, live
// mentions, or a second sticky-comment marker. markers is how many markers
// the document itself carries.
func checkMarkdown(t *testing.T, md string, markers int) {
	t.Helper()
	if n := strings.Count(md, "<!-- cortex-gate"); n != markers {
		t.Errorf("the document holds %d sticky-comment markers, want %d: scan text can forge one", n, markers)
	}
	src := []byte(md)
	doc := gfm.Parser().Parse(text.NewReader(src))
	tables := 0
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *east.Table:
			tables++
			checkTable(t, n, src)
		case *ast.AutoLink:
			t.Errorf("autolink %q", n.URL(src))
		case *ast.Image:
			t.Errorf("image %q", n.Destination)
		case *ast.Link:
			if !ownLink.Match(n.Destination) {
				t.Errorf("link to %q, which the gate did not build", n.Destination)
			}
		case *ast.RawHTML:
			t.Errorf("inline raw HTML %q", segments(n.Segments, src))
		case *ast.HTMLBlock:
			var b bytes.Buffer
			for i := 0; i < n.Lines().Len(); i++ {
				s := n.Lines().At(i)
				b.Write(s.Value(src))
			}
			if !ownHTMLBlock.MatchString(b.String()) {
				t.Errorf("HTML block %q is not one the gate emits", b.String())
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tables == 0 {
		t.Errorf("no table: the issues are not listed")
	}
	var html bytes.Buffer
	if err := gfm.Renderer().Render(&html, src, doc); err != nil {
		t.Fatal(err)
	}
	if m := badHTML.FindStringIndex(html.String()); m != nil {
		t.Errorf("rendered HTML holds a tag or attribute from scan text: %q", html.String()[max(0, m[0]-60):min(html.Len(), m[1]+60)])
	}
	if m := liveMention.FindStringIndex(html.String()); m != nil {
		t.Errorf("rendered HTML holds a live @-mention: %q", html.String()[max(0, m[0]-40):min(html.Len(), m[1]+40)])
	}
}

// checkTable asserts every row of a GFM table has the header's cells: the
// parser would quietly drop extra cells, so they are counted in the source
// line, where an unescaped "|" of scan text would show.
func checkTable(t *testing.T, tbl *east.Table, src []byte) {
	t.Helper()
	cols := len(tbl.Alignments)
	for row := tbl.FirstChild(); row != nil; row = row.NextSibling() {
		if row.ChildCount() != cols {
			t.Errorf("a table row has %d cells, the header %d", row.ChildCount(), cols)
		}
		var line []byte
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			if c.Lines().Len() > 0 {
				s := c.Lines().At(0)
				start := bytes.LastIndexByte(src[:s.Start], '\n') + 1
				end := bytes.IndexByte(src[s.Start:], '\n')
				if end < 0 {
					end = len(src) - s.Start
				}
				line = src[start : s.Start+end]
				break
			}
		}
		if line == nil {
			continue
		}
		if pipes := bytes.Count(line, []byte("|")) - bytes.Count(line, []byte(`\|`)); pipes != cols+1 {
			t.Errorf("table row has %d cell separators, want %d: %q", pipes, cols+1, line)
		}
	}
}

func segments(s *text.Segments, src []byte) string {
	var b bytes.Buffer
	for i := 0; i < s.Len(); i++ {
		seg := s.At(i)
		b.Write(seg.Value(src))
	}
	return b.String()
}

// workflowCommand is a line GitHub's runner would act on.
var workflowCommand = regexp.MustCompile(`^::([a-z-]+)( [^:]*)?::`)

// allowedCommands are the workflow commands the gate itself issues.
var allowedCommands = map[string]bool{"add-mask": true, "group": true, "endgroup": true, "error": true, "warning": true, "notice": true, "debug": true}

// checkLog asserts no line of a log can act as a workflow command that scan
// text wrote, and that no control character reached it.
func checkLog(t *testing.T, log string) {
	t.Helper()
	masks := true
	for _, line := range strings.Split(log, "\n") {
		if strings.ContainsAny(line, "\x00\x07\x1b\r\u202e") {
			t.Errorf("a log line holds a control character: %q", line)
		}
		if strings.Contains(line, "##[") {
			t.Errorf("a log line holds a legacy ##[ command: %q", line)
		}
		m := workflowCommand.FindStringSubmatch(line)
		if m == nil {
			if trimmed := strings.TrimLeft(line, " \t"); strings.HasPrefix(trimmed, "::") {
				t.Errorf("a log line starts a workflow command after white space: %q", line)
			}
			masks = masks && line == ""
			continue
		}
		switch {
		case !allowedCommands[m[1]]:
			t.Errorf("a log line issues the workflow command %q: %q", m[1], line)
		case m[1] == "add-mask" && !masks:
			t.Errorf("an ::add-mask:: comes after other output (scan text?): %q", line)
		}
		if m[1] != "add-mask" {
			masks = false
		}
		// The gate's own annotations carry scan text only after the
		// command, escaped: a second command in the same line is text.
		if (m[1] == "error" || m[1] == "warning") && strings.Contains(line, "\n") {
			t.Errorf("an annotation spans lines: %q", line)
		}
	}
}

// TestHostileAnswerCannotForgeWorkflowCommands has the tenant answer 200
// with an object whose message holds line breaks, workflow commands and an
// escape sequence: the gate's error must stay one clean line on stderr, the
// stream the runner also reads commands from.
func TestHostileAnswerCannotForgeWorkflowCommands(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"message": "quota exceeded\n::add-mask::everything\n::stop-commands::pwned\n::error file=x::forged\u001b[2J"}`)
	}))
	t.Cleanup(srv.Close)
	env := actionsEnv(t, nil, t.TempDir(), false)
	r := runGate(t, gateConfig{url: srv.URL, env: env})
	if r.code != 2 {
		t.Errorf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	checkLog(t, r.stdout)
	checkLog(t, r.stderr)
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("stderr holds %d lines, want the one sentence:\n%s", n, r.stderr)
	}
	checkLastLine(t, r)
}
