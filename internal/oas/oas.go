// Package oas checks HTTP traffic against an OpenAPI 3 description in tests:
// the requests the gate sends and the responses its fakes serve. It wraps
// github.com/getkin/kin-openapi (openapi3filter over the gorillamux router).
//
// Two things about the documents it is used with shape it:
//   - The vendor documents carry examples that do not match their own
//     schemas (Cortex's POST /policies example lacks a required field), so
//     examples are not validated when a document is loaded.
//   - Servers are ignored: operations are matched by path alone, because the
//     Cortex document names a placeholder host (https://api-yourfqdn) and test
//     servers listen on loopback. A GitHub Enterprise style prefix such as
//     /api/v3 is stripped with Options.PathPrefix.
//
// Security requirements are not checked (authentication is the server's
// job), but header parameters are: the Cortex document declares
// Authorization and x-xdr-auth-id as required header parameters of every
// operation, so a request without them is reported, and a request that
// carries them (with any string value) passes.
package oas

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Doc is a loaded, validated OpenAPI document with a router over its paths.
// It is safe for concurrent use.
type Doc struct {
	name   string // the path it was loaded from, for messages
	spec   *openapi3.T
	router routers.Router
}

// Options tune Middleware.
type Options struct {
	// PathPrefix is stripped from request paths before they are matched,
	// e.g. "/api/v3" for a fake GitHub Enterprise Server.
	PathPrefix string
	// SkipResponses validates requests only.
	SkipResponses bool
	// AllowUnknownPaths passes requests for paths the document does not
	// describe without reporting them.
	AllowUnknownPaths bool
}

type cacheEntry struct {
	once sync.Once
	doc  *Doc
	err  error
}

// cache holds one parsed document per absolute path: the GitHub description
// takes a noticeable time to parse and many parallel tests share it.
var cache sync.Map // string -> *cacheEntry

// Load reads the OpenAPI document at relPath, relative to the module root
// (the nearest directory above the working directory holding go.mod), e.g.
// "../shared/cortex/appsec-papi.json". An absolute path is used as is. The
// test fails at once when the document cannot be read or is invalid.
// Documents are parsed once per process and shared.
func Load(t testing.TB, relPath string) *Doc {
	t.Helper()
	path, err := resolve(relPath)
	if err != nil {
		t.Fatalf("failed to load OpenAPI document %s: %v", relPath, err)
	}
	v, _ := cache.LoadOrStore(path, &cacheEntry{})
	e := v.(*cacheEntry)
	e.once.Do(func() {
		data, err := os.ReadFile(path)
		if err != nil {
			e.err = err
			return
		}
		e.doc, e.err = parse(relPath, data, nil)
	})
	if e.err != nil {
		t.Fatalf("failed to load OpenAPI document %s: %v", relPath, e.err)
	}
	return e.doc
}

// LoadPatched reads the document at relPath like Load, lets patch change it
// before it is validated and routed, and returns a private copy (not cached).
// Tests use it to accept a documented deviation from a vendor description,
// e.g. extra enum values that real servers send.
func LoadPatched(t testing.TB, relPath string, patch func(spec *openapi3.T)) *Doc {
	t.Helper()
	path, err := resolve(relPath)
	if err != nil {
		t.Fatalf("failed to load OpenAPI document %s: %v", relPath, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to load OpenAPI document %s: %v", relPath, err)
	}
	d, err := parse(relPath, data, patch)
	if err != nil {
		t.Fatalf("failed to load OpenAPI document %s: %v", relPath, err)
	}
	return d
}

// Parse reads an OpenAPI document from memory (not cached); name is used in
// messages. The test fails at once when the document is invalid.
func Parse(t testing.TB, name string, data []byte) *Doc {
	t.Helper()
	d, err := parse(name, data, nil)
	if err != nil {
		t.Fatalf("failed to load OpenAPI document %s: %v", name, err)
	}
	return d
}

func parse(name string, data []byte, patch func(*openapi3.T)) (*Doc, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	spec, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("failed to parse: %w", err)
	}
	if patch != nil {
		patch(spec)
	}
	// The vendor examples do not all match their own schemas; they are
	// documentation, not contract.
	if err := spec.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("failed to validate: %w", err)
	}
	// Match by path only: with no servers the router accepts any scheme and
	// host, which is what loopback test servers need.
	spec.Servers = nil
	for _, item := range spec.Paths.Map() {
		item.Servers = nil
	}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("failed to build router: %w", err)
	}
	return &Doc{name: name, spec: spec, router: router}, nil
}

// resolve turns a module-root-relative path into an absolute one.
func resolve(relPath string) (string, error) {
	if filepath.IsAbs(relPath) {
		return relPath, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, relPath), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("failed to find the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Spec is the parsed document, for tests that need to look things up in it.
// Callers must not modify it: it is shared between tests.
func (d *Doc) Spec() *openapi3.T { return d.spec }

// filterOptions are the openapi3filter settings every check uses.
func filterOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError: true,
		// Authentication is the server's job: security schemes are not
		// checked, header parameters still are.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Validation must not change what the handler sees.
		SkipSettingDefaults: true,
		// Schema and value dumps make messages unreadable for large bodies;
		// the reason and JSON pointer are enough to find the problem.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
}

// findRoute matches method and path (prefix already stripped) to an operation.
func (d *Doc) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return nil, nil, fmt.Errorf("no operation for %s %s in %s: %w", req.Method, req.URL.Path, d.name, err)
	}
	return route, params, nil
}

