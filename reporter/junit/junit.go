// Package junit writes the gate's result as JUnit XML (the junit-file
// report) for Jenkins (junit / xunit plugins), GitLab test reports and any
// CI that reads JUnit.
//
// The file is valid against the schema Jenkins' xunit plugin normalises to
// (jenkins-xunit-junit-10.xsd):
//
//   - <testsuites name="cortex-gate"> holds the suites and the totals.
//   - The first suite, "cortex-gate", has one test case, "verdict", that
//     fails when the gate blocks (<failure type="blocked">, also under
//     mode: report, where the message says the block is not enforced) and
//     errs on error or timeout (<error type="error|timeout">). A scan with
//     no issues still gives one test. Its properties are the step outputs.
//   - Then one suite per detection category ("Secrets", "IaC", ...; see
//     cortex.Category), sorted by name, with one test case per issue,
//     highest severity first. The case fails when the issue is one of the
//     reasons the change is blocked (gate.Result.IssueBlocks), is skipped
//     when the issue was resolved in Cortex, and passes otherwise, its
//     details in <system-out>.
//   - A case's classname is "<category>.<file>" with the dots of the file
//     written as '_' (Jenkins splits a classname at its last dot into
//     package and class); its name is "<alert> in <file>", the path as
//     given, with " #2", " #3" ... on repeats so every case is distinct.
//   - Times come from the result (StartedAt, FinishedAt), never the clock.
//
// Scan text is untrusted: encoding/xml escapes it, characters XML 1.0
// forbids (most control characters, U+FFFE, U+FFFF) are dropped, invalid
// UTF-8 becomes U+FFFD, and long texts are cut.
package junit

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
	"github.com/cortex-gate/cortex-gate/reporter"
	"github.com/cortex-gate/cortex-gate/reporter/internal/scantext"
	"github.com/cortex-gate/cortex-gate/reporter/jsonreport"
)

// Text limits, in runes: attributes are shown on one line in Jenkins; the
// JSON report keeps the full text.
const (
	maxAttrRunes = 1024
	maxBodyRunes = 16 * 1024
)

type testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr,omitempty"`
	Suites   []testsuite `xml:"testsuite"`
}

type testsuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr,omitempty"`
	Timestamp  string      `xml:"timestamp,attr,omitempty"`
	Properties *properties `xml:"properties,omitempty"`
	Cases      []testcase  `xml:"testcase"`
}

