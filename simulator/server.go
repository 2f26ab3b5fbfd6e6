// Package simulator is a stand-in Cortex Cloud tenant: an http.Handler that
// serves the AppSec endpoints the gate reads (/scans/pr, /scans/ci,
// /scans/{scanId}/issues, /scans/{scanId}/findings under
// /public_api/appsec/v1) the way the vendor describes them, driven by a
// Scenario.
//
// It backs the gate's tests, `cortex-gate demo` (in process) and
// `cortex-gate simulate` (users' dry runs of their pipeline wiring). Scans
// appear and finish as they are polled (or as the injected clock advances),
// filters and pagination behave like a tenant's, credentials are checked
// (standard and advanced keys), and faults can be injected: error statuses,
// delays, hangs, resets, truncated, malformed, empty or HTML bodies, a server
// that ignores offset, and a tenant-wide rate limit.
//
// Every response body a built-in scenario produces validates against the
// vendor's OpenAPI description (the docs dialect's status spellings aside);
// the package's tests check that with internal/oas. The scenario format is
// described in README.md beside this file.
//
// Cortex API docs: https://cortex-panw.stoplight.io/docs/cortex-xsiam-3-x
package simulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// apiPrefix is where the AppSec public API lives on a tenant.
const apiPrefix = "/public_api/appsec/v1"

// maxClockSkew is how far an advanced key's timestamp may be from the
// server's clock.
const maxClockSkew = 5 * time.Minute

// Options tune a Server.
type Options struct {
	// Now is the clock: scan ages, appear/complete times, the days filter,
	// advanced-key timestamps and the rate limit all read it. nil: time.Now.
	Now func() time.Time
	// Logf, when set, gets one line per request (method, path and query,
	// status, what was served). Headers, and so credentials, are never logged.
	Logf func(format string, args ...any)
}

// Stats counts what a Server was asked and answered.
type Stats struct {
	Requests   int            // all requests
	ByEndpoint map[string]int // "pr", "ci", "issues", "findings", "other"
	Status     map[int]int    // by status sent; 0: no answer (reset, or the client gave up)
	Polls      map[string]int // by scanId: list requests at offset 0 that matched the scan
}

// Server is a simulated Cortex tenant. It is safe for concurrent use.
type Server struct {
	sc       *Scenario
	now      func() time.Time
	logf     func(format string, args ...any)
	start    time.Time
	keyID    string
	key      string
	advanced bool

	mu        sync.Mutex
	scans     []*scanState // newest first
	byID      map[string]*scanState
	faultHits []int
	tokens    float64
	tokensAt  time.Time
	requests  int
	byEP      map[string]int
	byStatus  map[int]int
}

// scanState is one scan and how far it has progressed.
type scanState struct {
	spec     *Scan
	date     time.Time // zero when a raw scanDate cannot be read
	dateText string
	polls    int

	issues, findings              items
	issuesBySev, issuesByType     map[string]float64
	findingsBySev, findingsByType map[string]float64
}

type phase int

const (
	hidden phase = iota
	inProgress
	final
)

// New returns a server for sc. A nil scenario is a tenant with no scans.
func New(sc *Scenario, opts Options) *Server {
	if sc == nil {
		sc = &Scenario{}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		sc: sc, now: now, logf: opts.Logf, start: now(),
		keyID: DemoKeyID, key: DemoKey,
		byID:      map[string]*scanState{},
		faultHits: make([]int, len(sc.Faults)),
		byEP:      map[string]int{},
		byStatus:  map[int]int{},
	}
	if a := sc.Auth; a != nil {
		if a.KeyID != "" {
			s.keyID = a.KeyID
		}
		if a.Key != "" {
			s.key = a.Key
		}
		s.advanced = a.Type == "advanced"
	}
	if rl := sc.RateLimit; rl != nil {
		s.tokens, s.tokensAt = s.burst(), s.start
	}
	for i := range sc.Scans {
		st := newScanState(&sc.Scans[i], s.start)
		s.scans = append(s.scans, st)
		s.byID[st.spec.ScanID] = st
	}
	// Newest first, as a tenant lists them; unreadable dates last.
	sort.SliceStable(s.scans, func(i, j int) bool {
		a, b := s.scans[i].date, s.scans[j].date
		if a.IsZero() != b.IsZero() {
			return !a.IsZero()
		}
		return a.After(b)
	})
	return s
}

