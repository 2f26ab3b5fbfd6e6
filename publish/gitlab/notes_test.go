package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	marker = "<!-- cortex-gate repo=acme/payments-api pr=12 scan=pr -->"
	// Fake credentials, long enough to be redacted.
	botSecret      = "glpat-TESTprojectbot000000000"
	readOnlySecret = "glpat-TESTreporter00000000000"
	aliceSecret    = "glpat-TESTalice0000000000000"
)

func body(s string) string { return marker + "\n## Cortex Code Security\n" + s + "\n" }

func newBotFake(t *testing.T, project string) *fakeGitLab {
	f := newFakeGitLab(t, project)
	f.addToken(botSecret, projectBot, false)
	return f
}

func TestUpsertNote_SecondRunUpdatesTheSameNote(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, projectID, escaped string }{
		{name: "numeric id", projectID: "42", escaped: "42"},
		{name: "namespaced path", projectID: "acme/platform/payments-api", escaped: "acme%2Fplatform%2Fpayments-api"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newBotFake(t, tt.escaped)
			c := newTestClient(t, f, botSecret, tt.projectID)
			ctx := context.Background()

			url1, err := c.UpsertNote(ctx, 12, marker, body("Blocked"))
			if err != nil {
				t.Fatalf("first UpsertNote() error = %v", err)
			}
			url2, err := c.UpsertNote(ctx, 12, marker, body("Passed"))
			if err != nil {
				t.Fatalf("second UpsertNote() error = %v", err)
			}

			got := f.notesOn(12)
			if len(got) != 1 || got[0].body != body("Passed") || got[0].author != projectBot {
				t.Fatalf("notes after two runs = %+v, want one by the bot with the second body", got)
			}
			want := fmt.Sprintf("https://gitlab.example/acme/payments-api/-/merge_requests/12#note_%d", got[0].id)
			if url1 != want || url2 != want {
				t.Errorf("web URLs = %q, %q; want %q both times", url1, url2, want)
			}
			calls := []string{"GET user", "GET list", "POST create", "GET list", "PUT update"}
			if diff := cmp.Diff(calls, f.callLog()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertNote_UnchangedBodyIsNotPut(t *testing.T) {
	t.Parallel()
	f := newBotFake(t, "42")
	f.seed(12, projectBot, body("Passed"), false)
	c := newTestClient(t, f, botSecret, "42")

	if _, err := c.UpsertNote(context.Background(), 12, marker, body("Passed")); err != nil {
		t.Fatalf("UpsertNote() error = %v", err)
	}
	if diff := cmp.Diff([]string{"GET user", "GET list"}, f.callLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestUpsertNote_HumanNoteQuotingTheMarkerIsNeverEdited(t *testing.T) {
	t.Parallel()
	f := newBotFake(t, "42")
	quoted := "> " + marker + "\nwhy?"
	humanID := f.seed(12, alice, quoted, false)
	f.seed(12, projectBot, "changed the description "+marker, true) // a system note
	c := newTestClient(t, f, botSecret, "42")

	for _, b := range []string{body("Blocked"), body("Passed")} {
		if _, err := c.UpsertNote(context.Background(), 12, marker, b); err != nil {
			t.Fatalf("UpsertNote() error = %v", err)
		}
	}
	got := f.notesOn(12)
	if len(got) != 3 || got[0].id != humanID || got[0].body != quoted {
		t.Fatalf("notes = %+v, want alice's untouched", got)
	}
	if got[2].author != projectBot || got[2].body != body("Passed") {
		t.Errorf("gate note = %q by %s, want the last body by the bot", got[2].body, got[2].author.Username)
	}
}

func TestUpsertNote_FindsTheNoteOnALaterPage(t *testing.T) {
	t.Parallel()
	for _, noNext := range []bool{false, true} {
		t.Run(fmt.Sprintf("X-Next-Page dropped=%v", noNext), func(t *testing.T) {
			t.Parallel()
			f := newBotFake(t, "42")
			f.noNext = noNext
			for i := range 230 {
				f.seed(12, alice, fmt.Sprintf("LGTM %d", i), false)
			}
			sticky := f.seed(12, projectBot, body("Blocked"), false)
			c := newTestClient(t, f, botSecret, "42")

			if _, err := c.UpsertNote(context.Background(), 12, marker, body("Passed")); err != nil {
				t.Fatalf("UpsertNote() error = %v", err)
			}
			got := f.notesOn(12)
			if len(got) != 231 || got[230].id != sticky || got[230].body != body("Passed") {
				t.Errorf("the sticky note on page 3 was not updated in place (%d notes)", len(got))
			}
			want := []string{"GET user", "GET list", "GET list", "GET list", "PUT update"}
			if diff := cmp.Diff(want, f.callLog()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertNote_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		secret    string
		op        string
		faults    []fault
		wantPerm  bool
		wantErr   string
		wantCalls []string
	}{
		{
			name: "read-only token", secret: readOnlySecret, wantPerm: true,
			wantErr:   "failed to create MR note on 42!12: POST /projects/42/merge_requests/12/notes: 403 Forbidden",
			wantCalls: []string{"GET user", "GET list", "POST create"},
		},
		{
			name: "token without the api scope", secret: botSecret, op: "user", wantPerm: true,
			faults:    []fault{{status: 403, body: `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token."}`}},
			wantErr:   "failed to identify the token's user (GET /user): GET /user: 403 insufficient_scope: The request requires higher privileges",
			wantCalls: []string{"GET user"},
		},
		{
			name: "bad token", secret: "glpat-TESTunknown000000000",
			wantErr:   "GET /user: 401 Unauthorized",
			wantCalls: []string{"GET user"},
		},
		{
			name: "server error then success", secret: botSecret, op: "create",
			faults:    []fault{{status: 502, body: "<html>Bad Gateway</html>"}},
			wantCalls: []string{"GET user", "GET list", "POST create", "POST create"},
		},
		{
			name: "rate limited then success", secret: botSecret, op: "list",
			faults:    []fault{{status: 429, header: http.Header{"Retry-After": {"0"}}, body: `{"message":"Retry later"}`}},
			wantCalls: []string{"GET user", "GET list", "GET list", "POST create"},
		},
		{
			name: "rate limit longer than the budget", secret: botSecret, op: "list",
			faults:    []fault{{status: 429, header: http.Header{"Retry-After": {"3600"}}, body: `{"message":"Retry later"}`}},
			wantErr:   "failed to list MR notes on 42!12: GET /projects/42/merge_requests/12/notes: 429 Retry later",
			wantCalls: []string{"GET user", "GET list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newBotFake(t, "42")
			f.addToken(readOnlySecret, alice, true)
			for _, ft := range tt.faults {
				f.failNext(tt.op, ft)
			}
			c := newTestClient(t, f, tt.secret, "42")

			_, err := c.UpsertNote(context.Background(), 12, marker, body("Blocked"))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("UpsertNote() error = %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("UpsertNote() error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := IsPermission(err); got != tt.wantPerm {
				t.Errorf("IsPermission(%v) = %v, want %v", err, got, tt.wantPerm)
			}
			if err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q contains the token", err)
			}
			if diff := cmp.Diff(tt.wantCalls, f.callLog()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpsertNote_TokenIsNeverInErrors(t *testing.T) {
	t.Parallel()
	f := newBotFake(t, "42")
	for range 20 {
		f.failNext("create", fault{status: 500, body: `{"message":"proxy rejected PRIVATE-TOKEN ` + botSecret + `"}`})
	}
	c := newTestClient(t, f, botSecret, "42")
	c.retryBudget = 20 * time.Millisecond
	var logged []string
	c.debugf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }

	_, err := c.UpsertNote(context.Background(), 12, marker, body("Blocked"))
	if err == nil {
		t.Fatal("UpsertNote() succeeded, want an error")
	}
	for _, s := range append(logged, err.Error()) {
		if strings.Contains(s, botSecret) {
			t.Errorf("%q contains the token", s)
		}
	}
}

func TestUpsertNote_RefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newBotFake(t, "42")
	c := newTestClient(t, f, botSecret, "42")
	for _, tt := range []struct {
		iid          int
		marker, body string
		want         string
	}{
		{12, marker, "no marker", "the body lacks the marker"},
		{12, "", "x", "the marker is empty"},
		{0, marker, body("x"), "must be positive"},
	} {
		if _, err := c.UpsertNote(context.Background(), tt.iid, tt.marker, tt.body); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("UpsertNote(%d, %q, %q) error = %v, want one containing %q", tt.iid, tt.marker, tt.body, err, tt.want)
		}
	}
	if calls := f.callLog(); len(calls) != 0 {
		t.Errorf("bad input made requests %v, want none", calls)
	}
}

func TestUpsertNote_OverlongBodyIsCut(t *testing.T) {
	t.Parallel()
	f := newBotFake(t, "42")
	c := newTestClient(t, f, botSecret, "42")
	long := strings.Repeat("| row |\n", 130_000) + marker // 1,040,000+ characters, marker last

	if _, err := c.UpsertNote(context.Background(), 12, marker, long); err != nil {
		t.Fatalf("UpsertNote() error = %v", err)
	}
	got := f.notesOn(12)[0].body
	if !strings.HasPrefix(got, marker) || !strings.HasSuffix(got, "| row |\n"+noteTrimmedNote) {
		t.Errorf("cut note does not start with the marker or end with the note")
	}
}

func TestNew_RejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{APIURL: "gitlab.example", Token: ""})
	for _, want := range []string{"gitlab-token is empty", "CI_JOB_TOKEN cannot post", `CI_API_V4_URL "gitlab.example" is not an http(s) URL`, "project"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New() error = %v, want one containing %q", err, want)
		}
	}
	_, err = New(Config{APIURL: "https://u:" + botSecret + "@gitlab.example/api/v4", Token: botSecret, ProjectID: "1"})
	if err == nil || strings.Contains(err.Error(), botSecret) || !strings.Contains(err.Error(), "must not carry credentials") {
		t.Errorf("New() with credentials in the URL: error = %v", err)
	}
}

func TestUpsertNote_UnreachableServerIsRetriedThenReported(t *testing.T) {
	t.Parallel()
	f := newBotFake(t, "42")
	c := newTestClient(t, f, botSecret, "42")
	c.retryBudget = 30 * time.Millisecond
	var retries int
	c.debugf = func(string, ...any) { retries++ }
	f.srv.Close()

	_, err := c.UpsertNote(context.Background(), 12, marker, body("Blocked"))
	if err == nil || !strings.Contains(err.Error(), "failed to identify the token's user (GET /user): GET /user: ") {
		t.Fatalf("UpsertNote() error = %v, want one naming GET /user", err)
	}
	if strings.Contains(err.Error(), f.srv.URL) {
		t.Errorf("error %q repeats the whole URL", err)
	}
	if retries == 0 {
		t.Error("a network error was not retried")
	}
}
