package markdown

import (
	"bytes"
	"html"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
)

// These tests read the output the way GitHub does: goldmark with the GFM
// extensions (tables, autolinks, strikethrough, task lists) stands in for
// cmark-gfm in every run, and cmark-gfm itself is used when installed.

var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(ghtml.WithUnsafe()))

// allowedLinks are the only link destinations the output may hold: blob
// URLs built by the context, and the run URL.
func allowedLinks(tc testCase) map[string]bool {
	ok := map[string]bool{safeURL(tc.ctx.RunURL): true}
	for _, i := range tc.r.Issues {
		if u := tc.ctx.BlobURL(strings.TrimSpace(i.FilePath)); u != "" && !strings.Contains("/"+i.FilePath+"/", "/../") {
			ok[safeURL(u)] = true
		}
	}
	return ok
}

var ownHTMLBlock = regexp.MustCompile(`^(<!-- cortex-gate:v1 [^<>]* -->|<details>\n<summary>\d+ more issues</summary>|</details>)\n$`)

// checkRendered parses md as GFM and fails on anything scan text could have
// smuggled in; then it checks the HTML as checkHTML does.
func checkRendered(t *testing.T, md string, tc testCase, marker string) {
	t.Helper()
	src := []byte(md)
	doc := gfm.Parser().Parse(text.NewReader(src))
	links := allowedLinks(tc)
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.AutoLink:
			t.Errorf("autolink %q in the output", n.URL(src))
		case *ast.Image:
			t.Errorf("image %q in the output", n.Destination)
		case *ast.Link:
			if !links[string(n.Destination)] {
				t.Errorf("link to %q, which the renderer did not build", n.Destination)
			}
		case *ast.RawHTML:
			var b bytes.Buffer
			for i := 0; i < n.Segments.Len(); i++ {
				s := n.Segments.At(i)
				b.Write(s.Value(src))
			}
			t.Errorf("inline raw HTML %q in the output", b.String())
		case *ast.HTMLBlock:
			var b bytes.Buffer
			for i := 0; i < n.Lines().Len(); i++ {
				s := n.Lines().At(i)
				b.Write(s.Value(src))
			}
			if !ownHTMLBlock.MatchString(b.String()) {
				t.Errorf("HTML block %q is not one the renderer emits", b.String())
			}
		case *east.Table:
			cols := 0
			for row := n.FirstChild(); row != nil; row = row.NextSibling() {
				if cols == 0 {
					cols = row.ChildCount()
				} else if row.ChildCount() != cols {
					t.Errorf("table row with %d cells, header has %d", row.ChildCount(), cols)
				}
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := gfm.Renderer().Render(&out, src, doc); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, "goldmark", out.String(), md, tc, marker)
}

var (
	reTag     = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)
	reComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	reHref    = regexp.MustCompile(`^ href="([^"]*)"$`)
	reAlign   = regexp.MustCompile(`^( (align="(left|right|center)"|style="text-align:(left|right|center)"))? ?/?$`)
	reTable   = regexp.MustCompile(`(?s)<table>(.*?)</table>`)
	reRow     = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	reCell    = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	reLive    = regexp.MustCompile(`(?i)@[a-z0-9]|#[0-9]|gh-[0-9]|://|www\.`)
	allowTags = map[string]bool{"h2": true, "h3": true, "p": true, "ul": true, "li": true, "strong": true, "code": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "a": true, "hr": true,
		"blockquote": true, "details": true, "summary": true}
)

// plain is the text a reader sees in an HTML fragment.
func plain(h string) string {
	return html.UnescapeString(reTag.ReplaceAllString(h, ""))
}

// norm folds whitespace and drops the zero-width spaces Escape inserts.
func norm(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u200b", "")), " ")
}

// want is the text a cell must show for an untrusted value: the value with
// control characters as spaces, bidi controls dropped, clipped to n runes.
func want(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "—"
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\u2028' || r == '\u2029' || unicode.IsControl(r):
			return ' '
		case scantext.IsBidiControl(r):
			return -1
		}
		return r
	}, string([]rune(clip(s, n))))
	return norm(s)
}