func newScanState(spec *Scan, start time.Time) *scanState {
	st := &scanState{spec: spec}
	if spec.ScanDate != "" {
		st.dateText = spec.ScanDate
		st.date, _ = parseTime(spec.ScanDate)
	} else {
		st.date = start.Add(-time.Duration(spec.AgeSeconds * float64(time.Second))).UTC().Truncate(time.Millisecond)
		st.dateText = st.date.Format(time.RFC3339)
	}
	c := &scanContext{
		scanID:     spec.ScanID,
		repoName:   spec.RepoName,
		repoID:     repositoryID(spec),
		branch:     spec.BranchName,
		date:       st.dateText,
		commit:     spec.CommitID,
		gitUser:    spec.UserEmail,
		dataSource: dataSource(spec.Provider),
		scanSource: "pr",
	}
	if spec.Type == "ci" {
		c.scanSource = "cicd"
		c.runID = itemID(spec.ScanID, "run", 0)[:12]
	} else {
		c.prID = spec.PullRequestID
	}
	if c.gitUser == "" {
		c.gitUser = "developer@example.com"
	}

	var seed int64
	var nIssues, nFindings int
	if g := spec.Generate; g != nil {
		seed, nIssues, nFindings = g.Seed, g.Issues, g.Findings
	}
	st.issues = items{n: nIssues, core: func(i int) (string, string) { return genCore(seed, i) }}
	for i, in := range spec.Issues {
		st.issues.explicit = append(st.issues.explicit, completeIssue(c, i, in))
	}
	base := len(st.issues.explicit)
	st.issues.gen = func(i int) map[string]string { return genIssue(c, seed, i, base+i) }

	st.findings = items{n: nFindings, core: func(j int) (string, string) { return genFindingCore(seed, nIssues, j) }}
	for i, in := range spec.Findings {
		st.findings.explicit = append(st.findings.explicit, completeFinding(c, i, in))
	}
	fbase := len(st.findings.explicit)
	st.findings.gen = func(j int) map[string]string { return genFinding(c, seed, nIssues, j, fbase+j) }

	st.issuesBySev, st.issuesByType = st.issues.counts()
	st.findingsBySev, st.findingsByType = st.findings.counts()
	return st
}

func repositoryID(spec *Scan) string {
	if spec.RepositoryID != "" {
		return spec.RepositoryID
	}
	return "repo-" + itemID(spec.OrganizationName+"/"+spec.RepoName, "repository", 0)[:12]
}

// parseTime reads the timestamp formats Cortex has been seen to use.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if len(s) >= 12 {
			return time.UnixMilli(n), true
		}
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.000"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// phase says whether the scan is listed, and whether it is finished, given
// the polls it has had and the time since the server started.
func (st *scanState) phase(elapsed time.Duration, forIssues bool) phase {
	sp := st.spec
	if (sp.AppearAfterPolls > 0 && st.polls <= sp.AppearAfterPolls) || elapsed < seconds(sp.AppearAfterSeconds) {
		return hidden
	}
	// A scan that dropped out of the lists still has its issues.
	if !forIssues && sp.DisappearAfterPolls > 0 && st.polls > sp.DisappearAfterPolls {
		return hidden
	}
	if (sp.InProgressPolls > 0 && st.polls <= sp.AppearAfterPolls+sp.InProgressPolls) || elapsed < seconds(sp.CompleteAfterSeconds) {
		return inProgress
	}
	return final
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// health and status are the scan's final values, defaults applied.
func (st *scanState) health() string {
	if st.spec.Health != "" {
		return st.spec.Health
	}
	return "COMPLETED"
}

func (st *scanState) status() string {
	switch {
	case st.spec.Status != "":
		return st.spec.Status
	case strings.EqualFold(st.health(), "ERROR"):
		return "ERROR"
	case len(st.spec.BlockingPolicies) > 0:
		return "FAILED"
	}
	return "PASSED"
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Requests: s.requests, ByEndpoint: map[string]int{}, Status: map[int]int{}, Polls: map[string]int{}}
	for k, v := range s.byEP {
		out.ByEndpoint[k] = v
	}
	for k, v := range s.byStatus {
		out.Status[k] = v
	}
	for _, st := range s.scans {
		out.Polls[st.spec.ScanID] = st.polls
	}
	return out
}

