package github

import (
	"context"
	"fmt"
	"strings"

	"github.com/cortex-gate/cortex-gate/publish/internal/sticky"

	gh "github.com/google/go-github/v62/github"
)

// MaxCommentChars is the longest body GitHub accepts for a comment.
const MaxCommentChars = 65536

// commentTrimmedNote ends a body that had to be cut to fit.
const commentTrimmedNote = "\n\n_This comment was cut to fit GitHub's limit; the job summary and the report files have everything._\n"

// UpsertComment keeps one sticky comment on pull request prNumber: the
// comment whose body contains marker and whose author is the token's own user
// (github-actions[bot] for the Actions GITHUB_TOKEN). It is updated in place
// when its body differs from body, left alone when it does not, and created
// when there is none. A comment by anyone else is never edited, even when it
// quotes the marker. It returns the comment's html_url.
//
// body must contain marker: without it the next run could not find the
// comment and would post a second one. A body over GitHub's 65,536
// characters is cut, keeping the marker.
//
// GitHub API docs: https://docs.github.com/rest/issues/comments
func (c *Client) UpsertComment(ctx context.Context, prNumber int, marker, body string) (htmlURL string, err error) {
	where := fmt.Sprintf("%s#%d", c.slug(), prNumber)
	if err := sticky.Check("PR comment on "+where, prNumber, marker, body); err != nil {
		return "", err
	}
	body = fitComment(body, marker)

	login, err := c.self(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to post PR comment on %s: %w", where, err)
	}
	existing, err := c.findComment(ctx, prNumber, marker, login)
	if err != nil {
		return "", err
	}

	if existing != nil {
		if sameBody(existing.GetBody(), body) {
			return existing.GetHTMLURL(), nil
		}
		var updated *gh.IssueComment
		err := c.retry(ctx, "PATCH comment", func() error {
			var err error
			updated, _, err = c.gh.Issues.EditComment(ctx, c.owner, c.repo, existing.GetID(), &gh.IssueComment{Body: gh.String(body)})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("failed to update PR comment %d on %s: %w", existing.GetID(), where, err)
		}
		return updated.GetHTMLURL(), nil
	}

	var created *gh.IssueComment
	err = c.retry(ctx, "POST comment", func() error {
		var err error
		created, _, err = c.gh.Issues.CreateComment(ctx, c.owner, c.repo, prNumber, &gh.IssueComment{Body: gh.String(body)})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("failed to create PR comment on %s: %w", where, err)
	}
	return created.GetHTMLURL(), nil
}

// findComment returns the oldest comment on the pull request that holds
// marker and was written by login, or nil. Every page is read: on a busy pull
// request the sticky comment can be far from the first hundred.
func (c *Client) findComment(ctx context.Context, prNumber int, marker, login string) (*gh.IssueComment, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		var (
			page []*gh.IssueComment
			resp *gh.Response
		)
		err := c.retry(ctx, "GET comments", func() error {
			var err error
			page, resp, err = c.gh.Issues.ListComments(ctx, c.owner, c.repo, prNumber, opts)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("failed to list PR comments on %s#%d: %w", c.slug(), prNumber, err)
		}
		for _, cm := range page {
			if c.ownComment(cm, login) && strings.Contains(cm.GetBody(), marker) {
				return cm, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// sameBody compares bodies as GitHub stores them: it may hand back CRLF
// line ends for a body sent with LF.
func sameBody(a, b string) bool {
	return strings.ReplaceAll(a, "\r\n", "\n") == strings.ReplaceAll(b, "\r\n", "\n")
}

// fitComment cuts body to GitHub's limit, at a line end where one is near,
// and puts the marker back at the top if the cut took it.
func fitComment(body, marker string) string {
	return sticky.Fit(body, marker, MaxCommentChars, commentTrimmedNote)
}

// ownComment reports whether the token's user wrote cm. Logins are
// case-insensitive on GitHub. When GET /user was refused the login is a
// guess, so any bot's comment counts: an App's installation token writes as
// <app-slug>[bot]. A human's comment never counts, marker or not.
func (c *Client) ownComment(cm *gh.IssueComment, login string) bool {
	author := cm.GetUser()
	if strings.EqualFold(author.GetLogin(), login) {
		return true
	}
	c.mu.Lock()
	guessed := c.loginGuessed
	c.mu.Unlock()
	return guessed && author.GetType() == "Bot" && strings.HasSuffix(author.GetLogin(), "[bot]")
}
