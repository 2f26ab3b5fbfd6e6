package github

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cortex-gate/cortex-gate/publish/internal/sticky"

	gh "github.com/google/go-github/v62/github"

	"github.com/cortex-gate/cortex-gate/cortex"
	"github.com/cortex-gate/cortex-gate/gate"
)

// CheckRunName is the name of the gate's check run, as branch protection
// rules list it.
const CheckRunName = "Cortex Code Security"

// Limits of the Checks API.
const (
	MaxOutputChars          = 65535 // output.summary and output.text, each
	MaxAnnotationsPerCall   = 50
	MaxAnnotationTitleChars = 255
	MaxAnnotationBytes      = 64 * 1024 // message and raw_details ("64 KB")
)

// Annotation levels of the Checks API.
const (
	LevelFailure = "failure"
	LevelWarning = "warning"
	LevelNotice  = "notice"
)

// outputTrimmedNote ends a summary or text that had to be cut to fit.
const outputTrimmedNote = "\n\n_Cut to fit GitHub's 65,535-character limit; the job summary and the report files have everything._\n"

// CheckRun is what the check run shows.
type CheckRun struct {
	HeadSHA string // the pull request's head commit, not the merge commit
	// Title is output.title, the line under the check's name; default: the name.
	Title string
	// Summary (Markdown) is required by GitHub; default: the title.
	// Text (Markdown) is optional. Each is cut to 65,535 characters.
	Summary, Text string
	// Conclusion is one of the Checks API's conclusions; see Conclusion.
	Conclusion string
	DetailsURL string // optional, e.g. the CI run
	// Annotations are sent 50 at a time; there is no other limit.
	Annotations []Annotation
	// StartedAt and CompletedAt are sent when set.
	StartedAt, CompletedAt time.Time
}

// Annotation marks a file in the check run. Title and Message are plain text.
type Annotation struct {
	Path               string // relative to the repository root
	StartLine, EndLine int    // 1-based; 0 is taken as line 1
	Level              string // failure, warning or notice
	Title, Message     string
}

// Conclusion maps the gate's verdict to a check run conclusion:
//
//	passed  → success
//	blocked → failure, or neutral when not enforced (mode: report)
//	timeout → timed_out
//	error   → failure
//
// An error is a failure rather than action_required: GitHub offers that
// conclusion for apps that give the user a button to press, and a required
// check must not pass when the gate could not decide. on-error: pass changes
// the exit code, not what the check says happened. An unknown verdict is a
// failure too.
func Conclusion(v gate.Verdict, enforced bool) string {
	switch v {
	case gate.VerdictPassed:
		return "success"
	case gate.VerdictBlocked:
		if !enforced {
			return "neutral"
		}
		return "failure"
	case gate.VerdictTimeout:
		return "timed_out"
	}
	return "failure"
}

// conclusions are the values GitHub accepts when completing a run.
var conclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"}