// route names the endpoint of a request path, and the scan id in it.
func route(p string) (endpoint, scanID string) {
	rest, ok := strings.CutPrefix(p, apiPrefix+"/scans/")
	if !ok {
		return "", ""
	}
	switch rest {
	case "pr", "ci":
		return rest, ""
	}
	id, kind, ok := strings.Cut(rest, "/")
	if ok && id != "" && (kind == "issues" || kind == "findings") {
		return kind, id
	}
	return "", ""
}

// ServeHTTP answers one request like a tenant would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &recordingWriter{ResponseWriter: w}
	ep, scanID := route(r.URL.Path)
	note := s.serve(rw, r, ep, scanID)

	s.mu.Lock()
	s.requests++
	if ep == "" {
		s.byEP["other"]++
	} else {
		s.byEP[ep]++
	}
	s.byStatus[rw.status]++
	s.mu.Unlock()
	if s.logf != nil {
		s.logf("%s %s -> %s %s", r.Method, r.URL.RequestURI(), statusText(rw.status), note)
	}
}

func statusText(code int) string {
	if code == 0 {
		return "no answer"
	}
	return strconv.Itoa(code)
}

// serve does the work of ServeHTTP and returns a note for the request log.
func (s *Server) serve(w *recordingWriter, r *http.Request, ep, scanID string) string {
	if ep == "" {
		writePlatformError(w, http.StatusNotFound, "Not Found", "the simulator serves only /scans/pr, /scans/ci, /scans/{scanId}/issues and /scans/{scanId}/findings under "+apiPrefix)
		return "unknown endpoint"
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writePlatformError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "only GET is supported")
		return "wrong method"
	}

	now := s.now()
	s.mu.Lock()
	allowed := s.allow(now)
	var fx effects
	if allowed {
		fx = s.faultsFor(ep)
	}
	s.mu.Unlock()
	if !allowed {
		writePlatformError(w, http.StatusTooManyRequests, "Too many requests", "the tenant's API rate limit was exceeded")
		return "rate limited"
	}

	if fx.delay > 0 {
		t := time.NewTimer(fx.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return "client gave up during delay"
		}
	}
	if f := fx.terminal; f != nil {
		return s.injectFault(w, r, f)
	}

	if reason := s.authenticate(r, now); reason != "" {
		writePlatformError(w, http.StatusUnauthorized, "Public API request unauthorized", reason)
		return "unauthorized: " + reason
	}
	q, err := parseQuery(ep, r.URL.Query())
	if err != nil {
		writeAppSecError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return "bad request"
	}
	if fx.ignoreOffset {
		q.offset = 0
	}

	s.mu.Lock()
	var page []any
	var note string
	status := http.StatusOK
	if ep == "pr" || ep == "ci" {
		page, note = s.list(ep, q, now)
	} else {
		page, note, status = s.scanItems(ep, scanID, q, now)
	}
	s.mu.Unlock()
	if status != http.StatusOK {
		writeAppSecError(w, status, "NOT_FOUND", note)
		return note
	}
	body := encode(s.wrap(page))
	if fx.truncate {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		return note + " (truncated)"
	}
	writeJSON(w, http.StatusOK, body)
	return note
}

