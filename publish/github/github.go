// Package github posts the gate's reports to GitHub: the sticky pull request
// comment and the check run with its annotations. It renders nothing itself:
// bodies arrive as strings from the reporter packages.
//
// GitHub API docs: https://docs.github.com/rest
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cortex-gate/cortex-gate/publish/internal/retry"

	"github.com/cenkalti/backoff/v4"
	gh "github.com/google/go-github/v62/github"
)

// DefaultAPIURL is the REST root of github.com, used when Config.APIURL is empty.
const DefaultAPIURL = "https://api.github.com"

// DefaultBotLogin is the author of everything the Actions GITHUB_TOKEN writes.
const DefaultBotLogin = "github-actions[bot]"

// Config says where and as whom the client posts.
type Config struct {
	// Token is a GitHub token (the Actions GITHUB_TOKEN, a PAT, or an app
	// installation token). It is sent as a bearer token and never logged.
	Token string
	// APIURL is GITHUB_API_URL: https://api.github.com (the default), or
	// https://HOST/api/v3 on GitHub Enterprise Server.
	APIURL string
	// Owner and Repo name the repository, as in GITHUB_REPOSITORY.
	Owner, Repo string
	// BotLogin is whom the sticky comment belongs to when GET /user is
	// refused, as it is for installation tokens. Default: github-actions[bot];
	// a GitHub App's own token writes as "<app-slug>[bot]".
	BotLogin string
	// HTTPClient carries the requests (proxies, custom roots, tests).
	// Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Debugf, when set, hears about retries.
	Debugf func(format string, args ...any)
}

// Client posts to one repository. It is safe for concurrent use.
type Client struct {
	gh       *gh.Client
	owner    string
	repo     string
	token    string
	botLogin string
	// loginGuessed is set when GET /user was refused and login is only
	// botLogin's guess: a GitHub App's installation token writes as
	// <app-slug>[bot], not github-actions[bot].
	loginGuessed bool
	debugf       func(format string, args ...any)
	// newBackOff is the retry policy; tests shorten it.
	newBackOff func() backoff.BackOff
	// retryBudget is the longest a call keeps retrying, Retry-After included.
	retryBudget time.Duration

	mu    sync.Mutex
	login string // the token's user, once known
}

