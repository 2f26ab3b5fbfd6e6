// Package sarif writes the gate's issues as a SARIF 2.1.0 log (the
// sarif-file report) for GitHub code scanning and other SARIF viewers.
//
// The log is valid against the OASIS schema and follows GitHub's ingestion
// rules (SARIF support for code scanning:
// https://docs.github.com/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):
//
//   - One run. tool.driver is "Cortex Code Security (cortex-gate)" with
//     Version and InformationURI.
//   - One rule per distinct alert name, id RuleID(name): stable across runs,
//     so GitHub keeps matching alerts. Its tags are "security" and the
//     detection categories; its "security-severity" comes from the highest
//     severity seen for that alert (critical 9.5, high 8.0, medium 5.5,
//     low 3.0; none for informational or unknown).
//   - One result per unresolved issue. level is error for critical and high
//     issues and for any issue that blocks the change, warning for medium,
//     note otherwise. Cortex gives no line numbers, so the region is line 1
//     of the issue's file. partialFingerprints["cortexIssue/v1"] hashes the
//     rule, file and asset, with the occurrence number after a colon (the
//     convention of GitHub's own primaryLocationLineHash), so two identical
//     issues in one file stay two alerts.
//   - Issues resolved in Cortex are left out, so GitHub closes their alerts;
//     run.properties counts them.
//   - At most MaxResults results (GitHub's limit per run): past it the
//     lowest severities are left out, and the run says so in its
//     properties and in an invocation notification.
//   - automationDetails.id is "cortex-gate/<scan type>/", so PR and CI scans
//     are separate categories in code scanning.
//
// A result that has no scan (error, timeout) gives a log with no results
// and executionSuccessful false. Uploading such a log tells GitHub that
// every alert of the category is fixed, so the caller should only upload
// when the verdict is passed or blocked.
package sarif

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/reporter/internal/jsonsplice"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
)

// Version is the cortex-gate version written as the driver's
// semanticVersion; main sets it (or -ldflags "-X ...sarif.Version=1.2.3").
var Version = "0.0.0-dev"

const (
	// ToolName is the driver name GitHub shows as the tool.
	ToolName = "Cortex Code Security"
	// InformationURI is where users learn about the tool.
	InformationURI = "https://github.com/cortex-gate/cortex-gate"
	// MaxResults is GitHub's hard limit of results per run.
	MaxResults = 25_000
	// NoFileURI stands in for the file of an issue that names neither a file
	// nor an asset: GitHub rejects a result without a location URI.
	NoFileURI = "cortex-gate-no-file"

	schemaURI      = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	fingerprintKey = "cortexIssue/v1"
	// srcRoot names the repository root, as CodeQL writes it: artifact
	// URIs are relative to it.
	srcRoot = "%SRCROOT%"
	// maxTags keeps a rule under GitHub's hard limit of 20 tags.
	maxTags = 20
)

// Text limits, in runes: GitHub rejects files over 10 MB (compressed) and
// shows only the start of long texts; the JSON report keeps the full text.
const (
	maxNameRunes    = 1024
	maxMessageRunes = 4096
	maxTagRunes     = 64
)

// Write writes the SARIF log of r to w. See the package comment.
func Write(w io.Writer, r *gate.Result, ctx reporter.Context) error {
	if r == nil {
		return errors.New("failed to write SARIF report: no result")
	}
	if err := writeLog(w, r, ctx, MaxResults); err != nil {
		return fmt.Errorf("failed to write SARIF report: %w", err)
	}
	return nil
}

// How deep the rules and the results are in the log: the log, runs, the
// run, then tool and driver for the rules, each add two spaces, and so does
// the list.
const (
	rulePrefix   = "            "
	resultPrefix = "        "
)