// burst is the rate limit's bucket size.
func (s *Server) burst() float64 {
	rl := s.sc.RateLimit
	if rl.Burst > 0 {
		return float64(rl.Burst)
	}
	return math.Ceil(rl.PerSecond)
}

// allow takes a token from the rate-limit bucket. Called with s.mu held.
func (s *Server) allow(now time.Time) bool {
	rl := s.sc.RateLimit
	if rl == nil {
		return true
	}
	if el := now.Sub(s.tokensAt).Seconds(); el > 0 {
		s.tokens = math.Min(s.burst(), s.tokens+el*rl.PerSecond)
		s.tokensAt = now
	}
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// effects are the faults that apply to one request.
type effects struct {
	delay        time.Duration
	ignoreOffset bool
	truncate     bool
	terminal     *Fault // answers instead of the endpoint
}

// faultsFor counts the request against every fault of its endpoint and
// returns those that fire. Called with s.mu held.
func (s *Server) faultsFor(ep string) effects {
	var fx effects
	for i := range s.sc.Faults {
		f := &s.sc.Faults[i]
		if f.Endpoint != "" && f.Endpoint != "any" && f.Endpoint != ep {
			continue
		}
		s.faultHits[i]++
		k := s.faultHits[i]
		if k <= f.After || (f.Times > 0 && k > f.After+f.Times) {
			continue
		}
		switch f.Kind {
		case "delay":
			fx.delay += time.Duration(f.DelayMs) * time.Millisecond
		case "ignoreOffset":
			fx.ignoreOffset = true
		case "truncate":
			fx.truncate = true
		default:
			if fx.terminal == nil {
				fx.terminal = f
			}
		}
	}
	return fx
}

// injectFault answers r the way fault f says.
func (s *Server) injectFault(w *recordingWriter, r *http.Request, f *Fault) string {
	switch f.Kind {
	case "status":
		code := f.Status
		if code == 0 {
			code = http.StatusInternalServerError
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := http.StatusText(code)
		if code == http.StatusTooManyRequests {
			msg = "Too many requests"
		}
		writePlatformError(w, code, msg, "simulated fault")
		return fmt.Sprintf("fault: status %d", code)
	case "hang":
		var timeout <-chan time.Time
		if f.DelayMs > 0 {
			t := time.NewTimer(time.Duration(f.DelayMs) * time.Millisecond)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-r.Context().Done():
			return "fault: hang (client gave up)"
		case <-timeout:
			writePlatformError(w, http.StatusGatewayTimeout, "Gateway Timeout", "simulated fault: the upstream did not answer")
			return "fault: hang, then 504"
		}
	case "reset":
		if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // an RST, not a clean close
				}
				_ = conn.Close()
				return "fault: connection reset"
			}
		}
		// In process (no connection to cut), a bad gateway is the nearest.
		writePlatformError(w, http.StatusBadGateway, "Bad Gateway", "simulated fault: connection reset")
		return "fault: reset (as 502: the writer cannot be hijacked)"
	case "malformed":
		writeJSON(w, http.StatusOK, []byte(`[{"scanId": "sim-malformed", "scanHealth": COMPLETED,`))
		return "fault: malformed JSON"
	case "empty":
		writeJSON(w, http.StatusOK, nil)
		return "fault: empty body"
	case "html":
		code := f.Status
		if code == 0 {
			code = http.StatusOK
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>" +
			"<body><h1>Authentication required</h1><p>Please sign in to continue.</p></body></html>\n"))
		return fmt.Sprintf("fault: HTML page (%d)", code)
	}
	writePlatformError(w, http.StatusInternalServerError, "Internal Server Error", "simulated fault "+f.Kind)
	return "fault: " + f.Kind
}