// ValidateRequest checks a request against the document: path, method,
// parameters (query, path, header) and body. The request is not changed; its
// body is read and replaced. Path is matched as is (no prefix stripping).
func (d *Doc) ValidateRequest(req *http.Request) error {
	vr, err := cloneRequest(req, "")
	if err != nil {
		return err
	}
	route, params, err := d.findRoute(vr)
	if err != nil {
		return err
	}
	return d.validateRequest(vr, route, params)
}

func (d *Doc) validateRequest(vr *http.Request, route *routers.Route, params map[string]string) error {
	in := &openapi3filter.RequestValidationInput{
		Request:    vr,
		PathParams: params,
		Route:      route,
		Options:    filterOptions(),
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("request does not match %s: %w", d.name, flatten(err))
	}
	return nil
}

// ValidateResponse checks a response body (and headers) against the response
// declared for method, path and status. Statuses the operation does not
// declare pass, as in kin-openapi: the vendor documents declare 200 only. A
// header without Content-Type is taken as application/json.
func (d *Doc) ValidateResponse(method, path string, status int, header http.Header, body []byte) error {
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	req, err := http.NewRequest(method, "http://oas.invalid"+path, nil)
	if err != nil {
		return fmt.Errorf("failed to build request for %s %s: %w", method, path, err)
	}
	route, params, err := d.findRoute(req)
	if err != nil {
		return err
	}
	return d.validateResponse(req, route, params, status, header, body)
}

func (d *Doc) validateResponse(req *http.Request, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	if header == nil {
		header = http.Header{}
	}
	opts := filterOptions()
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    opts,
		},
		Status:  status,
		Header:  header,
		Options: opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response %d does not match %s: %w", status, d.name, flatten(err))
	}
	return nil
}

// maxViolations caps the violations listed per message: a 500-item page with
// one wrong field would otherwise report it 500 times.
const maxViolations = 10

// flatten joins kin-openapi's multi-errors into one readable line: request
// violations separated by "; ", schema violations of a body by " | ", at most
// maxViolations of each.
func flatten(err error) error {
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		msgs := make([]string, len(me))
		for i, e := range me {
			msgs[i] = flatten(e).Error()
		}
		return errors.New(capped(msgs, "; "))
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		var me openapi3.MultiError
		if errors.As(re.Err, &me) && len(me) > 1 {
			msgs := make([]string, len(me))
			for i, e := range me {
				msgs[i] = e.Error()
			}
			return fmt.Errorf("%s: %s", re.Reason, capped(msgs, " | "))
		}
	}
	return err
}

func capped(msgs []string, sep string) string {
	if len(msgs) <= maxViolations {
		return strings.Join(msgs, sep)
	}
	return strings.Join(msgs[:maxViolations], sep) + fmt.Sprintf("%s(and %d more)", sep, len(msgs)-maxViolations)
}

// cloneRequest copies req for validation (validation may read the body and
// touch the URL), stripping prefix from the path. req's body is replaced by
// an identical unread one.
func cloneRequest(req *http.Request, prefix string) (*http.Request, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, fmt.Errorf("failed to read request body: %w", err)
		}
		_ = req.Body.Close()
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	vr := req.Clone(context.Background())
	if body != nil {
		vr.Body = io.NopCloser(bytes.NewReader(body))
	}
	if prefix != "" {
		p := strings.TrimSuffix(prefix, "/")
		if rest, ok := strings.CutPrefix(vr.URL.Path, p); ok && (rest == "" || rest[0] == '/') {
			vr.URL.Path = rest
			if vr.URL.RawPath != "" {
				vr.URL.RawPath = strings.TrimPrefix(vr.URL.RawPath, p)
			}
		}
	}
	// The router matches on the URL; a server-side request has no host in
	// it, which is fine with no servers declared.
	return vr, nil
}

// Middleware wraps h so that every request is validated before h sees it and
// every response after h wrote it. Each violation is reported with t.Errorf,
// naming the method, the path and the problem; traffic is never changed. The
// response is buffered, validated, then written out. A handler that hijacks
// the connection (to simulate a reset) is passed through unchecked.
func (d *Doc) Middleware(t testing.TB, h http.Handler, opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		where := r.Method + " " + r.URL.RequestURI()
		vr, err := cloneRequest(r, opts.PathPrefix)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			h.ServeHTTP(w, r)
			return
		}
		route, params, err := d.findRoute(vr)
		if err != nil {
			if !opts.AllowUnknownPaths {
				t.Errorf("%s: %v", where, err)
			}
			h.ServeHTTP(w, r)
			return
		}
		if err := d.validateRequest(vr, route, params); err != nil {
			t.Errorf("%s: %v", where, err)
		}

		rec := &recorder{ResponseRecorder: httptest.NewRecorder(), under: w}
		h.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		res := rec.Result()
		body := rec.Body.Bytes()
		if !opts.SkipResponses {
			if err := d.validateResponse(vr, route, params, res.StatusCode, res.Header, body); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(body)
	})
}

// recorder buffers a response but lets the handler hijack the real
// connection.
type recorder struct {
	*httptest.ResponseRecorder
	under    http.ResponseWriter
	hijacked bool
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.under.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("failed to hijack: the underlying writer cannot")
	}
	r.hijacked = true
	return hj.Hijack()
}

// Flush is a no-op: the response is sent whole after validation.
func (r *recorder) Flush() {}
