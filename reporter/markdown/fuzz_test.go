package markdown

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// FuzzEscape checks that any text, escaped, stays one plain table cell that
// shows exactly the text: no split cell, no HTML, link or live mention.
func FuzzEscape(f *testing.F) {
	for _, s := range hostileStrings {
		f.Add(s)
	}
	f.Add("\\")
	f.Add("a\\")
	f.Add("&#8203;@x")
	f.Add("www.")
	f.Add("x:/")
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if strings.ContainsAny(e, "|<>\n\r") {
			t.Fatalf("Escape(%q) = %q holds a raw |, <, > or line break", s, e)
		}
		if strings.Contains(e, "://") || strings.Contains(strings.ReplaceAll(e, "@"+zwsp, ""), "@") {
			t.Fatalf("Escape(%q) = %q holds a raw :// or @", s, e)
		}
		md := "| a | b |\n|---|---|\n| " + e + " | end |\n"
		src := []byte(md)
		doc := gfm.Parser().Parse(text.NewReader(src))
		var cells []string
		_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			switch n.Kind() {
			case ast.KindAutoLink, ast.KindLink, ast.KindImage, ast.KindRawHTML, ast.KindHTMLBlock:
				t.Fatalf("Escape(%q) = %q renders a %s", s, e, n.Kind())
			}
			return ast.WalkContinue, nil
		})
		var out bytes.Buffer
		if err := gfm.Renderer().Render(&out, src, doc); err != nil {
			t.Fatal(err)
		}
		for _, m := range reCell.FindAllStringSubmatch(out.String(), -1) {
			cells = append(cells, norm(plain(m[1])))
		}
		w := want(s, utf8.RuneCountInString(s)+1)
		if strings.TrimSpace(s) == "" {
			w = ""
		}
		if len(cells) != 2 || cells[0] != w || cells[1] != "end" {
			t.Fatalf("Escape(%q) = %q renders cells %q, want [%q end]", s, e, cells, w)
		}
		if live := reLive.FindString(plain(out.String())); live != "" {
			t.Fatalf("Escape(%q) renders live %q", s, live)
		}
	})
}

// FuzzComment renders a comment from arbitrary scan text and checks the
// limits and the structure with the same checks as the golden cases.
func FuzzComment(f *testing.F) {
	for i, s := range hostileStrings {
		f.Add(s, hostileStrings[(i+1)%len(hostileStrings)], hostileStrings[(i+2)%len(hostileStrings)], uint16(i), uint8(i))
	}
	f.Add(strings.Repeat("@|", 3000), strings.Repeat("<!--", 500), strings.Repeat("-->", 900), uint16(3000), uint8(3))
	f.Fuzz(func(t *testing.T, name, path, other string, n uint16, maxItems uint8) {
		issues := make([]cortex.Issue, int(n)%400+1)
		for i := range issues {
			issues[i] = cortex.Issue{
				AlertName: fmt.Sprintf("%d %s", i, name), FilePath: path, Severity: severities[i%len(severities)],
				DetectionMethod: other, ResolutionStatus: other, Assignee: name,
			}
		}
		r := blocked(issues)
		r.Message, r.Selection = other, path
		r.BlockingPolicies = []string{name, other, path}
		r.Warnings = []string{other}
		r.Scan.ID = name
		ctx := testContext()
		ctx.MaxCommentItems = int(maxItems)
		tc := testCase{name: "fuzz", r: r, ctx: ctx}
		c := Comment(r, ctx, testMarker)
		if got := utf8.RuneCountInString(c); got > MaxCommentRunes {
			t.Fatalf("comment has %d runes", got)
		}
		if !strings.HasPrefix(c, testMarker+"\n") || strings.Count(c, "<!--") != 1 || strings.Count(c, "-->") != 1 {
			t.Fatalf("the marker is missing or forged:\n%.300s", c)
		}
		checkRendered(t, c, tc, testMarker)
		if s := Summary(r, ctx); len(s) >= MaxSummaryBytes {
			t.Fatalf("summary has %d bytes", len(s))
		}
	})
}
