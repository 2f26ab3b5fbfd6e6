package cortex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIError is a non-2xx answer of the Cortex API.
type APIError struct {
	Endpoint   string        // method and path, e.g. "GET /public_api/appsec/v1/scans/pr"
	StatusCode int           // HTTP status
	Code       string        // err_code or errorCode of the body, if any
	Message    string        // the server's message, sanitised and truncated
	RetryAfter time.Duration // from Retry-After on 429/503, capped; 0 if none
}

// Error is one line: endpoint, status, the server's message and, for the
// statuses a user can fix, what to check.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" && e.Code != strconv.Itoa(e.StatusCode) && !strings.Contains(e.Message, e.Code) {
		b.WriteString(" [")
		b.WriteString(e.Code)
		b.WriteString("]")
	}
	if h := statusHint(e.StatusCode); h != "" {
		b.WriteString(" (")
		b.WriteString(h)
		b.WriteString(")")
	}
	return b.String()
}

// statusHint says what a user can do about a status.
func statusHint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "check api-key-id, api-key and api-key-type; an advanced key is also refused when this machine's clock is off"
	case http.StatusPaymentRequired:
		return "the tenant lacks the license for the AppSec API (Cortex Cloud Application Security / Posture Management)"
	case http.StatusForbidden:
		return "the API key's role needs read access to ASPM scan results"
	case http.StatusNotFound:
		return "check api-url: it should be the tenant's API URL from \"Copy API URL\""
	case http.StatusTooManyRequests:
		return "the tenant's API rate limit is shared by all its pipelines; lower rate-limit"
	}
	return ""
}

// retryableStatus reports whether a status is worth another attempt: rate
// limiting and server-side failures. Everything else (400, 401, 402, 403,
// 404, 413, ...) will answer the same way again.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || (status >= 500 && status <= 599)
}

// maxRetryAfter caps a server's Retry-After: the gate has its own deadline.
const maxRetryAfter = 60 * time.Second

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// errorBody holds both error dialects: the platform's
// {"reply": {"err_code", "err_msg", "err_extra"}} and AppSec's
// {"errorCode", "message"}, plus the generic shapes proxies send.
type errorBody struct {
	Reply *struct {
		ErrCode  flexString      `json:"err_code"`
		ErrMsg   flexString      `json:"err_msg"`
		ErrExtra json.RawMessage `json:"err_extra"`
	} `json:"reply"`
	ErrorCode flexString      `json:"errorCode"`
	Code      flexString      `json:"code"`
	Message   flexString      `json:"message"`
	Detail    flexString      `json:"detail"`
	Error     json.RawMessage `json:"error"`
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// newAPIError builds the error of a non-2xx answer from its (limited) body.
func (c *Client) newAPIError(endpoint string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, StatusCode: resp.StatusCode}
	code, msg := parseErrorBody(body)
	e.Code = c.sanitize(code, 64)
	e.Message = c.sanitize(msg, maxMessage)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	return e
}

const maxMessage = 300 // runes of a server message shown to the user

// parseErrorBody extracts a code and message from any error body.
func parseErrorBody(body []byte) (code, msg string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", ""
	}
	switch body[0] {
	case '{':
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil {
			if r := eb.Reply; r != nil && (r.ErrMsg != "" || r.ErrCode != "") {
				return string(r.ErrCode), joinNonEmpty(": ", string(r.ErrMsg), extraText(r.ErrExtra))
			}
			code = string(cmpOrStr(eb.ErrorCode, eb.Code))
			msg = string(cmpOrStr(eb.Message, eb.Detail))
			if msg == "" {
				msg = extraText(eb.Error)
			}
			if code != "" || msg != "" {
				return code, msg
			}
		}
		return "", "unreadable error body: " + string(body)
	case '[', '"':
		return "", extraText(body)
	case '<':
		msg = "the server answered with an HTML page, not JSON (a proxy or gateway in between?)"
		if m := htmlTitle.FindSubmatch(body); m != nil {
			if t := strings.TrimSpace(string(m[1])); t != "" {
				msg += ": " + t
			}
		}
		return "", msg
	}
	return "", string(body)
}

// extraText flattens err_extra, which is a string, an array of strings or
// anything else.
func extraText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, item := range list {
			if t := extraText(item); t != "" {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, "; ")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for _, k := range []string{"message", "msg", "err_msg", "detail"} {
			if t := extraText(obj[k]); t != "" {
				return t
			}
		}
	}
	return string(raw)
}

// sanitize makes server text safe for one log line: control and format
// characters (newlines, ANSI escapes, bidi overrides) become spaces, runs of
// white space collapse, the key is redacted if the server echoed it, and the
// result is cut at max runes.
func (c *Client) sanitize(s string, max int) string {
	if s == "" {
		return ""
	}
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[redacted]")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	b.Grow(min(len(s), max*4))
	space, n := false, 0
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if n == max {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func cmpOrStr(a, b flexString) flexString {
	if a != "" {
		return a
	}
	return b
}

// decodeError is a 2xx answer the client could not read.
type decodeError struct {
	endpoint  string
	what      string
	err       error
	retryable bool // a body cut short by the network may come whole next time
}

func (e *decodeError) Error() string {
	s := e.endpoint + ": malformed response: " + e.what
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *decodeError) Unwrap() error { return e.err }

// attemptTimeoutError is an attempt that outlived RequestTimeout. It does
// not wrap context.DeadlineExceeded on purpose: the caller's own deadline
// (the gate's timeout) did not pass, and errors.Is must not say it did.
type attemptTimeoutError struct {
	endpoint string
	timeout  time.Duration
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("%s: no complete answer within %s", e.endpoint, e.timeout)
}