// checkHTML asserts on rendered HTML what GitHub would show: only the tags
// and links the renderer emits, no live mentions, references or URLs in
// the text, and issue tables whose every cell shows exactly its value.
func checkHTML(t *testing.T, engine, h, md string, tc testCase, marker string) {
	t.Helper()
	for _, c := range reComment.FindAllString(h, -1) {
		if c != marker {
			t.Errorf("%s: HTML comment %q is not the marker", engine, c)
		}
	}
	h = reComment.ReplaceAllString(h, "")
	links := allowedLinks(tc)
	for _, m := range reTag.FindAllStringSubmatch(h, -1) {
		name, attrs := strings.ToLower(m[2]), m[3]
		if !allowTags[name] {
			t.Errorf("%s: tag <%s%s> in the output", engine, name, attrs)
			continue
		}
		if name == "a" && m[1] == "" {
			href := reHref.FindStringSubmatch(attrs)
			if href == nil || !links[html.UnescapeString(href[1])] {
				t.Errorf("%s: link <a%s> not built by the renderer", engine, attrs)
			}
		} else if !reAlign.MatchString(attrs) {
			t.Errorf("%s: unexpected attributes in <%s%s>", engine, name, attrs)
		}
	}
	if live := reLive.FindAllString(plain(h), -1); len(live) > 0 {
		t.Errorf("%s: the text holds live mentions, references or URLs: %q", engine, live)
	}

	byName := map[string]cortex.Issue{}
	for _, i := range tc.r.Issues {
		byName[want(i.AlertName, maxNameRunes)] = i
	}
	seen := map[string]bool{}
	rows := 0
	for _, table := range reTable.FindAllStringSubmatch(h, -1) {
		if !strings.Contains(table[1], "<th>Blocks</th>") {
			continue
		}
		for _, row := range reRow.FindAllStringSubmatch(table[1], -1) {
			cells := reCell.FindAllStringSubmatch(row[1], -1)
			if len(cells) == 0 {
				continue // the header row
			}
			rows++
			if len(cells) != 7 {
				t.Errorf("%s: issue row with %d cells, want 7: %s", engine, len(cells), row[1])
				continue
			}
			got := make([]string, len(cells))
			for k, c := range cells {
				got[k] = norm(plain(c[1]))
			}
			i, ok := byName[got[3]]
			if !ok {
				t.Errorf("%s: issue cell %q matches no issue name", engine, got[3])
				continue
			}
			if seen[got[3]] {
				t.Errorf("%s: issue %q listed twice", engine, got[3])
			}
			seen[got[3]] = true
			wantRow := []string{got[0], cortex.ParseSeverity(i.Severity).Title(), want(cortex.Category(i.DetectionMethod), maxShortRunes),
				got[3], want(strings.TrimLeft(strings.TrimSpace(i.FilePath), "/"), maxPathRunes), want(i.ResolutionStatus, maxShortRunes), want(i.Assignee, maxShortRunes)}
			for k := range wantRow {
				if got[k] != wantRow[k] {
					t.Errorf("%s: issue %q cell %d shows %q, want %q", engine, got[3], k, got[k], wantRow[k])
				}
			}
		}
	}
	// Every row of the Markdown source is one row of the rendered tables:
	// no scan text split a row or started a new one.
	srcRows := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| 🚫 yes | ") || strings.HasPrefix(line, "| no | ") {
			srcRows++
		}
	}
	if rows != srcRows {
		t.Errorf("%s: %d issue rows rendered, %d in the Markdown", engine, rows, srcRows)
	}
	if tc.name == "hostile" && rows != len(tc.r.Issues) {
		t.Errorf("%s: hostile case renders %d issue rows, want all %d", engine, rows, len(tc.r.Issues))
	}
}

// TestCmarkGFM renders every golden case with cmark-gfm, GitHub's own
// Markdown engine, with the extensions github.com enables.
func TestCmarkGFM(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("cmark-gfm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cmark-gfm is required under CI=true (apt-get install -y cmark-gfm): %v", err)
		}
		t.Skip("cmark-gfm not installed (apt-get install -y cmark-gfm)")
	}
	for _, tc := range cases() {
		for kind, md := range map[string]string{
			"comment": Comment(tc.r, tc.ctx, testMarker),
			"summary": Summary(tc.r, tc.ctx),
		} {
			marker := testMarker
			if kind == "summary" {
				marker = ""
			}
			cmd := exec.Command(bin, "--unsafe", "-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter")
			cmd.Stdin = strings.NewReader(md)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %s: cmark-gfm failed: %v", tc.name, kind, err)
			}
			checkHTML(t, "cmark-gfm "+tc.name+" "+kind, string(out), md, tc, marker)
		}
	}
}

func TestWantHelper(t *testing.T) {
	t.Parallel()
	if got := want("a\nb\u202e", 10); got != "a b" {
		t.Errorf("want() = %q", got)
	}
	if utf8.RuneCountInString(clip(strings.Repeat("é", 300), 200)) != 200 {
		t.Errorf("clip does not cut to 200 runes")
	}
}