// writeLog writes the log build makes, byte for byte as json.Encoder with
// SetIndent("", "  ") would, without holding it in memory: for 25,000
// results that is tens of MB, twice over (encoding/json's buffer, then its
// indented copy). The log is encoded with one placeholder rule and one
// placeholder result, and the rules and results are made and encoded in
// their place one at a time. The placeholders carry a random nonce: scan
// text cannot forge it.
func writeLog(w io.Writer, r *gate.Result, ctx reporter.Context, maxResults int) error {
	p := plan(r, ctx, maxResults)
	nonce := "cortex-gate-placeholder-" + rand.Text()
	run := &p.log.Runs[0]
	var lists []jsonsplice.List
	if len(p.rules) > 0 {
		run.Tool.Driver.Rules = []rule{{ID: nonce}}
		lists = append(lists, jsonsplice.List{Placeholder: run.Tool.Driver.Rules[0], Prefix: rulePrefix, N: len(p.rules),
			Item: func(n int) any { v := p.rules[n].rule(); return &v }})
	}
	if len(p.entries) > 0 {
		run.Results = []result{{RuleID: nonce}}
		lists = append(lists, jsonsplice.List{Placeholder: run.Results[0], Prefix: resultPrefix, N: len(p.entries),
			Item: func(n int) any { v := p.result(r, n); return &v }})
	}
	return jsonsplice.Write(w, p.log, lists)
}

// RuleID is the stable rule id of an alert name: a readable slug and a
// short hash of the exact name, so names that slug alike stay apart.
func RuleID(alertName string) string {
	sum := sha256.Sum256([]byte(alertName))
	return slug(alertName) + "-" + hex.EncodeToString(sum[:4])
}

// slug is the alert name in lowercase ASCII words joined by '-', at most
// 64 bytes; "issue" when nothing readable is left.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if b.Len() >= 64 {
			break
		}
		if c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "issue"
	}
	return b.String()
}

// automationID is the category of the run in code scanning.
func automationID(r *gate.Result) string {
	t := r.Change.ScanType
	if r.Scan != nil && r.Scan.Type != "" {
		t = r.Scan.Type
	}
	if t == "" {
		return "cortex-gate/"
	}
	return "cortex-gate/" + slug(string(t)) + "/"
}

// entry is one issue on its way to a result. A huge scan has tens of
// thousands: the issue is not copied, and the rule id and URI are shared by
// every entry of an alert and of a file.
type entry struct {
	issue      *cortex.Issue // in r.Issues
	severity   cortex.Severity
	ruleID     string
	uri        string
	key        [16]byte // the fingerprint's hash of rule, file, asset and category
	occurrence int      // the how-manieth issue of its key this is
}

// fingerprint is the partial fingerprint of the entry's result.
func (e *entry) fingerprint() string {
	return hex.EncodeToString(e.key[:]) + ":" + strconv.Itoa(e.occurrence)
}

// logPlan is a log without its rules and results, and what they are made
// from.
type logPlan struct {
	log     sarifLog
	rules   []*ruleAcc     // by id
	index   map[string]int // the index of each rule id in rules
	entries []entry        // in the order of the results
}

func (p *logPlan) result(r *gate.Result, n int) result {
	e := &p.entries[n]
	return buildResult(r, e, p.index[e.ruleID])
}

// build makes the whole log, rules and results included.
func build(r *gate.Result, ctx reporter.Context, maxResults int) sarifLog {
	p := plan(r, ctx, maxResults)
	run := &p.log.Runs[0]
	run.Tool.Driver.Rules = make([]rule, len(p.rules))
	for n, a := range p.rules {
		run.Tool.Driver.Rules[n] = a.rule()
	}
	run.Results = make([]result, len(p.entries))
	for n := range p.entries {
		run.Results[n] = p.result(r, n)
	}
	return p.log
}

