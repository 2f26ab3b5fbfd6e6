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
//
// The report is streamed case by case, byte for byte as encoding/xml
// writes the whole tree: for a huge scan the tree and its encoding are
// tens of MB each, and only the counts are needed up front.
func Write(w io.Writer, r *gate.Result, ctx reporter.Context) error {
	if r == nil {
		return errors.New("failed to write JUnit report: no result")
	}
	if err := write(w, r, newPlan(r, ctx)); err != nil {
		return fmt.Errorf("failed to write JUnit report: %w", err)
	}
	return nil
}

func write(w io.Writer, r *gate.Result, p plan) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	// The attributes in the order of the struct tags of testsuites and
	// testsuite, omitempty as they say.
	root := xml.StartElement{Name: xml.Name{Local: "testsuites"}, Attr: []xml.Attr{
		attr("name", p.doc.Name), attr("tests", strconv.Itoa(p.doc.Tests)),
		attr("failures", strconv.Itoa(p.doc.Failures)), attr("errors", strconv.Itoa(p.doc.Errors)),
	}}
	root.Attr = appendNonEmpty(root.Attr, "time", p.doc.Time)
	if err := enc.EncodeToken(root); err != nil {
		return err
	}
	for n, s := range p.doc.Suites {
		start := xml.StartElement{Name: xml.Name{Local: "testsuite"}}
		if n == 0 {
			// The verdict suite is small, and whole.
			if err := enc.EncodeElement(s, start); err != nil {
				return err
			}
			continue
		}
		start.Attr = []xml.Attr{
			attr("name", s.Name), attr("tests", strconv.Itoa(s.Tests)), attr("failures", strconv.Itoa(s.Failures)),
			attr("errors", strconv.Itoa(s.Errors)), attr("skipped", strconv.Itoa(s.Skipped)),
		}
		start.Attr = appendNonEmpty(start.Attr, "time", s.Time)
		start.Attr = appendNonEmpty(start.Attr, "timestamp", s.Timestamp)
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
		if s.Properties != nil {
			if err := enc.EncodeElement(s.Properties, xml.StartElement{Name: xml.Name{Local: "properties"}}); err != nil {
				return err
			}
		}
		for _, ref := range p.members[n-1] {
			if err := enc.EncodeElement(issueCase(r, ref), xml.StartElement{Name: xml.Name{Local: "testcase"}}); err != nil {
				return err
			}
		}
		if err := enc.EncodeToken(start.End()); err != nil {
			return err
		}
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func attr(name, value string) xml.Attr { return xml.Attr{Name: xml.Name{Local: name}, Value: value} }

func appendNonEmpty(attrs []xml.Attr, name, value string) []xml.Attr {
	if value == "" {
		return attrs
	}
	return append(attrs, attr(name, value))
}

// plan is the report without its issue cases: the suites with their
// counts (the verdict suite whole), and the issues each issue suite's cases
// are made from, members[n] for doc.Suites[n+1].
type plan struct {
	doc     testsuites
	members [][]issueRef
}

// issueRef is an issue of r.Issues and the how-manieth case of its name it
// is (1 for the first).
type issueRef struct {
	issue  *cortex.Issue
	repeat int
}

func newPlan(r *gate.Result, ctx reporter.Context) plan {
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
	issueSuites, members := planIssueSuites(r)
	for _, s := range issueSuites {
		s.Timestamp = timestamp
		suites = append(suites, s)
	}

	doc := testsuites{Name: "cortex-gate", Time: elapsed, Suites: suites}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	return plan{doc: doc, members: members}
}

// build is the whole tree, every case made.
func build(r *gate.Result, ctx reporter.Context) testsuites {
	p := newPlan(r, ctx)
	for n, refs := range p.members {
		s := &p.doc.Suites[n+1]
		for _, ref := range refs {
			s.Cases = append(s.Cases, issueCase(r, ref))
		}
	}
	return p.doc
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

// planIssueSuites groups the issues by category, highest severity first,
// and counts each suite's cases, without making them.
func planIssueSuites(r *gate.Result) ([]testsuite, [][]issueRef) {
	issues := make([]*cortex.Issue, len(r.Issues))
	for n := range r.Issues {
		issues[n] = &r.Issues[n]
	}
	// Stable: Cortex's order is kept within a severity.
	slices.SortStableFunc(issues, func(a, b *cortex.Issue) int {
		return cmp.Compare(cortex.ParseSeverity(b.Severity), cortex.ParseSeverity(a.Severity))
	})
	type group struct {
		suite   testsuite
		members []issueRef
	}
	byCategory := map[string]*group{}
	seen := map[string]int{}
	for _, i := range issues {
		cat := category(*i)
		g := byCategory[cat]
		if g == nil {
			g = &group{suite: testsuite{Name: cat}}
			byCategory[cat] = g
		}
		name, classname, _, _ := caseName(*i, cat)
		key := classname + "\x00" + name
		seen[key]++
		switch {
		case r.IssueBlocks(*i):
			g.suite.Failures++
		case i.Resolved():
			g.suite.Skipped++
		}
		g.suite.Tests++
		g.members = append(g.members, issueRef{issue: i, repeat: seen[key]})
	}
	groups := make([]*group, 0, len(byCategory))
	for _, g := range byCategory {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *group) int { return strings.Compare(a.suite.Name, b.suite.Name) })
	suites := make([]testsuite, len(groups))
	members := make([][]issueRef, len(groups))
	for n, g := range groups {
		suites[n], members[n] = g.suite, g.members
	}
	return suites, members
}

// caseName is the name and classname of an issue's case, before any " #2",
// with the alert and file they are made of.
func caseName(i cortex.Issue, cat string) (name, classname, alert, where string) {
	alert = scantext.CleanXML(i.AlertName, maxAttrRunes)
	if alert == "" {
		alert = "Unnamed Cortex issue"
	}
	where = scantext.CleanXML(i.FilePath, maxAttrRunes)
	if where == "" {
		where = scantext.CleanXML(i.AssetName, maxAttrRunes)
	}
	if where == "" {
		where = "(no file)"
	}
	return alert + " in " + where, strings.ReplaceAll(cat, ".", "_") + "." + strings.ReplaceAll(where, ".", "_"), alert, where
}

func issueCase(r *gate.Result, ref issueRef) testcase {
	i := *ref.issue
	sev := cortex.ParseSeverity(i.Severity)
	cat := category(i)
	name, classname, alert, where := caseName(i, cat)
	tc := testcase{Name: name, Classname: classname}
	if ref.repeat > 1 {
		tc.Name += " #" + strconv.Itoa(ref.repeat)
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
