package cortex

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// KeyType is the kind of Cortex API key: the two sign requests differently.
type KeyType string

const (
	KeyStandard KeyType = "standard" // the key itself goes in Authorization
	KeyAdvanced KeyType = "advanced" // Authorization is a per-request SHA-256 over key, nonce and timestamp
)

// Defaults New applies to zero Config fields.
const (
	defaultRateLimit      = 4 // requests per second; the tenant's budget (10/s) is shared by every pipeline
	defaultRequestTimeout = 30 * time.Second
	defaultMaxRetryTime   = 2 * time.Minute
	defaultPageSize       = 100  // scan lists: a poll needs one small page
	defaultItemPageSize   = 5000 // issues and findings: 50,000 issues in 11 requests, not 500
	defaultUserAgent      = "cortex-gate"
)

// apiPrefix is where the AppSec public API lives under the tenant URL.
const apiPrefix = "/public_api/appsec/v1"

// Config configures a Client. Only BaseURL, KeyID and Key are required.
//
// Retries wait about 1s, doubling with 25% jitter up to 30s, within
// MaxRetryTime; a budget under 8s shrinks the waits so it still buys a few.
type Config struct {
	BaseURL        string        // tenant URL; NormalizeBaseURL applied
	KeyID, Key     string        // surrounding white space is trimmed (pasted secrets often end in a newline)
	KeyType        KeyType       // "" = standard
	RateLimit      float64       // requests per second, client-side token bucket; 0 = 4
	HTTPClient     *http.Client  // nil = a client with sane transport timeouts, proxy from environment
	RequestTimeout time.Duration // per attempt; 0 = 30s
	MaxRetryTime   time.Duration // total retry budget per call; 0 = 2m
	PageSize       int           // limit per page; 0 = 100 for scan lists, 5000 for issues and findings
	UserAgent      string
	Debugf         func(format string, args ...any) // retry notices etc; nil = silent
	Now            func() time.Time                 // for advanced-key timestamps; nil = time.Now
}

// Client calls the Cortex AppSec API. It is safe for concurrent use; all
// calls of one Client share its rate limit.
type Client struct {
	base       *url.URL
	keyID, key string
	keyType    KeyType
	http       *http.Client
	limiter    *rate.Limiter
	reqTimeout time.Duration
	maxRetry   time.Duration
	pageSize   int
	// itemPageSize is the limit asked for issues and findings.
	itemPageSize int
	userAgent    string
	debugf       func(format string, args ...any)
	now          func() time.Time

	// initialInterval and maxInterval shape the exponential backoff between
	// retries; tests shrink them so retries take milliseconds.
	initialInterval time.Duration
	maxInterval     time.Duration
	maxPages        int   // tests lower it
	maxPageBytes    int64 // tests lower it

	requests atomic.Int64
}