// plan makes the log with no rules and no results (empty lists), and what
// they are made from.
func plan(r *gate.Result, ctx reporter.Context, maxResults int) logPlan {
	entries, resolved := collect(r)
	// Stable: Cortex's order is kept within a severity.
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(b.severity, a.severity) })
	omitted := 0
	if len(entries) > maxResults {
		omitted = len(entries) - maxResults
		entries = entries[:maxResults]
	}
	rules, index := collectRules(entries)

	props := map[string]any{
		"cortex-gate/verdict":          string(r.Verdict),
		"cortex-gate/enforced":         r.Enforced,
		"cortex-gate/blockingPolicies": cleanAll(r.BlockingPolicies, maxNameRunes),
		"cortex-gate/resolvedOmitted":  resolved,
		"cortex-gate/resultsOmitted":   omitted,
		"cortex-gate/truncated":        omitted > 0,
	}
	if s := r.Scan; s != nil {
		props["cortex-gate/scanId"] = scantext.Clean(s.ID, maxNameRunes)
		props["cortex-gate/scanHealth"] = scantext.Clean(s.Health, maxNameRunes)
		props["cortex-gate/scanStatus"] = scantext.Clean(s.Status, maxNameRunes)
	}

	log := sarifLog{
		Schema:  schemaURI,
		Version: "2.1.0",
		Runs: []run{{
			Tool: tool{Driver: driver{
				Name:            ToolName,
				InformationURI:  InformationURI,
				SemanticVersion: Version,
				Rules:           []rule{},
			}},
			Invocations:              []invocation{buildInvocation(r, omitted)},
			AutomationDetails:        automationDetails{ID: automationID(r)},
			VersionControlProvenance: provenance(r, ctx),
			Results:                  []result{},
			Properties:               props,
		}},
	}
	return logPlan{log: log, rules: rules, index: index, entries: entries}
}

// collect turns the unresolved issues into entries with their fingerprints
// and counts the resolved ones. Occurrence numbers follow Cortex's order,
// before any sorting or trimming, so a result keeps its fingerprint.
func collect(r *gate.Result) (entries []entry, resolved int) {
	seen := make(map[[16]byte]int)
	ruleIDs := make(map[string]string)    // by alert name
	uris := make(map[[2]string]string)    // by file and asset
	categories := make(map[string]string) // by detection method
	entries = make([]entry, 0, len(r.Issues))
	for n := range r.Issues {
		i := &r.Issues[n]
		if i.Resolved() {
			resolved++
			continue
		}
		e := entry{issue: i, severity: cortex.ParseSeverity(i.Severity)}
		var ok bool
		if e.ruleID, ok = ruleIDs[i.AlertName]; !ok {
			e.ruleID = RuleID(i.AlertName)
			ruleIDs[i.AlertName] = e.ruleID
		}
		where := [2]string{i.FilePath, i.AssetName}
		if e.uri, ok = uris[where]; !ok {
			e.uri = artifactURI(*i)
			uris[where] = e.uri
		}
		cat, ok := categories[i.DetectionMethod]
		if !ok {
			cat = category(*i)
			categories[i.DetectionMethod] = cat
		}
		sum := sha256.Sum256([]byte(e.ruleID + "\x00" + e.uri + "\x00" + i.AssetName + "\x00" + cat))
		e.key = [16]byte(sum[:16])
		seen[e.key]++
		e.occurrence = seen[e.key]
		entries = append(entries, e)
	}
	return entries, resolved
}

// ruleAcc is what the entries of one rule say about it.
type ruleAcc struct {
	id       string
	name     string // the alert name of its first entry
	severity cortex.Severity
	tags     []string // distinct, in the order met
}

// collectRules gathers the rules of entries, sorted by id, and the index
// of each id.
func collectRules(entries []entry) ([]*ruleAcc, map[string]int) {
	accs := make(map[string]*ruleAcc)
	// One set for the tags of every rule: a map for each of thousands of
	// rules would cost megabytes.
	tagged := make(map[[2]string]bool)
	for _, e := range entries {
		a := accs[e.ruleID]
		if a == nil {
			a = &ruleAcc{id: e.ruleID, name: e.issue.AlertName, severity: e.severity}
			accs[e.ruleID] = a
		}
		a.severity = max(a.severity, e.severity)
		if t := category(*e.issue); !tagged[[2]string{e.ruleID, t}] {
			tagged[[2]string{e.ruleID, t}] = true
			a.tags = append(a.tags, t)
		}
	}
	rules := slices.SortedFunc(maps.Values(accs), func(a, b *ruleAcc) int { return strings.Compare(a.id, b.id) })
	index := make(map[string]int, len(rules))
	for n, a := range rules {
		index[a.id] = n
	}
	return rules, index
}

