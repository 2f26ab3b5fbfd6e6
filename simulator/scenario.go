package simulator

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Default credentials, used when a scenario names none. They are not secrets:
// the simulator only ever runs on the user's own machine.
const (
	DemoKeyID = "demo-key-id"
	DemoKey   = "demo-api-key-not-a-secret"
)

//go:embed scenarios/*.json
var builtin embed.FS

// Scenario describes what a simulated Cortex tenant holds and how it behaves:
// the scans it lists (and how they progress as they are polled), their issues
// and findings, the credentials it accepts, and the faults it injects.
//
// It is read from JSON (see simulator/README.md for the format). Parse is
// strict: unknown fields are errors, so a typo cannot silently change a test.
type Scenario struct {
	// Name is the built-in name or the file the scenario was loaded from.
	Name string `json:"-"`

	Description string `json:"description,omitempty"`
	// Auth is the key the tenant accepts; nil means DemoKeyID/DemoKey, standard.
	Auth *Auth `json:"auth,omitempty"`
	// Dialect is "spec" (the default: the vendor's OpenAPI description) or
	// "docs" (the product documentation's field names).
	Dialect string `json:"dialect,omitempty"`
	// Envelope wraps list responses: "array" (default, a bare JSON array),
	// "data", "reply" or "reply.data".
	Envelope string `json:"envelope,omitempty"`
	// RateLimit, when set, answers 429 to requests beyond it, tenant-wide.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	Scans     []Scan     `json:"scans"`
	Faults    []Fault    `json:"faults,omitempty"`
}

// Auth is the API key a scenario's tenant accepts.
type Auth struct {
	KeyID string `json:"keyId,omitempty"`
	Key   string `json:"key,omitempty"`
	// Type is "standard" (default: the key itself in Authorization) or
	// "advanced" (a SHA-256 signature over key, nonce and timestamp).
	Type string `json:"type,omitempty"`
}

// RateLimit is a token bucket over all endpoints and clients together, as
// the vendor applies it per tenant.
type RateLimit struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst,omitempty"` // default: PerSecond rounded up
}

// Scan is one scan of a scenario: its identity, how it progresses, its final
// verdict and its issues and findings.
type Scan struct {
	Type             string `json:"type"` // "pr" or "ci"
	ScanID           string `json:"scanId"`
	RepoName         string `json:"repoName,omitempty"`
	RepositoryID     string `json:"repositoryId,omitempty"`
	OrganizationName string `json:"organizationName,omitempty"`
	BranchName       string `json:"branchName,omitempty"`
	Provider         string `json:"provider,omitempty"` // default GITHUB
	IntegrationID    string `json:"integrationId,omitempty"`
	PullRequestID    string `json:"pullRequestId,omitempty"`
	PullRequestTitle string `json:"pullRequestTitle,omitempty"`
	CommitID         string `json:"commitId,omitempty"`
	UserEmail        string `json:"userEmail,omitempty"`

	// AgeSeconds sets scanDate to the server's start time minus this many
	// seconds, in RFC 3339. ScanDate, when set, is served verbatim instead
	// (to test other timestamp formats).
	AgeSeconds float64 `json:"ageSeconds,omitempty"`
	ScanDate   string  `json:"scanDate,omitempty"`

	// AppearAfterPolls is how many polls (list requests at offset 0 whose
	// filters match the scan) pass before the scan is listed at all.
	AppearAfterPolls int `json:"appearAfterPolls,omitempty"`
	// InProgressPolls is how many further polls list it IN_PROGRESS.
	InProgressPolls int `json:"inProgressPolls,omitempty"`
	// AppearAfterSeconds and CompleteAfterSeconds do the same by the
	// injected clock, counted from the server's creation. Both conditions
	// (polls and seconds) must hold.
	AppearAfterSeconds   float64 `json:"appearAfterSeconds,omitempty"`
	CompleteAfterSeconds float64 `json:"completeAfterSeconds,omitempty"`
	// DisappearAfterPolls, when positive, drops the scan from lists once it
	// has been polled more than this many times (a fault).
	DisappearAfterPolls int `json:"disappearAfterPolls,omitempty"`

	// Health and Status are the final scanHealth and pullRequestStatus /
	// ciStatus, served verbatim. Health defaults to COMPLETED; Status to
	// ERROR when Health is ERROR, else FAILED with blocking policies, else
	// PASSED.
	Health           string   `json:"health,omitempty"`
	Status           string   `json:"status,omitempty"`
	BlockingPolicies []Policy `json:"blockingPolicies,omitempty"`

	// Issues and Findings are items in the API's snake_case; missing
	// fields are filled in (see README.md). Values are strings, as in the
	// vendor schema.
	Issues   []map[string]string `json:"issues,omitempty"`
	Findings []map[string]string `json:"findings,omitempty"`
	// Generate adds deterministic synthetic issues and findings after the
	// explicit ones.
	Generate *Generate `json:"generate,omitempty"`
}