// authenticate checks the request's credentials and returns why they are
// refused, or "". The reason never contains a header's value.
func (s *Server) authenticate(r *http.Request, now time.Time) string {
	id, authz := r.Header.Get("x-xdr-auth-id"), r.Header.Get("Authorization")
	if id == "" || authz == "" {
		return "the x-xdr-auth-id and Authorization headers are required"
	}
	if !equal(id, s.keyID) {
		return "unknown API key id"
	}
	if !s.advanced {
		if !equal(authz, s.key) {
			return "wrong API key"
		}
		return ""
	}
	nonce, ts := r.Header.Get("x-xdr-nonce"), r.Header.Get("x-xdr-timestamp")
	if len(nonce) != 64 || strings.Trim(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return "advanced key: x-xdr-nonce must be 64 characters of [A-Za-z0-9]"
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms < 0 {
		return "advanced key: x-xdr-timestamp must be Unix time in milliseconds"
	}
	if d := now.Sub(time.UnixMilli(ms)); d > maxClockSkew || d < -maxClockSkew {
		return "advanced key: x-xdr-timestamp is more than 5 minutes from the server's clock (check the clock, and compute fresh headers per request)"
	}
	if !equal(authz, cortex.AdvancedSignature(s.key, nonce, ts)) {
		return "advanced key: wrong signature"
	}
	return ""
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// query is a validated list request.
type query struct {
	org, branch, prID, prTitle, status, health, severity string
	repos                                                []string
	days                                                 float64
	offset, limit                                        int
}

// params are the query parameters each endpoint declares in the vendor
// description. Anything else is refused: a real gateway may ignore it, but
// refusing catches a client that sends, say, branchName to /scans/ci.
var params = map[string][]string{
	"pr":       {"organizationName", "repositories", "branchName", "prId", "prTitle", "prStatus", "scanHealth", "days", "offset", "limit"},
	"ci":       {"organizationName", "repositories", "ciStatus", "scanHealth", "days", "offset", "limit"},
	"issues":   {"severity", "offset", "limit"},
	"findings": {"severity", "offset", "limit"},
}

var healths = []string{"COMPLETED", "ERROR", "PARTIALLY_COMPLETED", "IN_PROGRESS"}

func parseQuery(ep string, v url.Values) (query, error) {
	q := query{days: 7, limit: 100}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(params[ep], k) {
			return q, fmt.Errorf("unknown query parameter %q for %s; accepted: %s", k, endpointPath(ep), strings.Join(params[ep], ", "))
		}
		if k != "repositories" && len(v[k]) > 1 {
			return q, fmt.Errorf("query parameter %q given %d times", k, len(v[k]))
		}
		for _, val := range v[k] {
			if val == "" {
				return q, fmt.Errorf("query parameter %q is empty", k)
			}
		}
	}
	var err error
	nonNegInt := func(k string, min int, dst *int) {
		if err != nil || !v.Has(k) {
			return
		}
		n, e := strconv.Atoi(v.Get(k))
		if e != nil || n < min {
			err = fmt.Errorf("query parameter %q must be an integer of at least %d, got %q", k, min, v.Get(k))
			return
		}
		*dst = n
	}
	nonNegInt("offset", 0, &q.offset)
	nonNegInt("limit", 1, &q.limit)
	if err != nil {
		return q, err
	}
	if v.Has("days") {
		d, e := strconv.ParseFloat(v.Get("days"), 64)
		if e != nil || d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			return q, fmt.Errorf("query parameter \"days\" must be a non-negative number, got %q", v.Get("days"))
		}
		q.days = d
	}
	if h := v.Get("scanHealth"); h != "" {
		if !slices.ContainsFunc(healths, func(x string) bool { return strings.EqualFold(x, h) }) {
			return q, fmt.Errorf("query parameter \"scanHealth\" must be one of %s, got %q", strings.Join(healths, ", "), h)
		}
		q.health = h
	}
	if sv := v.Get("severity"); sv != "" {
		if !slices.ContainsFunc(severities, func(x string) bool { return strings.EqualFold(x, sv) }) {
			return q, fmt.Errorf("query parameter \"severity\" must be one of %s, got %q", strings.Join(severities, ", "), sv)
		}
		q.severity = sv
	}
	q.org, q.branch, q.prID, q.prTitle = v.Get("organizationName"), v.Get("branchName"), v.Get("prId"), v.Get("prTitle")
	q.status = v.Get("prStatus") + v.Get("ciStatus") // each endpoint accepts one of them
	q.repos = v["repositories"]
	return q, nil
}