func (a *ruleAcc) rule() rule {
	tags := slices.Sorted(slices.Values(a.tags))
	tags = slices.DeleteFunc(tags, func(t string) bool { return t == "security" })
	tags = append([]string{"security"}, tags[:min(len(tags), maxTags-1)]...)
	name := scantext.Clean(a.name, maxNameRunes)
	if name == "" {
		name = "Unnamed Cortex issue"
	}
	categories := strings.Join(tags[1:], ", ")
	return rule{
		ID:               a.id,
		Name:             pascal(a.name),
		ShortDescription: message{Text: name},
		FullDescription:  message{Text: name + " (" + categories + "), reported by Cortex Cloud Application Security."},
		Help: message{Text: "Cortex Cloud Application Security reported \"" + name + "\" (" + categories + "). " +
			"Open the scan in the Cortex console for the details and the fix, then resolve the issue there or change the code."},
		DefaultConfiguration: configuration{Level: severityLevel(a.severity)},
		Properties: ruleProperties{
			Tags:             tags,
			SecuritySeverity: securitySeverity(a.severity),
		},
	}
}

func buildResult(r *gate.Result, e *entry, ruleIndex int) result {
	i := *e.issue
	blocks := r.IssueBlocks(i)
	level := severityLevel(e.severity)
	if blocks {
		level = "error"
	}
	name := scantext.Clean(i.AlertName, maxNameRunes)
	if name == "" {
		name = "Unnamed Cortex issue"
	}
	where := scantext.Clean(i.FilePath, maxNameRunes)
	if where == "" {
		where = scantext.Clean(i.AssetName, maxNameRunes)
	}
	text := e.severity.Title() + ": " + name
	if where != "" {
		text += " in " + where
	}
	text += " (" + category(i) + ")."
	if blocks {
		text += " It blocks this change."
	}
	props := resultProperties{
		Severity:         scantext.Clean(i.Severity, maxTagRunes),
		Category:         category(i),
		DetectionMethod:  scantext.Clean(i.DetectionMethod, maxNameRunes),
		IssueID:          scantext.Clean(i.ID, maxNameRunes),
		AssetName:        scantext.Clean(i.AssetName, maxNameRunes),
		FilePath:         scantext.Clean(i.FilePath, maxNameRunes),
		ResolutionStatus: scantext.Clean(i.ResolutionStatus, maxTagRunes),
		Blocking:         blocks,
	}
	return result{
		RuleID:    e.ruleID,
		RuleIndex: ruleIndex,
		Level:     level,
		Message:   message{Text: escapeMessage(scantext.Clean(text, maxMessageRunes))},
		Locations: []location{{PhysicalLocation: physicalLocation{
			ArtifactLocation: artifactLocation{URI: e.uri, URIBaseID: srcRoot},
			Region:           region{StartLine: 1},
		}}},
		PartialFingerprints: map[string]string{fingerprintKey: e.fingerprint()},
		Properties:          props,
	}
}

func buildInvocation(r *gate.Result, omitted int) invocation {
	inv := invocation{
		ExecutionSuccessful: r.Verdict == gate.VerdictPassed || r.Verdict == gate.VerdictBlocked,
		StartTimeUTC:        utc(r.StartedAt),
		EndTimeUTC:          utc(r.FinishedAt),
	}
	if !inv.ExecutionSuccessful {
		text := scantext.Clean(r.Message, maxMessageRunes)
		if text == "" {
			text = "The gate ended with verdict " + scantext.Clean(string(r.Verdict), maxTagRunes) + "."
		}
		if len(r.Reasons) > 0 {
			text += " Reasons: " + strings.Join(cleanAll(r.Reasons, maxMessageRunes), "; ")
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			notification{Level: "error", Message: message{Text: escapeMessage(scantext.Clean(text, maxMessageRunes))}})
	}
	for _, w := range r.Warnings {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			notification{Level: "warning", Message: message{Text: escapeMessage(scantext.Clean(w, maxMessageRunes))}})
	}
	if omitted > 0 {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, notification{
			Level: "warning",
			Message: message{Text: strconv.Itoa(omitted) + " results of the lowest severities were left out: " +
				"GitHub accepts at most " + strconv.Itoa(MaxResults) + " results per run. The JSON report lists every issue."},
		})
	}
	return inv
}

