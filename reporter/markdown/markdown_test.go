package markdown

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/reporter/internal/reporttest"
)

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			comment := Comment(tc.r, tc.ctx, testMarker)
			summary := Summary(tc.r, tc.ctx)
			reporttest.Golden(t, tc.name+".comment.md.golden", []byte(comment))
			if tc.name != "blocked-limit" { // 250 KB of rows says nothing the assertions below do not
				reporttest.Golden(t, tc.name+".summary.md.golden", []byte(summary))
			}

			if n := utf8.RuneCountInString(comment); n > MaxCommentRunes {
				t.Errorf("comment has %d runes, want at most %d", n, MaxCommentRunes)
			}
			if len(summary) >= MaxSummaryBytes {
				t.Errorf("summary has %d bytes, want under %d", len(summary), MaxSummaryBytes)
			}
			if !strings.HasPrefix(comment, testMarker+"\n") {
				t.Errorf("comment does not start with the marker line:\n%.200s", comment)
			}
			if got := strings.Count(comment, "<!--"); got != 1 {
				t.Errorf("comment has %d HTML comment openers, want only the marker's", got)
			}
			if strings.Contains(summary, "<!--") {
				t.Errorf("summary contains an HTML comment; the marker belongs to the comment only")
			}
			checkRendered(t, comment, tc, testMarker)
			checkRendered(t, summary, tc, "")
		})
	}
}

func TestCommentVerdictFirst(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"passed-empty":     "## ✅ Cortex Code Security: passed\n",
		"blocked-many":     "## ❌ Cortex Code Security: blocked\n",
		"hostile":          "## ❌ Cortex Code Security: blocked\n",
		"error":            "## ⚠️ Cortex Code Security: error\n",
		"cancelled":        "## ⚠️ Cortex Code Security: error (cancelled)\n",
		"timeout":          "## ⏱️ Cortex Code Security: timeout\n",
		"report-mode":      "## ❌ Cortex Code Security: blocked (report mode: not enforced)\n",
		"blocked-limit":    "## ❌ Cortex Code Security: blocked\n",
		"blocked-severity": "## ❌ Cortex Code Security: blocked\n",
	}
	for _, tc := range cases() {
		got := strings.SplitAfterN(Comment(tc.r, tc.ctx, testMarker), "\n", 4)[2]
		if got != want[tc.name] {
			t.Errorf("%s: heading = %q, want %q", tc.name, got, want[tc.name])
		}
	}
}

func TestCommentTrimsIssuesNotPolicies(t *testing.T) {
	t.Parallel()
	r := blocked(manyIssues(5000, 150))
	for i := range 300 {
		r.BlockingPolicies = append(r.BlockingPolicies, fmt.Sprintf("Policy %d %s", i, strings.Repeat("x", i%50)))
	}
	ctx := testContext()
	c := Comment(r, ctx, testMarker)
	if n := utf8.RuneCountInString(c); n > MaxCommentRunes || n < MaxCommentRunes-2000 {
		t.Errorf("comment has %d runes, want just under %d (the issue list fills the rest)", n, MaxCommentRunes)
	}
	for _, p := range r.BlockingPolicies {
		if !strings.Contains(c, "- "+Escape(strings.TrimSpace(p))+"\n") {
			t.Fatalf("policy %q is missing: policies must never be trimmed for issues", p)
		}
	}
	if !strings.Contains(c, "are not listed here to keep this comment within GitHub's 65,536-character limit; the full list is in the job summary of this run.") {
		t.Errorf("comment does not say how many issues were left out and where the full list is")
	}
	if !strings.Contains(c, "<summary>4975 more issues</summary>") {
		t.Errorf("the issues beyond max-comment-items are not collapsed in <details>")
	}
}

func TestCommentPolicyFlood(t *testing.T) {
	t.Parallel()
	// A hostile scan whose policies alone would exceed the limit: the limit
	// still holds and the verdict is still first.
	r := blocked(manyIssues(3, 0))
	r.BlockingPolicies = nil
	for range 2000 {
		r.BlockingPolicies = append(r.BlockingPolicies, strings.Repeat("@|", 150))
	}
	r.Reasons = r.BlockingPolicies
	r.Warnings = r.BlockingPolicies
	r.Message = strings.Repeat("@", 5000)
	c := Comment(r, testContext(), testMarker)
	if n := utf8.RuneCountInString(c); n > MaxCommentRunes {
		t.Errorf("comment has %d runes, want at most %d", n, MaxCommentRunes)
	}
	if !strings.Contains(c, "more blocking policies (see the job summary of this run)") {
		t.Errorf("the cut policy list does not say so")
	}
	if !strings.Contains(c, "\n## ❌ Cortex Code Security: blocked\n") {
		t.Errorf("verdict missing")
	}
}

func TestCommentMaxItems(t *testing.T) {
	t.Parallel()
	r := blocked(manyIssues(40, 0))
	for _, tc := range []struct {
		max      int
		wantMain int
	}{{0, 0}, {1, 1}, {25, 25}, {100, 40}} {
		ctx := testContext()
		ctx.MaxCommentItems = tc.max
		c := Comment(r, ctx, testMarker)
		main, _, _ := strings.Cut(c, "<details>")
		if got := strings.Count(main, "\n| 🚫 yes |") + strings.Count(main, "\n| no |"); got != tc.wantMain {
			t.Errorf("max-comment-items %d: %d rows before <details>, want %d", tc.max, got, tc.wantMain)
		}
	}
}