func endpointPath(ep string) string {
	switch ep {
	case "pr", "ci":
		return apiPrefix + "/scans/" + ep
	}
	return apiPrefix + "/scans/{scanId}/" + ep
}

// identifies reports whether the scan matches the request's identity
// filters: those that say which scan is wanted, not what state it is in.
// A list request at offset 0 that identifies a scan is a poll of it.
func (q *query) identifies(st *scanState, now time.Time) bool {
	sp := st.spec
	if q.org != "" && !strings.EqualFold(q.org, sp.OrganizationName) {
		return false
	}
	// Either the bare name (as repoName) or owner/name.
	if len(q.repos) > 0 && !slices.ContainsFunc(q.repos, func(r string) bool {
		return strings.EqualFold(r, sp.RepoName) || strings.EqualFold(r, sp.OrganizationName+"/"+sp.RepoName)
	}) {
		return false
	}
	if q.branch != "" && q.branch != sp.BranchName {
		return false
	}
	if q.prID != "" && q.prID != sp.PullRequestID {
		return false
	}
	if q.prTitle != "" && !strings.Contains(strings.ToLower(sp.PullRequestTitle), strings.ToLower(q.prTitle)) {
		return false
	}
	// A scan whose date cannot be read is kept: the filter cannot tell.
	if !st.date.IsZero() && st.date.Before(now.Add(-time.Duration(q.days*24*float64(time.Hour)))) {
		return false
	}
	return true
}

