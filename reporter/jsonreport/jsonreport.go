// Package jsonreport writes the gate's whole result as one JSON document
// (the json-file report) and computes the step outputs (GITHUB_OUTPUT).
//
// The document is versioned. Field names only change with a new
// schemaVersion; fields may be added within a version. Version 1 is:
//
//	{
//	  "schemaVersion": 1,
//	  "tool": {"name": "cortex-gate", "version": "1.2.3",
//	           "informationUri": "https://github.com/cortex-gate/cortex-gate"},
//	  "verdict": "blocked",   // passed, blocked, error or timeout
//	  "blocked": true,        // the change is blocked, whatever the mode
//	  "enforced": true,       // false under mode: report (a block exits 0)
//	  "outputs": {            // every step output of SPEC.md, as strings
//	    "verdict": "blocked", "blocked": "true", "scan-id": "...", "scan-type": "pr",
//	    "scan-health": "COMPLETED", "scan-status": "FAILED",
//	    "blocking-policies": "[\"No high CVEs\"]", "issues-count": "12",
//	    "findings-count": "15", "critical-count": "3", "high-count": "3",
//	    "medium-count": "3", "low-count": "2",
//	    "comment-url": "",    // "" unless the caller passes it (WriteExtra)
//	    "report-file": ""     // likewise
//	  },
//	  "context": {"platform": "github", "serverUrl": "https://github.com",
//	              "repoPath": "acme/payments", "headSha": "...", "runUrl": "..."},
//	  "result": { ... }       // gate.Result with its own JSON field names
//	}
//
// In "result", blockingPolicies and issues are [] rather than null when
// empty; reasons, warnings and findings are left out when empty. The result carries no secret (no API key or
// token is ever put into a gate.Result), and the URLs of "context" are
// written without any user:password part.
package jsonreport

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/cortex-gate/cortex-gate/reporter/internal/jsonsplice"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
)

// SchemaVersion is the version of the document's layout.
const SchemaVersion = 1

// Version is the cortex-gate version written into the report; main sets it
// (or the build does, with -ldflags "-X ...jsonreport.Version=1.2.3").
var Version = "0.0.0-dev"

// InformationURI is where users learn about the tool.
const InformationURI = "https://github.com/cortex-gate/cortex-gate"

// Names of the step outputs (SPEC.md "Outputs").
const (
	OutputVerdict          = "verdict"
	OutputBlocked          = "blocked"
	OutputScanID           = "scan-id"
	OutputScanType         = "scan-type"
	OutputScanHealth       = "scan-health"
	OutputScanStatus       = "scan-status"
	OutputBlockingPolicies = "blocking-policies"
	OutputIssuesCount      = "issues-count"
	OutputFindingsCount    = "findings-count"
	OutputCriticalCount    = "critical-count"
	OutputHighCount        = "high-count"
	OutputMediumCount      = "medium-count"
	OutputLowCount         = "low-count"
	OutputCommentURL       = "comment-url"
	OutputReportFile       = "report-file"
)

// OutputKeys lists the outputs Outputs computes, in SPEC.md order, so
// GITHUB_OUTPUT is written in a stable order. comment-url and report-file
// are not among them: only the caller knows those.
func OutputKeys() []string {
	return []string{
		OutputVerdict, OutputBlocked, OutputScanID, OutputScanType, OutputScanHealth,
		OutputScanStatus, OutputBlockingPolicies, OutputIssuesCount, OutputFindingsCount,
		OutputCriticalCount, OutputHighCount, OutputMediumCount, OutputLowCount,
	}
}

// Outputs computes the step outputs of a result, every key of OutputKeys,
// as the strings GITHUB_OUTPUT and the JSON report hold. A scan that was
// not found gives "" for its fields (scan-id falls back to the scan-id
// setting, scan-type to the scan type looked for); blocking-policies is a
// JSON array, "[]" when none.
func Outputs(r *gate.Result) map[string]string {
	if r == nil {
		r = &gate.Result{}
	}
	scanID, scanType := r.Change.ScanID, string(r.Change.ScanType)
	var health, status string
	if s := r.Scan; s != nil {
		if s.ID != "" {
			scanID = s.ID
		}
		if s.Type != "" {
			scanType = string(s.Type)
		}
		health, status = s.Health, s.Status
	}
	return map[string]string{
		OutputVerdict:          string(r.Verdict),
		OutputBlocked:          strconv.FormatBool(r.Blocked()),
		OutputScanID:           scanID,
		OutputScanType:         scanType,
		OutputScanHealth:       health,
		OutputScanStatus:       status,
		OutputBlockingPolicies: jsonArray(r.BlockingPolicies),
		OutputIssuesCount:      strconv.Itoa(r.Counts.Issues),
		OutputFindingsCount:    strconv.Itoa(r.Counts.Findings),
		OutputCriticalCount:    strconv.Itoa(r.Counts.Critical),
		OutputHighCount:        strconv.Itoa(r.Counts.High),
		OutputMediumCount:      strconv.Itoa(r.Counts.Medium),
		OutputLowCount:         strconv.Itoa(r.Counts.Low),
	}
}

