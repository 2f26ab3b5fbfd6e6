package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const (
	marker = "<!-- cortex-gate repo=acme/payments-api pr=7 scan=pr -->"
	// Fake credentials, long enough to be redacted.
	patSecret     = "ghp_TESTpat0000000000000000000000000000"
	actionsSecret = "ghs_TESTinstallation000000000000000000"
	forkSecret    = "ghs_TESTforkreadonly0000000000000000000"
)

func body(s string) string { return marker + "\n## Cortex Code Security\n" + s + "\n" }

// newPATFake is a GHES-style fake that knows a PAT of a machine user.
func newPATFake(t *testing.T) *fakeGitHub {
	f := newFakeGitHub(t, "/api/v3")
	f.addToken(patSecret, token{as: gateBot})
	return f
}

func TestUpsertComment_SecondRunUpdatesTheSameComment(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	c := newTestClient(t, f, patSecret)
	ctx := context.Background()

	url1, err := c.UpsertComment(ctx, 7, marker, body("Blocked"))
	if err != nil {
		t.Fatalf("first UpsertComment() error = %v", err)
	}
	url2, err := c.UpsertComment(ctx, 7, marker, body("Passed"))
	if err != nil {
		t.Fatalf("second UpsertComment() error = %v", err)
	}

	got := f.commentsOn(7)
	if len(got) != 1 {
		t.Fatalf("after two runs the PR has %d comments, want 1", len(got))
	}
	if got[0].body != body("Passed") || got[0].author != gateBot {
		t.Errorf("comment = %q by %s, want the second body by %s", got[0].body, got[0].author.Login, gateBot.Login)
	}
	if url1 != url2 || !strings.HasSuffix(url1, fmt.Sprintf("#issuecomment-%d", got[0].id)) {
		t.Errorf("html_urls = %q then %q, want the same comment's both times", url1, url2)
	}
	want := []string{"GET user", "GET comments", "POST comments", "GET comments", "PATCH comment"}
	if diff := cmp.Diff(want, f.callLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestUpsertComment_UnchangedBodyIsNotPatched(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	id := f.seed(7, gateBot, strings.ReplaceAll(body("Passed"), "\n", "\r\n"))
	c := newTestClient(t, f, patSecret)

	u, err := c.UpsertComment(context.Background(), 7, marker, body("Passed"))
	if err != nil {
		t.Fatalf("UpsertComment() error = %v", err)
	}
	if !strings.HasSuffix(u, fmt.Sprintf("#issuecomment-%d", id)) {
		t.Errorf("html_url = %q, want the existing comment %d", u, id)
	}
	want := []string{"GET user", "GET comments"}
	if diff := cmp.Diff(want, f.callLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestUpsertComment_HumanCommentQuotingTheMarkerIsNeverEdited(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	quoted := "> " + marker + "\nWhy is this blocked? @cortex-gate-bot"
	humanID := f.seed(7, alice, quoted)
	c := newTestClient(t, f, patSecret)
	ctx := context.Background()

	for _, b := range []string{body("Blocked"), body("Passed")} {
		if _, err := c.UpsertComment(ctx, 7, marker, b); err != nil {
			t.Fatalf("UpsertComment() error = %v", err)
		}
	}

	got := f.commentsOn(7)
	if len(got) != 2 {
		t.Fatalf("PR has %d comments, want alice's and one of the gate's", len(got))
	}
	if got[0].id != humanID || got[0].body != quoted {
		t.Errorf("alice's comment became %q, want it untouched", got[0].body)
	}
	if got[1].author != gateBot || got[1].body != body("Passed") {
		t.Errorf("gate comment = %q by %s, want the last body by %s", got[1].body, got[1].author.Login, gateBot.Login)
	}
}

func TestUpsertComment_FindsTheCommentOnALaterPage(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	for i := range 230 {
		f.seed(7, alice, fmt.Sprintf("LGTM %d", i))
	}
	stickyID := f.seed(7, gateBot, body("Blocked"))
	for i := range 20 {
		f.seed(7, alice, fmt.Sprintf("nit %d", i))
	}
	f.seed(8, gateBot, body("another PR")) // same marker on another PR: not ours
	c := newTestClient(t, f, patSecret)

	if _, err := c.UpsertComment(context.Background(), 7, marker, body("Passed")); err != nil {
		t.Fatalf("UpsertComment() error = %v", err)
	}

	got := f.commentsOn(7)
	if len(got) != 251 {
		t.Errorf("PR has %d comments, want the 251 it had", len(got))
	}
	for _, cm := range got {
		if cm.id == stickyID && cm.body != body("Passed") {
			t.Errorf("sticky comment on page 3 = %q, want it updated", cm.body)
		}
	}
	want := []string{"GET user", "GET comments", "GET comments", "GET comments", "PATCH comment"}
	if diff := cmp.Diff(want, f.callLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestUpsertComment_InstallationTokenWritesAsTheBot(t *testing.T) {
	t.Parallel()
	appBot := account{Login: "cortex-scanner[bot]", ID: 3003, Type: "Bot"}
	tests := []struct {
		name     string
		as       account
		botLogin string
	}{
		{name: "Actions GITHUB_TOKEN", as: actionsBot},
		{name: "GitHub App token", as: appBot, botLogin: appBot.Login},
		// The CLI sets no BotLogin: an App token's own bot must still be
		// recognised, or every run would add a comment.
		{name: "GitHub App token, bot login unknown", as: appBot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t, "/api/v3")
			f.addToken(actionsSecret, token{as: tt.as, installation: true})
			f.seed(7, alice, "quoting "+marker)
			stickyID := f.seed(7, tt.as, body("Blocked"))
			c := newTestClient(t, f, actionsSecret, func(cfg *Config) { cfg.BotLogin = tt.botLogin })

			if _, err := c.UpsertComment(context.Background(), 7, marker, body("Passed")); err != nil {
				t.Fatalf("UpsertComment() error = %v", err)
			}
			got := f.commentsOn(7)
			if len(got) != 2 || got[1].id != stickyID || got[1].body != body("Passed") {
				t.Errorf("comments = %+v, want the bot's comment %d updated and nothing added", got, stickyID)
			}
			want := []string{"GET user", "GET comments", "PATCH comment"}
			if diff := cmp.Diff(want, f.callLog()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertComment_ForkPullRequestIsAPermissionError(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "/api/v3")
	f.addToken(forkSecret, token{as: actionsBot, installation: true, readOnly: true})
	c := newTestClient(t, f, forkSecret)

	_, err := c.UpsertComment(context.Background(), 7, marker, body("Blocked"))
	if err == nil {
		t.Fatal("UpsertComment() with a read-only token succeeded, want an error")
	}
	if !IsPermission(err) {
		t.Errorf("IsPermission(%v) = false, want true", err)
	}
	for _, want := range []string{"failed to create PR comment on acme/payments-api#7", "403", "Resource not accessible by integration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.HasSuffix(err.Error(), "[]") {
		t.Errorf("error %q ends in go-github's empty field list", err)
	}
	want := []string{"GET user", "GET comments", "POST comments"} // a 403 is not retried
	if diff := cmp.Diff(want, f.callLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestUpsertComment_Retries(t *testing.T) {
	t.Parallel()
	secondary := fault{
		status: http.StatusForbidden,
		header: http.Header{"Retry-After": {"0"}},
		body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
	}
	tests := []struct {
		name      string
		op        string
		seeded    bool // the PR already has the gate's comment
		faults    []fault
		wantErr   string
		wantCalls []string
	}{
		{
			name:      "server error then success",
			op:        "POST comments",
			faults:    []fault{{status: http.StatusBadGateway, body: `{"message":"Server Error"}`}},
			wantCalls: []string{"GET user", "GET comments", "POST comments", "POST comments"},
		},
		{
			name:      "dropped connection then success",
			op:        "PATCH comment",
			seeded:    true,
			faults:    []fault{{}},
			wantCalls: []string{"GET user", "GET comments", "PATCH comment", "PATCH comment"},
		},
		{
			name:      "secondary rate limit then success",
			op:        "GET comments",
			faults:    []fault{secondary},
			wantCalls: []string{"GET user", "GET comments", "GET comments", "POST comments"},
		},
		{
			name:      "validation error is final",
			op:        "POST comments",
			faults:    []fault{{status: http.StatusUnprocessableEntity, body: `{"message":"Validation Failed","documentation_url":"https://docs.github.com/rest","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long"}]}`}},
			wantErr:   "failed to create PR comment on acme/payments-api#7: POST ",
			wantCalls: []string{"GET user", "GET comments", "POST comments"},
		},
		{
			name: "not found is final",
			op:   "GET comments",
			faults: []fault{{status: http.StatusNotFound,
				body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/comments#list-issue-comments","status":"404"}`}},
			wantErr:   "failed to list PR comments on acme/payments-api#7",
			wantCalls: []string{"GET user", "GET comments"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newPATFake(t)
			if tt.seeded {
				f.seed(7, gateBot, body("old"))
			}
			for _, ft := range tt.faults {
				f.failNext(tt.op, ft)
			}
			c := newTestClient(t, f, patSecret)

			_, err := c.UpsertComment(context.Background(), 7, marker, body("Blocked"))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("UpsertComment() error = %v, want success after a retry", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("UpsertComment() error = %v, want one containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantCalls, f.callLog()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if n := len(f.commentsOn(7)); tt.wantErr == "" && n != 1 {
				t.Errorf("PR has %d comments, want 1", n)
			}
		})
	}
}

func TestUpsertComment_TokenIsNeverInErrors(t *testing.T) {
	t.Parallel()
	echo := fault{status: http.StatusInternalServerError, body: `{"message":"token ` + patSecret + ` rejected by proxy"}`}
	tests := []struct {
		name  string
		setup func(f *fakeGitHub)
		token string
	}{
		{name: "unknown token", token: patSecret + "x", setup: func(*fakeGitHub) {}},
		{name: "server echoes the token", token: patSecret, setup: func(f *fakeGitHub) {
			for range 50 { // more than the retry budget allows
				f.failNext("POST comments", echo)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newPATFake(t)
			tt.setup(f)
			c := newTestClient(t, f, tt.token)
			c.retryBudget = 20 * time.Millisecond

			_, err := c.UpsertComment(context.Background(), 7, marker, body("Blocked"))
			if err == nil {
				t.Fatal("UpsertComment() succeeded, want an error")
			}
			if strings.Contains(err.Error(), patSecret) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func TestUpsertComment_APIURLs(t *testing.T) {
	t.Parallel()
	t.Run("GHES server root gets /api/v3", func(t *testing.T) {
		t.Parallel()
		f := newPATFake(t)
		c := newTestClient(t, f, patSecret, func(cfg *Config) { cfg.APIURL = f.srv.URL })
		if _, err := c.UpsertComment(context.Background(), 7, marker, body("x")); err != nil {
			t.Fatalf("UpsertComment() error = %v", err)
		}
	})
	t.Run("github.com by default", func(t *testing.T) {
		t.Parallel()
		f := newFakeGitHub(t, "")
		f.addToken(patSecret, token{as: gateBot})
		var hosts []string
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			hosts = append(hosts, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
			u, _ := url.Parse(f.srv.URL)
			r = r.Clone(r.Context())
			r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
			return f.srv.Client().Transport.RoundTrip(r)
		})}
		c := newTestClient(t, f, patSecret, func(cfg *Config) { cfg.APIURL, cfg.HTTPClient = "", hc })
		if _, err := c.UpsertComment(context.Background(), 7, marker, body("x")); err != nil {
			t.Fatalf("UpsertComment() error = %v", err)
		}
		want := []string{
			"https://api.github.com/user",
			"https://api.github.com/repos/acme/payments-api/issues/7/comments",
			"https://api.github.com/repos/acme/payments-api/issues/7/comments",
		}
		if diff := cmp.Diff(want, hosts); diff != "" {
			t.Errorf("request URLs (-want +got):\n%s", diff)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUpsertComment_RefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	c := newTestClient(t, f, patSecret)
	tests := []struct {
		name       string
		pr         int
		marker     string
		body, want string
	}{
		{name: "body without marker", pr: 7, marker: marker, body: "hello", want: "the body lacks the marker"},
		{name: "empty marker", pr: 7, marker: " ", body: "hello", want: "the marker is empty"},
		{name: "no PR", pr: 0, marker: marker, body: body("x"), want: "must be positive"},
	}
	for _, tt := range tests {
		_, err := c.UpsertComment(context.Background(), tt.pr, tt.marker, tt.body)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if calls := f.callLog(); len(calls) != 0 {
		t.Errorf("bad input made requests %v, want none", calls)
	}
}

func TestUpsertComment_OverlongBodyIsCutKeepingTheMarker(t *testing.T) {
	t.Parallel()
	f := newPATFake(t)
	c := newTestClient(t, f, patSecret)
	rows := strings.Repeat("| a | ünïcode row |\n", 5000) // ~100,000 characters
	for _, b := range []string{marker + "\n" + rows, rows + marker} {
		if _, err := c.UpsertComment(context.Background(), 7, marker, b); err != nil {
			t.Fatalf("UpsertComment() error = %v", err)
		}
		got := f.commentsOn(7)
		if len(got) != 1 {
			t.Fatalf("PR has %d comments, want 1", len(got))
		}
		if n := utf8.RuneCountInString(got[0].body); n > MaxCommentChars {
			t.Errorf("comment has %d characters, want at most %d", n, MaxCommentChars)
		}
		if !strings.Contains(got[0].body, marker) || !strings.HasSuffix(got[0].body, commentTrimmedNote) {
			t.Errorf("cut comment lacks the marker or the note: ...%q", got[0].body[len(got[0].body)-200:])
		}
		if !strings.HasSuffix(strings.TrimSuffix(got[0].body, commentTrimmedNote), "|\n") {
			t.Error("comment was cut inside a table row")
		}
	}
}

func TestNew_RejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{name: "nothing", cfg: Config{}, want: []string{"github-token is empty", `repository "/" is not owner/name`}},
		{name: "URL with credentials", cfg: Config{Token: patSecret, Owner: "a", Repo: "b", APIURL: "https://x:" + patSecret + "@ghe.example/api/v3"},
			want: []string{"GITHUB_API_URL must not carry credentials"}},
		{name: "not a URL", cfg: Config{Token: patSecret, Owner: "a", Repo: "b", APIURL: "ghe.example"}, want: []string{`GITHUB_API_URL "ghe.example" is not an http(s) URL`}},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil {
			t.Errorf("%s: New() succeeded, want an error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), patSecret) {
			t.Errorf("%s: error %q contains the token", tt.name, err)
		}
	}
}