// list serves /scans/pr or /scans/ci. Called with s.mu held.
func (s *Server) list(ep string, q query, now time.Time) ([]any, string) {
	elapsed := now.Sub(s.start)
	var matched []any
	var notes []string
	for _, st := range s.scans {
		if st.spec.Type != ep || !q.identifies(st, now) {
			continue
		}
		if q.offset == 0 {
			st.polls++
		}
		ph := st.phase(elapsed, false)
		if ph == hidden {
			notes = append(notes, fmt.Sprintf("%s not yet listed (poll %d)", st.spec.ScanID, st.polls))
			continue
		}
		item := s.renderScan(st, ph)
		if q.health != "" && !strings.EqualFold(q.health, item["scanHealth"].(string)) {
			continue
		}
		if q.status != "" && !strings.EqualFold(q.status, item[statusField(ep)].(string)) {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s %s (poll %d)", st.spec.ScanID, item["scanHealth"], st.polls))
		matched = append(matched, item)
	}
	page := window(matched, q.offset, q.limit)
	return page, fmt.Sprintf("%d of %d scans at offset %d: %s", len(page), len(matched), q.offset, strings.Join(notes, ", "))
}

func statusField(ep string) string {
	if ep == "ci" {
		return "ciStatus"
	}
	return "pullRequestStatus"
}

func window(all []any, offset, limit int) []any {
	if offset >= len(all) {
		return []any{}
	}
	return all[offset:min(len(all), offset+limit)]
}

// renderScan is the list item of a scan in the scenario's dialect.
func (s *Server) renderScan(st *scanState, ph phase) map[string]any {
	sp := st.spec
	m := map[string]any{
		"scanId":   sp.ScanID,
		"scanDate": st.dateText,
		"repoName": sp.RepoName,
		"provider": cmpOr(sp.Provider, "GITHUB"),
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("repositoryId", repositoryID(sp))
	put("organizationName", sp.OrganizationName)
	put("branchName", sp.BranchName)
	put("integrationId", cmpOr(sp.IntegrationID, "integration-"+strings.ToLower(cmpOr(sp.Provider, "GITHUB"))+"-1"))
	put("commitId", sp.CommitID)

	health, status := "IN_PROGRESS", "IN_PROGRESS"
	var names, ids []string
	empty := func() map[string]float64 { return map[string]float64{} }
	m["issuesFound"], m["issuesTypesBreakdown"], m["findingsSeverityBreakdown"], m["findingsTypesBreakdown"] = empty(), empty(), empty(), empty()
	if ph == final {
		health, status = st.health(), st.status()
		for _, p := range sp.BlockingPolicies {
			names, ids = append(names, p.Name), append(ids, p.ID)
		}
		m["issuesFound"], m["issuesTypesBreakdown"] = st.issuesBySev, st.issuesByType
		m["findingsSeverityBreakdown"], m["findingsTypesBreakdown"] = st.findingsBySev, st.findingsByType
	}
	m["scanHealth"] = health
	m[statusField(sp.Type)] = status
	if sp.Type == "pr" {
		put("pullRequestId", sp.PullRequestID)
		put("pullRequestTitle", sp.PullRequestTitle)
		put("userEmail", sp.UserEmail)
	}
	if s.sc.Dialect == "docs" {
		// The product docs: arrays, present even when empty.
		m["blockingPoliciesNames"] = nonNil(names)
		m["blockingPoliciesIds"] = nonNil(ids)
	} else {
		// The vendor spec: one string each; several policies comma-joined.
		m["blockingPolicyName"] = strings.Join(names, ", ")
		m["blockingPolicyId"] = strings.Join(ids, ", ")
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// scanItems serves a scan's issues or findings. Called with s.mu held.
func (s *Server) scanItems(ep, scanID string, q query, now time.Time) ([]any, string, int) {
	st := s.byID[scanID]
	if st == nil {
		return nil, fmt.Sprintf("scan %s not found", scanID), http.StatusNotFound
	}
	switch st.phase(now.Sub(s.start), true) {
	case hidden:
		// Not started yet: the tenant does not know it.
		return nil, fmt.Sprintf("scan %s not found", scanID), http.StatusNotFound
	case inProgress:
		return []any{}, fmt.Sprintf("0 %s: scan %s is in progress", ep, scanID), http.StatusOK
	}
	it := &st.issues
	if ep == "findings" {
		it = &st.findings
	}
	page := []any{}
	seen, from := 0, 0
	if q.severity == "" {
		// Unfiltered, the offset is an index: skip straight to it.
		seen, from = q.offset, q.offset
	}
	for i := from; i < it.len(); i++ {
		if q.severity != "" && !strings.EqualFold(it.severity(i), q.severity) {
			continue
		}
		seen++
		if seen <= q.offset {
			continue
		}
		page = append(page, it.at(i))
		if len(page) == q.limit {
			break
		}
	}
	return page, fmt.Sprintf("%d %s of scan %s at offset %d", len(page), ep, scanID, q.offset), http.StatusOK
}

// wrap puts a list in the scenario's envelope.
func (s *Server) wrap(list []any) any {
	switch s.sc.Envelope {
	case "data":
		return map[string]any{"data": list}
	case "reply":
		return map[string]any{"reply": list}
	case "reply.data":
		return map[string]any{"reply": map[string]any{"data": list}}
	}
	return list
}

// encode writes v as JSON without HTML escaping: a tenant sends "<" as is,
// and clients must cope with untrusted text either way.
func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers, maps and slices are encoded here.
		return []byte(`{"errorCode":"INTERNAL","message":"failed to encode response"}`)
	}
	return buf.Bytes()
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writePlatformError sends the Cortex platform's error shape, used by its
// gateway for authentication, rate limiting and server errors.
func writePlatformError(w http.ResponseWriter, status int, msg, extra string) {
	writeJSON(w, status, encode(map[string]any{"reply": map[string]any{"err_code": status, "err_msg": msg, "err_extra": extra}}))
}

// writeAppSecError sends the AppSec service's own error shape.
func writeAppSecError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, encode(map[string]any{"errorCode": code, "message": msg}))
}

// recordingWriter remembers the status sent; 0 means nothing was.
type recordingWriter struct {
	http.ResponseWriter
	status int
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