// New checks cfg and builds a client. It makes no request.
func New(cfg Config) (*Client, error) {
	var errs []error
	if cfg.Token == "" {
		errs = append(errs, errors.New("github-token is empty"))
	}
	if cfg.Owner == "" || cfg.Repo == "" || strings.Contains(cfg.Owner, "/") || strings.Contains(cfg.Repo, "/") {
		errs = append(errs, fmt.Errorf("repository %q is not owner/name", cfg.Owner+"/"+cfg.Repo))
	}
	apiURL := strings.TrimSpace(cfg.APIURL)
	if apiURL != "" {
		u, err := url.Parse(apiURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("GITHUB_API_URL %q is not an http(s) URL", apiURL))
		case u.User != nil:
			// Error messages quote request URLs; credentials there would leak.
			errs = append(errs, errors.New("GITHUB_API_URL must not carry credentials: pass the token as github-token"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("failed to configure the GitHub client: %w", err)
	}

	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	client := gh.NewClient(hc).WithAuthToken(cfg.Token)
	if apiURL != "" && strings.TrimSuffix(apiURL, "/") != DefaultAPIURL {
		// WithEnterpriseURLs appends /api/v3/ unless the URL already ends so
		// (GITHUB_API_URL on GHES does) or names an api.* host (GHE.com).
		var err error
		client, err = client.WithEnterpriseURLs(apiURL, apiURL)
		if err != nil {
			return nil, fmt.Errorf("failed to configure the GitHub client: GITHUB_API_URL %q: %w", apiURL, err)
		}
	}
	bot := cfg.BotLogin
	if bot == "" {
		bot = DefaultBotLogin
	}
	debugf := cfg.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	return &Client{
		gh:          client,
		owner:       cfg.Owner,
		repo:        cfg.Repo,
		token:       cfg.Token,
		botLogin:    bot,
		debugf:      debugf,
		newBackOff:  defaultBackOff,
		retryBudget: 30 * time.Second,
	}, nil
}

func defaultBackOff() backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(500*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		// The retry budget (Client.retryBudget) bounds the total instead:
		// it also covers Retry-After waits this policy does not know about.
		backoff.WithMaxElapsedTime(0),
	)
}

// slug is "owner/repo", for messages.
func (c *Client) slug() string { return c.owner + "/" + c.repo }

// IsPermission reports whether err is GitHub refusing the token the right to
// write (403), as it does for the read-only GITHUB_TOKEN of a pull request
// from a fork ("Resource not accessible by integration"). Rate limits, which
// GitHub also answers with 403, are not permission errors.
func IsPermission(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden
}

// notAccessibleByIntegration is GitHub's message when an installation token
// (the Actions GITHUB_TOKEN) calls an endpoint it may not use.
const notAccessibleByIntegration = "resource not accessible by integration"

// isIntegrationRefusal reports whether GET /user was refused because the
// token is an installation token, which has no user of its own.
func isIntegrationRefusal(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	switch er.Response.StatusCode {
	case http.StatusForbidden:
		return true
	case http.StatusUnauthorized:
		return strings.Contains(strings.ToLower(er.Message), notAccessibleByIntegration)
	}
	return false
}

// self is the login the sticky comment must belong to: the token's own user,
// or the bot login for tokens that have none. It is looked up once.
//
// GitHub API docs: https://docs.github.com/rest/users/users#get-the-authenticated-user
func (c *Client) self(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.login != "" {
		return c.login, nil
	}
	var login string
	err := c.retry(ctx, "GET /user", func() error {
		u, _, err := c.gh.Users.Get(ctx, "")
		login = u.GetLogin()
		return err
	})
	switch {
	case err != nil && isIntegrationRefusal(err):
		// The Actions GITHUB_TOKEN cannot read /user; what it writes is
		// authored by github-actions[bot].
		c.debugf("GET /user refused (%v): comments are taken to be written by %s", err, c.botLogin)
		login = c.botLogin
		c.loginGuessed = true
	case err != nil:
		return "", fmt.Errorf("failed to identify the token's user (GET /user): %w", err)
	case login == "":
		return "", errors.New("failed to identify the token's user (GET /user): the answer has no login")
	}
	c.login = login
	return login, nil
}

// retry runs op until it succeeds, fails for good, or the retry budget is
// spent. Server errors, network errors and rate limits are retried (a rate
// limit after the wait GitHub asks for, when that fits in the budget); other
// 4xx answers are final.
func (c *Client) retry(ctx context.Context, what string, op func() error) error {
	start := time.Now()
	b := &retry.AfterBackOff{BackOff: c.newBackOff()}
	err := backoff.RetryNotify(func() error {
		err := op()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return backoff.Permanent(err)
		}
		left := c.retryBudget - time.Since(start)
		var (
			abuse *gh.AbuseRateLimitError
			rate  *gh.RateLimitError
			er    *gh.ErrorResponse
			uerr  *url.Error
		)
		switch {
		case errors.As(err, &abuse):
			if abuse.RetryAfter != nil {
				b.Wait = *abuse.RetryAfter
			}
		case errors.As(err, &rate):
			b.Wait = time.Until(rate.Rate.Reset.Time)
		case errors.As(err, &er):
			if er.Response == nil || (er.Response.StatusCode < 500 && er.Response.StatusCode != http.StatusTooManyRequests) {
				return backoff.Permanent(err)
			}
		case errors.As(err, &uerr):
			// The request may not have reached GitHub: try again.
		default:
			// An unreadable answer, a cancelled context: trying again will not help.
			return backoff.Permanent(err)
		}
		if b.Wait > left || left <= 0 {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, ctx), func(err error, d time.Duration) {
		c.debugf("%s failed, retrying in %s: %v", what, d.Round(time.Millisecond), err)
	})
	return c.redact(err)
}

// redact keeps the token out of an error's text, whatever produced it, and
// drops the empty field-error list go-github prints ("403 Forbidden []").
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var er *gh.ErrorResponse
	if errors.As(err, &er) && len(er.Errors) == 0 {
		msg = strings.TrimSuffix(msg, " []")
	}
	if len(c.token) >= 8 {
		msg = strings.ReplaceAll(msg, c.token, "***")
	}
	if msg == err.Error() {
		return err
	}
	return &cleanError{err: err, msg: msg}
}

// cleanError is err with a reworded message; errors.As still finds err.
type cleanError struct {
	err error
	msg string
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