// provenance names the repository and commit, when the context knows them.
func provenance(r *gate.Result, ctx reporter.Context) []versionControlDetails {
	if ctx.ServerURL == "" || ctx.RepoPath == "" {
		return nil
	}
	u, err := url.Parse(strings.TrimSuffix(ctx.ServerURL, "/") + "/" + strings.Trim(ctx.RepoPath, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil
	}
	u.User = nil // a server URL from the environment could carry a token
	return []versionControlDetails{{
		RepositoryURI: u.String(),
		RevisionID:    scantext.Clean(ctx.HeadSHA, maxTagRunes),
		Branch:        scantext.Clean(r.Change.Branch, maxNameRunes),
		MappedTo:      artifactLocation{URIBaseID: srcRoot},
	}}
}

// artifactURI is the issue's file as a relative URI reference from the
// repository root: backslashes become slashes, "." and ".." are resolved
// without climbing above the root, and each segment is percent-escaped,
// ':' included, so a "C:" or "https:" segment never reads as a scheme.
// Issues without a file fall back to the asset name, then NoFileURI.
func artifactURI(i cortex.Issue) string {
	p := scantext.Clean(i.FilePath, -1)
	if strings.TrimSpace(p) == "" {
		p = scantext.Clean(i.AssetName, -1)
	}
	p = strings.ReplaceAll(p, `\`, "/")
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if strings.TrimSpace(p) == "" {
		return NoFileURI
	}
	segs := strings.Split(p, "/")
	for n, s := range segs {
		segs[n] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/")
}

// category is the issue's kind in the console's words ("Secrets", "IaC"),
// made safe for a tag; "Other" when nothing readable is left.
func category(i cortex.Issue) string {
	if c := scantext.Clean(cortex.Category(i.DetectionMethod), maxTagRunes); c != "" {
		return c
	}
	return "Other"
}

func severityLevel(s cortex.Severity) string {
	switch {
	case s >= cortex.SeverityHigh:
		return "error"
	case s == cortex.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the score GitHub maps to its alert severity.
func securitySeverity(s cortex.Severity) string {
	switch s {
	case cortex.SeverityCritical:
		return "9.5"
	case cortex.SeverityHigh:
		return "8.0"
	case cortex.SeverityMedium:
		return "5.5"
	case cortex.SeverityLow:
		return "3.0"
	}
	return ""
}

// pascal is the rule's friendly name: the alert name's ASCII words in
// PascalCase, as SARIF suggests, at most 64 bytes.
func pascal(s string) string {
	var b strings.Builder
	up := true
	for _, c := range s {
		if b.Len() >= 64 {
			break
		}
		if c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			// "URL path" gives UrlPath: Pascal case has no runs of capitals.
			if up {
				c = unicode.ToUpper(c)
			} else {
				c = unicode.ToLower(c)
			}
			b.WriteRune(c)
			up = false
			continue
		}
		up = true
	}
	if b.Len() == 0 {
		return "CortexIssue"
	}
	return b.String()
}

func cleanAll(ss []string, maxRunes int) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, scantext.Clean(s, maxRunes))
	}
	return out
}

// escapeMessage escapes a plain-text message as SARIF §3.11.6 asks: in a
// message, "[text](n)" is an embedded link, so literal brackets (and the
// backslash that escapes them) get a backslash.
func escapeMessage(s string) string { return messageEscaper.Replace(s) }

// messageEscaper is built once: a Replacer builds its tables on first use.
var messageEscaper = strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`)

func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