// New validates cfg and returns a Client. All problems are reported at once.
func New(cfg Config) (*Client, error) {
	var errs []error
	base, err := NormalizeBaseURL(cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	keyID, key := strings.TrimSpace(cfg.KeyID), strings.TrimSpace(cfg.Key)
	if keyID == "" {
		errs = append(errs, errors.New("missing API key id"))
	} else if !validHeaderValue(keyID) {
		errs = append(errs, errors.New("invalid API key id: it contains control characters"))
	}
	if key == "" {
		errs = append(errs, errors.New("missing API key"))
	} else if !validHeaderValue(key) {
		// Never echo the key: say what is wrong with it, not what it is.
		errs = append(errs, errors.New("invalid API key: it contains control characters"))
	}
	keyType := KeyType(strings.ToLower(strings.TrimSpace(string(cfg.KeyType))))
	switch keyType {
	case "":
		keyType = KeyStandard
	case KeyStandard, KeyAdvanced:
	default:
		errs = append(errs, fmt.Errorf("invalid API key type %q: want %q or %q", cfg.KeyType, KeyStandard, KeyAdvanced))
	}
	if cfg.RateLimit < 0 || math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0) {
		errs = append(errs, fmt.Errorf("invalid rate limit %v: want a positive number of requests per second", cfg.RateLimit))
	}
	if cfg.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("invalid request timeout %s: must not be negative", cfg.RequestTimeout))
	}
	if cfg.MaxRetryTime < 0 {
		errs = append(errs, fmt.Errorf("invalid retry time %s: must not be negative", cfg.MaxRetryTime))
	}
	if cfg.PageSize < 0 {
		errs = append(errs, fmt.Errorf("invalid page size %d: must not be negative", cfg.PageSize))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("failed to configure the Cortex client: %w", errors.Join(errs...))
	}

	c := &Client{
		base:         base,
		keyID:        keyID,
		key:          key,
		keyType:      keyType,
		http:         cfg.HTTPClient,
		reqTimeout:   cmp.Or(cfg.RequestTimeout, defaultRequestTimeout),
		maxRetry:     cmp.Or(cfg.MaxRetryTime, defaultMaxRetryTime),
		pageSize:     cmp.Or(cfg.PageSize, defaultPageSize),
		itemPageSize: cmp.Or(cfg.PageSize, defaultItemPageSize),
		userAgent:    cmp.Or(cfg.UserAgent, defaultUserAgent),
		debugf:       cfg.Debugf,
		now:          cfg.Now,
		// About 1s growing to 30s, as the vendor's SDK does; a small retry
		// budget shrinks both, so that it still buys a few retries.
		initialInterval: min(time.Second, cmp.Or(cfg.MaxRetryTime, defaultMaxRetryTime)/8),
		maxInterval:     min(30*time.Second, cmp.Or(cfg.MaxRetryTime, defaultMaxRetryTime)/4),
		maxPages:        maxPages,
		maxPageBytes:    maxPageBytes,
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.debugf == nil {
		c.debugf = func(string, ...any) {}
	}
	if c.now == nil {
		c.now = time.Now
	}
	// A burst of one second's worth: the few requests that read a finished
	// scan go at once, and the sustained rate never passes RateLimit (the
	// tenant's budget is shared with every other pipeline).
	r := cmp.Or(cfg.RateLimit, defaultRateLimit)
	c.limiter = rate.NewLimiter(rate.Limit(r), max(1, int(math.Ceil(r))))
	return c, nil
}

// Requests is the number of HTTP attempts sent so far, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// NormalizeBaseURL checks a tenant API URL as the console's "Copy API URL"
// gives it (https://api-<tenant>.xdr.<region>.paloaltonetworks.com) and
// strips what users tend to paste with it: a trailing /public_api/... path,
// trailing slashes, a query or fragment.
func NormalizeBaseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errors.New("missing Cortex API URL")
	}
	if !strings.Contains(s, "://") {
		// "api-tenant.xdr...com" would parse as a bare path, "host:443" as a scheme.
		if strings.Contains(s, "@") {
			// Never echo what may be user:password@host.
			return nil, errors.New("invalid Cortex API URL: missing https://, and it holds an @: give the tenant URL without credentials")
		}
		return nil, fmt.Errorf("invalid Cortex API URL %q: missing https:// (did you mean %q?)", s, "https://"+strings.TrimLeft(s, "/"))
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("invalid Cortex API URL: it does not parse; want an address like https://api-mytenant.xdr.us.paloaltonetworks.com")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("invalid Cortex API URL %q: the scheme must be https or http, not %q", u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("invalid Cortex API URL %q: missing host name", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid Cortex API URL %q: it must not carry a user name or password (the key goes in api-key)", u.Redacted())
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false

	p := u.Path
	if i := indexSegment(p, "public_api"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	u.Path, u.RawPath = p, ""
	return u, nil
}

// indexSegment finds the path segment seg (any case) in p and returns the
// index of the slash before it, or -1.
func indexSegment(p, seg string) int {
	lp := strings.ToLower(p)
	for i := 0; i < len(lp); i++ {
		if lp[i] != '/' || !strings.HasPrefix(lp[i+1:], seg) {
			continue
		}
		if end := i + 1 + len(seg); end == len(lp) || lp[end] == '/' {
			return i
		}
	}
	return -1
}

// defaultHTTPClient has timeouts on every phase of a connection and honours
// HTTPS_PROXY / NO_PROXY. The overall per-attempt limit is a context.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   10 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          10,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f {
			return false
		}
	}
	return true
}