// jsonArray renders names as a one-line JSON array. HTML escaping is off:
// the value is read by fromJSON() or jq, not embedded in a page.
func jsonArray(names []string) string {
	if names == nil {
		names = []string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(names); err != nil {
		return "[]" // a []string always encodes; keep the output an array regardless
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// Extra holds the outputs only the caller knows, written into "outputs" as
// given ("" when unknown).
type Extra struct {
	CommentURL string // comment-url: the PR/MR comment's web address
	ReportFile string // report-file: where this report is written
}

type document struct {
	SchemaVersion int               `json:"schemaVersion"`
	Tool          tool              `json:"tool"`
	Verdict       gate.Verdict      `json:"verdict"`
	Blocked       bool              `json:"blocked"`
	Enforced      bool              `json:"enforced"`
	Outputs       map[string]string `json:"outputs"`
	Context       forge             `json:"context"`
	Result        *gate.Result      `json:"result"`
}

type tool struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	InformationURI string `json:"informationUri"`
}

// forge is where the change lives, from reporter.Context.
type forge struct {
	Platform  string `json:"platform"`
	ServerURL string `json:"serverUrl"`
	RepoPath  string `json:"repoPath"`
	HeadSHA   string `json:"headSha"`
	RunURL    string `json:"runUrl"`
}

// Write writes the JSON report of r to w, with comment-url and report-file
// left empty. See the package comment for the layout.
func Write(w io.Writer, r *gate.Result, ctx reporter.Context) error {
	return WriteExtra(w, r, ctx, Extra{})
}

// WriteExtra is Write with the outputs only the caller knows.
func WriteExtra(w io.Writer, r *gate.Result, ctx reporter.Context, extra Extra) error {
	if r == nil {
		return errors.New("failed to write JSON report: no result")
	}
	if err := writeDocument(w, newDocument(r, ctx, extra)); err != nil {
		return fmt.Errorf("failed to write JSON report: %w", err)
	}
	return nil
}

// newDocument is the report of r, as WriteExtra writes it.
func newDocument(r *gate.Result, ctx reporter.Context, extra Extra) document {
	outputs := Outputs(r)
	outputs[OutputCommentURL] = extra.CommentURL
	outputs[OutputReportFile] = extra.ReportFile
	return document{
		SchemaVersion: SchemaVersion,
		Tool:          tool{Name: "cortex-gate", Version: Version, InformationURI: InformationURI},
		Verdict:       r.Verdict,
		Blocked:       r.Blocked(),
		Enforced:      r.Enforced,
		Outputs:       outputs,
		Context: forge{
			Platform:  ctx.Platform,
			ServerURL: withoutUserinfo(ctx.ServerURL),
			RepoPath:  ctx.RepoPath,
			HeadSHA:   ctx.HeadSHA,
			RunURL:    withoutUserinfo(ctx.RunURL),
		},
		Result: withEmptyLists(r),
	}
}

// itemPrefix indents an item of result.issues or result.findings: the
// document, the result and the list each add two spaces.
const itemPrefix = "      "

// writeDocument writes doc as json.Encoder with SetIndent("", "  ") would,
// byte for byte, without holding the encoding in memory. The issues and
// findings are nearly all of a huge scan's report (120 MB for 150,000
// items), and encoding/json builds a document whole, then a second,
// indented copy. So the document is encoded with one placeholder item in
// each list, and the real items are encoded in the placeholder's place, one
// at a time. The placeholders carry a random nonce: scan text cannot forge
// it.
func writeDocument(w io.Writer, doc document) error {
	res := *doc.Result
	nonce := "cortex-gate-placeholder-" + rand.Text()
	var lists []jsonsplice.List
	if issues := res.Issues; len(issues) > 0 {
		res.Issues = []cortex.Issue{{ID: nonce}}
		lists = append(lists, jsonsplice.List{Placeholder: res.Issues[0], Prefix: itemPrefix, N: len(issues),
			Item: func(n int) any { return &issues[n] }})
	}
	if findings := res.Findings; len(findings) > 0 {
		res.Findings = []cortex.Finding{{ScanID: nonce}}
		lists = append(lists, jsonsplice.List{Placeholder: res.Findings[0], Prefix: itemPrefix, N: len(findings),
			Item: func(n int) any { return &findings[n] }})
	}
	doc.Result = &res
	return jsonsplice.Write(w, doc, lists)
}

// withEmptyLists returns a shallow copy of r whose lists are [] rather than
// null, so consumers can iterate without a null check. r is not modified.
func withEmptyLists(r *gate.Result) *gate.Result {
	c := *r
	if c.BlockingPolicies == nil {
		c.BlockingPolicies = []string{}
	}
	if c.Issues == nil {
		c.Issues = []cortex.Issue{}
	}
	return &c
}

// withoutUserinfo drops a user:password part from a URL: a server URL taken
// from the environment could carry a token, and a report must not.
func withoutUserinfo(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "" // unreadable: leave it out rather than risk echoing a credential
	}
	u.User = nil
	return u.String()
}