// CheckRun creates the completed check run on run.HeadSHA with the first 50
// annotations, then adds the rest 50 at a time (GitHub appends them). It
// returns the run's html_url. If adding annotations fails, the run already
// exists with its conclusion: the URL is returned with the error.
//
// GitHub API docs: https://docs.github.com/rest/checks/runs#create-a-check-run
func (c *Client) CheckRun(ctx context.Context, run CheckRun) (htmlURL string, err error) {
	where := c.slug()
	if run.HeadSHA == "" {
		return "", fmt.Errorf("failed to create check run on %s: the head commit is unknown", where)
	}
	where += " at " + shortSHA(run.HeadSHA)
	if !slices.Contains(conclusions, run.Conclusion) {
		return "", fmt.Errorf("failed to create check run on %s: conclusion %q is not one of %s", where, run.Conclusion, strings.Join(conclusions, ", "))
	}

	title := cmp.Or(strings.TrimSpace(run.Title), CheckRunName)
	output := func(batch []Annotation) *gh.CheckRunOutput {
		// GitHub wants title and summary in every output, updates included,
		// and replaces what it had with what it gets: send all of it each time.
		o := &gh.CheckRunOutput{
			Title:       gh.String(title),
			Summary:     gh.String(fitOutput(cmp.Or(run.Summary, title))),
			Annotations: toGitHub(batch),
		}
		if run.Text != "" {
			o.Text = gh.String(fitOutput(run.Text))
		}
		return o
	}
	anns := make([]Annotation, 0, len(run.Annotations))
	for _, a := range run.Annotations {
		if a, ok := normalise(a); ok {
			anns = append(anns, a)
		}
	}
	first := anns[:min(len(anns), MaxAnnotationsPerCall)]

	opts := gh.CreateCheckRunOptions{
		Name:       CheckRunName,
		HeadSHA:    run.HeadSHA,
		Status:     gh.String("completed"),
		Conclusion: gh.String(run.Conclusion),
		Output:     output(first),
	}
	if run.DetailsURL != "" {
		opts.DetailsURL = gh.String(run.DetailsURL)
	}
	if !run.StartedAt.IsZero() {
		opts.StartedAt = &gh.Timestamp{Time: run.StartedAt}
	}
	if !run.CompletedAt.IsZero() {
		opts.CompletedAt = &gh.Timestamp{Time: run.CompletedAt}
	}
	// The run is created completed, so that a failure while adding the other
	// annotations cannot leave it in progress for ever.
	var created *gh.CheckRun
	err = c.retry(ctx, "POST check run", func() error {
		var err error
		created, _, err = c.gh.Checks.CreateCheckRun(ctx, c.owner, c.repo, opts)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("failed to create check run on %s: %w", where, err)
	}
	htmlURL = created.GetHTMLURL()

	for lo := MaxAnnotationsPerCall; lo < len(anns); lo += MaxAnnotationsPerCall {
		hi := min(lo+MaxAnnotationsPerCall, len(anns))
		upd := gh.UpdateCheckRunOptions{Name: CheckRunName, Output: output(anns[lo:hi])}
		err := c.retry(ctx, "PATCH check run", func() error {
			_, _, err := c.gh.Checks.UpdateCheckRun(ctx, c.owner, c.repo, created.GetID(), upd)
			return err
		})
		if err != nil {
			return htmlURL, fmt.Errorf("failed to add annotations %d-%d of %d to check run %d on %s: %w", lo+1, hi, len(anns), created.GetID(), where, err)
		}
	}
	return htmlURL, nil
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// normalise makes an annotation acceptable to GitHub, or reports that it
// cannot be (no path).
func normalise(a Annotation) (Annotation, bool) {
	a.Path = repoPath(a.Path)
	if a.Path == "" {
		return a, false
	}
	a.StartLine = max(a.StartLine, 1)
	a.EndLine = max(a.EndLine, a.StartLine)
	switch a.Level {
	case LevelFailure, LevelWarning, LevelNotice:
	default:
		a.Level = LevelWarning
	}
	a.Title = sticky.TruncateRunes(plain(a.Title, false), MaxAnnotationTitleChars)
	a.Message = truncateBytes(plain(a.Message, true), MaxAnnotationBytes)
	if strings.TrimSpace(a.Message) == "" {
		// message is required.
		a.Message = cmp.Or(a.Title, "Cortex Cloud AppSec issue")
	}
	return a, true
}

func toGitHub(anns []Annotation) []*gh.CheckRunAnnotation {
	if len(anns) == 0 {
		return nil
	}
	out := make([]*gh.CheckRunAnnotation, len(anns))
	for i, a := range anns {
		out[i] = &gh.CheckRunAnnotation{
			Path:            gh.String(a.Path),
			StartLine:       gh.Int(a.StartLine),
			EndLine:         gh.Int(a.EndLine),
			AnnotationLevel: gh.String(a.Level),
			Message:         gh.String(a.Message),
		}
		if a.Title != "" {
			out[i].Title = gh.String(a.Title)
		}
	}
	return out
}

// MaxAnnotationsPerRun is how many annotations the gate sends with one
// check run: 10 requests of 50. Every request counts against the token's
// hourly budget (1,000 for GITHUB_TOKEN in a repository), and a huge scan's
// 50,000 annotations would spend it all; the rest are in the job summary
// and the report files.
const MaxAnnotationsPerRun = 500

// AnnotationsFor turns the result's unresolved issues that name a file into
// annotations: failure for an issue that blocks the change, else warning for
// critical and high and notice for the rest. Cortex gives no line, so each
// marks line 1 of its file. Blocking issues come first, then by severity.
// Resolved issues are left out: they were closed in Cortex and would only
// be noise on the diff.
func AnnotationsFor(r *gate.Result) []Annotation {
	if r == nil {
		return nil
	}
	type ranked struct {
		a     Annotation
		block bool
		sev   cortex.Severity
	}
	var rs []ranked
	for _, is := range r.Issues {
		path := repoPath(is.FilePath)
		if path == "" || is.Resolved() {
			continue
		}
		sev := cortex.ParseSeverity(is.Severity)
		block := r.IssueBlocks(is)
		level := LevelNotice
		switch {
		case block:
			level = LevelFailure
		case sev >= cortex.SeverityHigh:
			level = LevelWarning
		}
		name := cmp.Or(strings.TrimSpace(plain(is.AlertName, false)), "Cortex Cloud AppSec issue")
		var msg strings.Builder
		fmt.Fprintf(&msg, "%s (%s, %s)", name, sev.Title(), cortex.Category(plain(is.DetectionMethod, false)))
		if block {
			if r.Enforced {
				msg.WriteString("\nThis issue blocks the change.")
			} else {
				msg.WriteString("\nThis issue would block the change under mode: enforce (mode: report is on).")
			}
		}
		if is.AssetName != "" && is.AssetName != is.FilePath {
			fmt.Fprintf(&msg, "\nAsset: %s", plain(is.AssetName, false))
		}
		if is.ID != "" {
			fmt.Fprintf(&msg, "\nCortex issue ID: %s", plain(is.ID, false))
		}
		a, _ := normalise(Annotation{
			Path:      path,
			StartLine: 1,
			EndLine:   1,
			Level:     level,
			Title:     sev.Title() + ": " + name,
			Message:   msg.String(),
		})
		rs = append(rs, ranked{a: a, block: block, sev: sev})
	}
	slices.SortStableFunc(rs, func(x, y ranked) int {
		if x.block != y.block {
			if x.block {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.sev, x.sev)
	})
	out := make([]Annotation, len(rs))
	for i, x := range rs {
		out[i] = x.a
	}
	return out
}

// repoPath makes a scan's file path relative to the repository root, as the
// Checks API wants it.
func repoPath(p string) string {
	p = strings.TrimSpace(strings.ReplaceAll(p, "\\", "/"))
	for {
		switch {
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case strings.HasPrefix(p, "/"):
			p = p[1:]
		default:
			return p
		}
	}
}

// plain drops control characters from untrusted text (annotations are shown
// as plain text, so nothing else needs escaping); newlines and tabs are
// kept when multiline, else turned into spaces.
func plain(s string, multiline bool) string {
	if !strings.ContainsFunc(s, unicode.IsControl) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\t':
			if multiline {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		case r == '\r':
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncateBytes is the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fitOutput cuts a summary or text to GitHub's limit, at a line end where
// one is near, with a note saying so.
func fitOutput(s string) string {
	if utf8.RuneCountInString(s) <= MaxOutputChars {
		return s
	}
	return sticky.AtLineEnd(sticky.TruncateRunes(s, MaxOutputChars-utf8.RuneCountInString(outputTrimmedNote))) + outputTrimmedNote
}
