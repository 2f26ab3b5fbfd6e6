package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cortex-gate/cortex-gate/publish/internal/sticky"
)

// notesPerPage is the most GitLab serves per page.
const notesPerPage = 100

// noteTrimmedNote ends a body that had to be cut to fit.
const noteTrimmedNote = "\n\n_This comment was cut to fit GitLab's limit; the job summary and the report files have everything._\n"

// UpsertNote keeps one sticky note on merge request mrIID: the note whose
// body contains marker and whose author is the token's own user (for a
// project access token, its bot user). It is updated in place when its body
// differs from body, left alone when it does not, and created when there is
// none. A note by anyone else is never edited, even when it quotes the
// marker. It returns the note's web address,
// ProjectURL/-/merge_requests/IID#note_ID, or "" without Config.ProjectURL.
//
// body must contain marker: without it the next run could not find the note
// and would post a second one.
//
// GitLab API docs: https://docs.gitlab.com/api/notes/#merge-requests
func (c *Client) UpsertNote(ctx context.Context, mrIID int, marker, body string) (webURL string, err error) {
	where := fmt.Sprintf("%s!%d", c.projectRef, mrIID)
	if err := sticky.Check("MR note on "+where, mrIID, marker, body); err != nil {
		return "", err
	}
	body = fitNote(body, marker)

	self, err := c.self(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to post MR note on %s: %w", where, err)
	}
	existing, err := c.findNote(ctx, mrIID, marker, self)
	if err != nil {
		return "", fmt.Errorf("failed to list MR notes on %s: %w", where, err)
	}
	notes := fmt.Sprintf("/projects/%s/merge_requests/%d/notes", c.project, mrIID)
	payload := map[string]string{"body": body}

	if existing != nil {
		if sameBody(existing.Body, body) {
			return c.webURL(mrIID, existing.ID), nil
		}
		var updated note
		if _, err := c.do(ctx, http.MethodPut, notes+"/"+strconv.FormatInt(existing.ID, 10), nil, payload, &updated); err != nil {
			return "", fmt.Errorf("failed to update MR note %d on %s: %w", existing.ID, where, err)
		}
		return c.webURL(mrIID, existing.ID), nil
	}

	var created note
	if _, err := c.do(ctx, http.MethodPost, notes, nil, payload, &created); err != nil {
		return "", fmt.Errorf("failed to create MR note on %s: %w", where, err)
	}
	if created.ID == 0 {
		return "", fmt.Errorf("failed to create MR note on %s: the answer has no note id", where)
	}
	return c.webURL(mrIID, created.ID), nil
}

// self is the id of the token's user, looked up once.
//
// GitLab API docs: https://docs.gitlab.com/api/users/#get-the-current-user
func (c *Client) self(ctx context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.selfID != 0 {
		return c.selfID, nil
	}
	var u struct {
		ID int64 `json:"id"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/user", nil, nil, &u); err != nil {
		return 0, fmt.Errorf("failed to identify the token's user (GET /user): %w", err)
	}
	if u.ID == 0 {
		return 0, errors.New("failed to identify the token's user (GET /user): the answer has no id")
	}
	c.selfID = u.ID
	return u.ID, nil
}

// findNote returns the oldest note on the merge request that holds marker
// and was written by the user self, or nil. Every page is read.
func (c *Client) findNote(ctx context.Context, mrIID int, marker string, self int64) (*note, error) {
	endpoint := fmt.Sprintf("/projects/%s/merge_requests/%d/notes", c.project, mrIID)
	for page := 1; page > 0; {
		q := url.Values{
			"sort":     {"asc"},
			"order_by": {"created_at"},
			"per_page": {strconv.Itoa(notesPerPage)},
			"page":     {strconv.Itoa(page)},
		}
		var notes []note
		header, err := c.do(ctx, http.MethodGet, endpoint, q, nil, &notes)
		if err != nil {
			return nil, err
		}
		for i := range notes {
			n := &notes[i]
			if !n.System && n.Author.ID == self && strings.Contains(n.Body, marker) {
				return n, nil
			}
		}
		page = nextPage(header, page, len(notes))
	}
	return nil, nil
}

// nextPage reads X-Next-Page, empty on the last page. Where a proxy dropped
// the header, a full page means there may be another.
func nextPage(h http.Header, page, got int) int {
	if v, ok := h[http.CanonicalHeaderKey("X-Next-Page")]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(strings.Join(v, "")))
		if err != nil || n <= page {
			return 0
		}
		return n
	}
	if got >= notesPerPage {
		return page + 1
	}
	return 0
}

func (c *Client) webURL(mrIID int, noteID int64) string {
	if c.projectURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/-/merge_requests/%d#note_%d", c.projectURL, mrIID, noteID)
}

// sameBody compares bodies as GitLab may store them, with CRLF line ends.
func sameBody(a, b string) bool {
	return strings.ReplaceAll(a, "\r\n", "\n") == strings.ReplaceAll(b, "\r\n", "\n")
}

// fitNote cuts body to GitLab's limit, at a line end, keeping the marker.
func fitNote(body, marker string) string {
	return sticky.Fit(body, marker, MaxNoteChars, noteTrimmedNote)
}