// Policy is a blocking policy that fired on a scan.
type Policy struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Generate asks for synthetic issues and findings: mixed severities and
// detection methods, realistic names and paths, the same for the same seed.
type Generate struct {
	Issues   int   `json:"issues,omitempty"`
	Findings int   `json:"findings,omitempty"`
	Seed     int64 `json:"seed,omitempty"`
}

// Fault makes the server misbehave on matching requests.
type Fault struct {
	// Endpoint is "pr", "ci", "issues", "findings" or "any" (default).
	Endpoint string `json:"endpoint,omitempty"`
	// Kind is one of:
	//   status       answer Status (default 500) with a platform-style error
	//                body and RetryAfter as the Retry-After header, if set
	//   delay        wait DelayMs (real time) and then answer normally
	//   hang         never answer: wait until the client gives up (or
	//                DelayMs, when set, then 504)
	//   reset        close the connection without an answer
	//   truncate     send half of the normal body under the full Content-Length
	//   malformed    200 with a body that is not JSON
	//   empty        200 with an empty body
	//   html         an HTML page (Status, default 200), as a proxy sends
	//   ignoreOffset answer every page as if offset were 0
	Kind       string `json:"kind"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
	DelayMs    int    `json:"delayMs,omitempty"`
	// Times is how many matching requests the fault hits; 0 means all.
	Times int `json:"times,omitempty"`
	// After is how many matching requests pass untouched first.
	After int `json:"after,omitempty"`
}

// Names returns the built-in scenario names, sorted.
func Names() []string {
	entries, err := fs.ReadDir(builtin, "scenarios")
	if err != nil {
		return nil // cannot happen: the folder is embedded
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Load returns a built-in scenario by name, or reads one from a file path.
// Errors name the scenario or file and the offending fields.
func Load(nameOrPath string) (*Scenario, error) {
	if data, err := builtin.ReadFile("scenarios/" + nameOrPath + ".json"); err == nil && !strings.ContainsAny(nameOrPath, `/\`) {
		sc, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("failed to load built-in scenario %s: %w", nameOrPath, err)
		}
		sc.Name = nameOrPath
		return sc, nil
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(nameOrPath, `/\`) && path.Ext(nameOrPath) != ".json" {
			return nil, fmt.Errorf("unknown scenario %q: valid names are %s, or give the path of a JSON file", nameOrPath, strings.Join(Names(), ", "))
		}
		return nil, fmt.Errorf("failed to read scenario file %s: %w", nameOrPath, err)
	}
	sc, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("failed to load scenario file %s: %w", nameOrPath, err)
	}
	sc.Name = nameOrPath
	return sc, nil
}

// Parse reads a scenario from JSON and checks it. Unknown fields, missing
// required ones and out-of-range values are all reported together, each
// named by its place in the document (e.g. scans[0].issues[2].sevrity).
func Parse(data []byte) (*Scenario, error) {
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("failed to parse scenario JSON: %w", err)
	}
	if unknown := unknownFields(raw, reflect.TypeFor[Scenario](), ""); len(unknown) > 0 {
		return nil, fmt.Errorf("unknown field(s) in scenario: %s", strings.Join(unknown, ", "))
	}
	var sc Scenario
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("failed to parse scenario JSON: %w", err)
	}
	if err := sc.check(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// unknownFields lists the object keys in v that the Go type t does not
// declare, as JSON paths. Issue and finding maps are checked against the
// vendor's field lists.
func unknownFields(v any, t reflect.Type, at string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported by the typed decode
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				out = append(out, join(at, k))
				continue
			}
			switch k {
			case "issues":
				out = append(out, unknownKeys(obj[k], issueFields, join(at, k))...)
			case "findings":
				out = append(out, unknownKeys(obj[k], findingFields, join(at, k))...)
			default:
				out = append(out, unknownFields(obj[k], ft, join(at, k))...)
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range arr {
			out = append(out, unknownFields(e, t.Elem(), fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

func unknownKeys(v any, known []string, at string) []string {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []string
	for i, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !slices.Contains(known, k) {
				out = append(out, fmt.Sprintf("%s[%d].%s", at, i, k))
			}
		}
	}
	return out
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

// Scan types, endpoints and fault kinds a scenario may name.
var (
	scanTypes  = []string{"pr", "ci"}
	endpoints  = []string{"pr", "ci", "issues", "findings", "any"}
	faultKinds = []string{"status", "delay", "hang", "reset", "truncate", "malformed", "empty", "html", "ignoreOffset"}
	dialects   = []string{"spec", "docs"}
	envelopes  = []string{"array", "data", "reply", "reply.data"}
	authTypes  = []string{"standard", "advanced"}
)

// maxGenerated bounds synthetic items per scan, so a typo cannot ask the
// simulator for billions.
const maxGenerated = 1_000_000

// check validates the scenario's values and returns every problem at once.
func (sc *Scenario) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	oneOf := func(field, v string, allowed []string) {
		if v != "" && !slices.Contains(allowed, v) {
			bad("%s: %q is not one of %s", field, v, strings.Join(allowed, ", "))
		}
	}
	oneOf("dialect", sc.Dialect, dialects)
	oneOf("envelope", sc.Envelope, envelopes)
	if sc.Auth != nil {
		oneOf("auth.type", sc.Auth.Type, authTypes)
	}
	if rl := sc.RateLimit; rl != nil {
		if rl.PerSecond <= 0 {
			bad("rateLimit.perSecond: must be positive, got %v", rl.PerSecond)
		}
		if rl.Burst < 0 {
			bad("rateLimit.burst: must not be negative, got %d", rl.Burst)
		}
	}
	seen := map[string]bool{}
	for i, s := range sc.Scans {
		at := fmt.Sprintf("scans[%d]", i)
		if s.Type == "" {
			bad("%s.type: missing, want pr or ci", at)
		}
		oneOf(at+".type", s.Type, scanTypes)
		switch {
		case s.ScanID == "":
			bad("%s.scanId: missing", at)
		case seen[s.ScanID]:
			bad("%s.scanId: %q is used by an earlier scan", at, s.ScanID)
		}
		seen[s.ScanID] = true
		for _, f := range []struct {
			name string
			n    float64
		}{
			{"ageSeconds", s.AgeSeconds}, {"appearAfterPolls", float64(s.AppearAfterPolls)},
			{"inProgressPolls", float64(s.InProgressPolls)}, {"appearAfterSeconds", s.AppearAfterSeconds},
			{"completeAfterSeconds", s.CompleteAfterSeconds}, {"disappearAfterPolls", float64(s.DisappearAfterPolls)},
		} {
			if f.n < 0 {
				bad("%s.%s: must not be negative, got %v", at, f.name, f.n)
			}
		}
		for j, p := range s.BlockingPolicies {
			if p.ID == "" && p.Name == "" {
				bad("%s.blockingPolicies[%d]: needs an id or a name", at, j)
			}
		}
		if g := s.Generate; g != nil {
			if g.Issues < 0 || g.Issues > maxGenerated {
				bad("%s.generate.issues: must be 0..%d, got %d", at, maxGenerated, g.Issues)
			}
			if g.Findings < 0 || g.Findings > maxGenerated {
				bad("%s.generate.findings: must be 0..%d, got %d", at, maxGenerated, g.Findings)
			}
		}
	}
	for i, f := range sc.Faults {
		at := fmt.Sprintf("faults[%d]", i)
		if f.Kind == "" {
			bad("%s.kind: missing, want one of %s", at, strings.Join(faultKinds, ", "))
		}
		oneOf(at+".kind", f.Kind, faultKinds)
		oneOf(at+".endpoint", f.Endpoint, endpoints)
		if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
			bad("%s.status: %d is not an HTTP status", at, f.Status)
		}
		if f.DelayMs < 0 || f.Times < 0 || f.After < 0 {
			bad("%s: delayMs, times and after must not be negative", at)
		}
		if f.Kind == "delay" && f.DelayMs == 0 {
			bad("%s.delayMs: a delay fault needs a positive delayMs", at)
		}
	}
	return errors.Join(errs...)
}