type properties struct {
	Property []property `xml:"property"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type testcase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr,omitempty"`
	Skipped   *outcome `xml:"skipped,omitempty"`
	Error     *outcome `xml:"error,omitempty"`
	Failure   *outcome `xml:"failure,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// outcome is a <failure>, <error> or <skipped>.
type outcome struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// Write writes the JUnit XML report of r to w. See the package comment.
func Write(w io.Writer, r *gate.Result, ctx reporter.Context) error {
	if r == nil {
		return errors.New("failed to write JUnit report: no result")
	}
	doc := build(r, ctx)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("failed to write JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("failed to write JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("failed to write JUnit report: %w", err)
	}
	return nil
}

func build(r *gate.Result, ctx reporter.Context) testsuites {
	timestamp := ""
	if !r.StartedAt.IsZero() {
		// The JUnit schemas' xs:dateTime, in UTC without a zone, as Ant writes it.
		timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	elapsed := seconds(r.FinishedAt.Sub(r.StartedAt))
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() {
		elapsed = ""
	}

	verdict := verdictSuite(r, ctx)
	verdict.Timestamp, verdict.Time, verdict.Cases[0].Time = timestamp, elapsed, elapsed
	suites := []testsuite{verdict}
	for _, s := range issueSuites(r) {
		s.Timestamp = timestamp
		suites = append(suites, s)
	}

	doc := testsuites{Name: "cortex-gate", Time: elapsed, Suites: suites}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	return doc
}

func verdictSuite(r *gate.Result, ctx reporter.Context) testsuite {
	tc := testcase{Name: "verdict", Classname: "cortex-gate"}
	message := scantext.CleanXML(r.Message, maxAttrRunes)
	var reasons strings.Builder
	for _, reason := range r.Reasons {
		reasons.WriteString(scantext.CleanXML(reason, maxAttrRunes) + "\n")
	}
	body := scantext.CleanXML(reasons.String(), maxBodyRunes)
	s := testsuite{Name: "cortex-gate", Tests: 1}
	switch r.Verdict {
	case gate.VerdictPassed:
	case gate.VerdictBlocked:
		if !r.Enforced {
			message += " (mode: report, not enforced)"
		}
		tc.Failure = &outcome{Message: strings.TrimSpace(message), Type: "blocked", Body: body}
		s.Failures = 1
	default: // error, timeout, or a verdict this version does not know
		kind := scantext.CleanXML(string(r.Verdict), maxAttrRunes)
		if kind == "" {
			kind = string(gate.VerdictError)
		}
		tc.Error = &outcome{Message: message, Type: kind, Body: body}
		s.Errors = 1
	}

	var out strings.Builder
	if r.Verdict == gate.VerdictPassed && message != "" {
		out.WriteString(message + "\n")
	}
	if sel := scantext.CleanXML(r.Selection, maxAttrRunes); sel != "" {
		out.WriteString("Scan: " + sel + "\n")
	}
	for _, w := range r.Warnings {
		out.WriteString("Warning: " + scantext.CleanXML(w, maxAttrRunes) + "\n")
	}
	if ctx.RunURL != "" {
		out.WriteString("Run: " + scantext.CleanXML(ctx.RunURL, maxAttrRunes) + "\n")
	}
	tc.SystemOut = scantext.CleanXML(out.String(), maxBodyRunes)

	outputs := jsonreport.Outputs(r)
	props := &properties{}
	for _, k := range jsonreport.OutputKeys() {
		props.Property = append(props.Property, property{Name: k, Value: scantext.CleanXML(outputs[k], maxBodyRunes)})
	}
	s.Properties = props
	s.Cases = []testcase{tc}
	return s
}

func issueSuites(r *gate.Result) []testsuite {
	issues := slices.Clone(r.Issues)
	// Stable: Cortex's order is kept within a severity.
	slices.SortStableFunc(issues, func(a, b cortex.Issue) int {
		return cmp.Compare(cortex.ParseSeverity(b.Severity), cortex.ParseSeverity(a.Severity))
	})
	byCategory := map[string]*testsuite{}
	seen := map[string]int{}
	for _, i := range issues {
		cat := category(i)
		s := byCategory[cat]
		if s == nil {
			s = &testsuite{Name: cat}
			byCategory[cat] = s
		}
		tc := issueCase(r, i)
		key := tc.Classname + "\x00" + tc.Name
		seen[key]++
		if n := seen[key]; n > 1 {
			tc.Name += " #" + strconv.Itoa(n)
		}
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Skipped != nil:
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
	suites := make([]testsuite, 0, len(byCategory))
	for _, s := range byCategory {
		suites = append(suites, *s)
	}
	slices.SortFunc(suites, func(a, b testsuite) int { return strings.Compare(a.Name, b.Name) })
	return suites
}

func issueCase(r *gate.Result, i cortex.Issue) testcase {
	sev := cortex.ParseSeverity(i.Severity)
	cat := category(i)
	alert := scantext.CleanXML(i.AlertName, maxAttrRunes)
	if alert == "" {
		alert = "Unnamed Cortex issue"
	}
	where := scantext.CleanXML(i.FilePath, maxAttrRunes)
	if where == "" {
		where = scantext.CleanXML(i.AssetName, maxAttrRunes)
	}
	if where == "" {
		where = "(no file)"
	}
	tc := testcase{
		Name:      alert + " in " + where,
		Classname: strings.ReplaceAll(cat, ".", "_") + "." + strings.ReplaceAll(where, ".", "_"),
	}

	var d strings.Builder
	line := func(k, v string) {
		if v = scantext.CleanXML(v, maxAttrRunes); v != "" {
			d.WriteString(k + ": " + v + "\n")
		}
	}
	line("Severity", sev.Title())
	line("Category", cat)
	if method := scantext.CleanXML(i.DetectionMethod, maxAttrRunes); method != cat {
		line("Detection method", method)
	}
	line("File", i.FilePath)
	line("Asset", i.AssetName)
	line("Issue", i.ID)
	line("Status", i.ResolutionStatus)
	if r.Scan != nil {
		line("Scan", r.Scan.ID)
	}
	details := d.String()

	switch {
	case r.IssueBlocks(i):
		why := "Cortex blocked the change"
		if !r.BlockedByCortex {
			why = "at or above fail-on-severity " + scantext.CleanXML(r.SeverityThreshold, maxAttrRunes)
		}
		tc.Failure = &outcome{
			Message: scantext.CleanXML(sev.Title()+": "+alert+" in "+where+" blocks this change ("+why+").", maxAttrRunes),
			Type:    sev.Title(),
			Body:    scantext.CleanXML(details, maxBodyRunes),
		}
	case i.Resolved():
		reason := "resolved in Cortex"
		if rr := scantext.CleanXML(i.ResolutionReason, maxAttrRunes); rr != "" {
			reason += ": " + rr
		}
		tc.Skipped = &outcome{Message: reason}
	default:
		tc.SystemOut = scantext.CleanXML(details, maxBodyRunes)
	}
	return tc
}

// category is the issue's kind in the console's words, "Other" when nothing
// readable is left.
func category(i cortex.Issue) string {
	if c := scantext.CleanXML(cortex.Category(i.DetectionMethod), maxAttrRunes); c != "" {
		return c
	}
	return "Other"
}

// seconds is d in the Surefire time format: seconds with three decimals.
func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