func TestIssueOrder(t *testing.T) {
	t.Parallel()
	r := blocked([]cortex.Issue{
		{AlertName: "resolved critical", Severity: "Critical", ResolutionStatus: "Resolved"},
		{AlertName: "open low", Severity: "low"},
		{AlertName: "open critical", Severity: "CRITICAL"},
		{AlertName: "open high", Severity: "High"},
	})
	c := Comment(r, testContext(), testMarker)
	for _, n := range []string{"open critical", "open high", "open low", "resolved critical"} {
		if !strings.Contains(c, n) {
			t.Fatalf("%q missing", n)
		}
	}
	idx := func(s string) int { return strings.Index(c, s) }
	if !(idx("open critical") < idx("open high") && idx("open high") < idx("open low") && idx("open low") < idx("resolved critical")) {
		t.Errorf("issues not sorted blocking first, then by severity:\n%s", c)
	}
}

func TestSummaryFullListAndLimit(t *testing.T) {
	t.Parallel()
	r := blocked(manyIssues(200, 0))
	s := Summary(r, testContext())
	if got := strings.Count(s, "\n| 🚫 yes |") + strings.Count(s, "\n| no |"); got != 200 {
		t.Errorf("summary lists %d issues, want all 200", got)
	}
	if strings.Contains(s, "<details>") {
		t.Errorf("summary collapses issues; it should list them in one table")
	}

	big := Summary(blocked(manyIssues(50000, 0)), testContext())
	if len(big) >= MaxSummaryBytes || len(big) < MaxSummaryBytes-8192 {
		t.Errorf("summary of 50,000 issues has %d bytes, want just under %d", len(big), MaxSummaryBytes)
	}
	if !strings.Contains(big, "to keep the job summary under 1 MiB; the full list is in the JSON report (json-file).") {
		t.Errorf("trimmed summary does not say so")
	}
}

func TestFileLinks(t *testing.T) {
	t.Parallel()
	r := blocked([]cortex.Issue{{AlertName: "a", Severity: "High", FilePath: "/src/my file(1).go"}})
	c := Comment(r, testContext(), testMarker)
	want := "[src/my file\\(1\\)\\.go](https://github.com/acme/payments-api/blob/0123456789abcdef0123456789abcdef01234567/src/my%20file%281%29.go)"
	if !strings.Contains(c, want) {
		t.Errorf("file link missing; want %s in:\n%s", want, c)
	}
	dots := blocked([]cortex.Issue{{AlertName: "a", Severity: "High", FilePath: "../../../evil-org/phish"}})
	if c := Comment(dots, testContext(), testMarker); strings.Contains(c, "/blob/") {
		t.Errorf("a path with .. segments became a link that leaves the blob:\n%s", c)
	}
	ctx := testContext()
	ctx.ServerURL = ""
	if c := Comment(r, ctx, testMarker); strings.Contains(c, "/blob/") {
		t.Errorf("a link was built without a server URL:\n%s", c)
	}
	ctx = testContext()
	ctx.ServerURL = "javascript:alert(1)//"
	if c := Comment(r, ctx, testMarker); strings.Contains(c, "javascript") {
		t.Errorf("a non-http server URL became a link:\n%s", c)
	}
}

func TestMarker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		repo, pr string
		typ      cortex.ScanType
		want     string
	}{
		{"acme/payments-api", "42", cortex.ScanTypePR, "<!-- cortex-gate:v1 repo=acme/payments-api pr=42 type=pr -->"},
		{"Acme/Payments-API", "42", "PR", "<!-- cortex-gate:v1 repo=acme/payments-api pr=42 type=pr -->"},
		{"group/sub group/proj", "7", cortex.ScanTypeCI, "<!-- cortex-gate:v1 repo=group/sub%20group/proj pr=7 type=ci -->"},
		{"a--b", "1 type=ci -->", cortex.ScanTypePR, "<!-- cortex-gate:v1 repo=a-%2Db pr=1%20type%3Dci%20-%2D%3E type=pr -->"},
		{"a/b", "", cortex.ScanTypePR, "<!-- cortex-gate:v1 repo=a/b pr= type=pr -->"},
		{"x%41", "1", cortex.ScanTypePR, "<!-- cortex-gate:v1 repo=x%2541 pr=1 type=pr -->"},
	} {
		if got := Marker(tc.repo, tc.pr, tc.typ); got != tc.want {
			t.Errorf("Marker(%q, %q, %q) = %q, want %q", tc.repo, tc.pr, tc.typ, got, tc.want)
		}
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain text 42", "plain text 42"},
		{"a|b", "a&#124;b"},
		{"<b>&</b>", "&lt;b&gt;&amp;&lt;/b&gt;"},
		{"@octocat", "@&#8203;octocat"},
		{"#12", `\#&#8203;12`},
		{"https://x.io", `https\:&#8203;//x\.io`},
		{"www.x.io", `www&#8203;\.x\.io`},
		{"GH-1", `GH&#8203;\-1`},
		{"`x`", "\\`x\\`"},
		{"a\nb\r\tc", "a b  c"},
		{"<!-- x -->", `&lt;\!\-\- x \-\-&gt;`},
		{"\u202eabc", "abc"},
		{"\xff", "\uFFFD"},
		{"héllo 日本", "héllo 日本"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkComment(b *testing.B) {
	r, ctx := blocked(manyIssues(50000, 0)), testContext()
	for b.Loop() {
		Comment(r, ctx, testMarker)
	}
}

func BenchmarkSummary(b *testing.B) {
	r, ctx := blocked(manyIssues(50000, 0)), testContext()
	for b.Loop() {
		Summary(r, ctx)
	}
}
