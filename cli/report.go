package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cortex-gate/cortex-gate/ciplatform"
	"github.com/cortex-gate/cortex-gate/config"
	"github.com/cortex-gate/cortex-gate/filecmd"
	"github.com/cortex-gate/cortex-gate/gate"
	ghpublish "github.com/cortex-gate/cortex-gate/publish/github"
	glpublish "github.com/cortex-gate/cortex-gate/publish/gitlab"
	"github.com/cortex-gate/cortex-gate/reporter"
	"github.com/cortex-gate/cortex-gate/reporter/codequality"
	"github.com/cortex-gate/cortex-gate/reporter/console"
	"github.com/cortex-gate/cortex-gate/reporter/jsonreport"
	"github.com/cortex-gate/cortex-gate/reporter/junit"
	"github.com/cortex-gate/cortex-gate/reporter/markdown"
	"github.com/cortex-gate/cortex-gate/reporter/sarif"
)

// consoleTopIssues is how many issues the console block lists.
const consoleTopIssues = 10

// The report files name the tool's version; it is set at link time in cli.
func init() { jsonreport.Version, sarif.Version = Version, Version }

// reporting sends one Result everywhere the settings ask for.
type reporting struct {
	env    Env
	log    logger
	s      *config.Settings
	ci     ciplatform.Context
	change gate.Change
	ctx    reporter.Context
	tuning gateTuning

	commentURL string
	reportFile string
}

func newReporting(env Env, log logger, s *config.Settings, ci ciplatform.Context, c gate.Change, t gateTuning) *reporting {
	hint := "the report files"
	if ci.Platform == ciplatform.GitHub {
		hint = "the job summary"
	}
	repoPath := ci.RepoPath
	if repoPath == "" && c.Repository != "" {
		repoPath = c.Repository
		if c.Organization != "" {
			repoPath = c.Organization + "/" + c.Repository
		}
	}
	return &reporting{env: env, log: log, s: s, ci: ci, change: c, tuning: t, ctx: reporter.Context{
		ServerURL: ci.ServerURL, Platform: string(ci.Platform), RepoPath: repoPath, HeadSHA: c.CommitSHA,
		MaxCommentItems: s.MaxCommentItems, FullReportHint: hint, RunURL: ci.RunURL,
	}}
}

// report writes every report. Local files come first: after a signal there
// is little time, and the network ones get only a moment.
func (r *reporting) report(ctx context.Context, res *gate.Result) {
	// The verdict is the one block not collapsed: it is what the reader came for.
	if err := console.Verdict(r.stdout(), res, consoleTopIssues); err != nil {
		r.log.Warningf("failed to print the verdict: %v", err)
	}
	if r.ci.Platform == ciplatform.GitHub {
		for _, line := range console.Annotations(res) {
			fmt.Fprintln(r.stdout(), line)
		}
	}

	r.writeFiles(res)
	// Network reports get their own time: the run's context may be done
	// (timeout, signal) and the verdict must still be posted when it can.
	budget := 60 * time.Second
	if ctx.Err() != nil {
		budget = time.Second
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	r.comment(pctx, res)
	r.checkRun(pctx, res)
	r.writeJSON(res) // after the forges: it holds their warnings
	r.summary(res)
	r.outputs(res)
}

func (r *reporting) stdout() io.Writer {
	return &redactor{w: r.env.Stdout, secrets: nonEmpty(r.s.Secrets())}
}

func (r *reporting) writeFiles(res *gate.Result) {
	files := []struct {
		path  string
		write func(io.Writer, *gate.Result, reporter.Context) error
		what  string
	}{
		{r.s.SARIFFile, sarif.Write, "SARIF"},
		{r.s.JUnitFile, junit.Write, "JUnit"},
		{r.s.CodeQualityFile, codequality.Write, "Code Quality"},
	}
	for _, f := range files {
		if f.path != "" {
			r.writeFile(f.path, f.what, func(w io.Writer) error { return f.write(w, res, r.ctx) })
		}
	}
}

func (r *reporting) writeJSON(res *gate.Result) {
	if r.s.JSONFile != "" {
		extra := jsonreport.Extra{CommentURL: r.commentURL, ReportFile: r.s.JSONFile}
		if r.writeFile(r.s.JSONFile, "JSON", func(w io.Writer) error { return jsonreport.WriteExtra(w, res, r.ctx, extra) }) {
			r.reportFile = r.s.JSONFile
		}
	}
}

// writeFile writes a report atomically: a reader never sees half a file.
// The report streams into a temporary file next to path, renamed over path
// once whole, so a huge report is never held in memory.
func (r *reporting) writeFile(path, what string, write func(io.Writer) error) bool {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.log.Warningf("failed to create the folder of the %s report %s: %v", what, path, err)
		return false
	}
	// A temporary file of its own (two gates may share the folder), made
	// 0644 under the umask as os.WriteFile would: os.CreateTemp makes 0600.
	var f *os.File
	var err error
	for range 10 {
		name := filepath.Join(dir, filepath.Base(path)+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		if f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		r.log.Warningf("failed to write the %s report %s: %v", what, path, err)
		return false
	}
	tmp := f.Name()
	// fail drops the temporary file: a failed report leaves nothing behind,
	// and an older report at path stays whole.
	fail := func(msg string, err error) bool {
		_ = f.Close()
		_ = os.Remove(tmp)
		r.log.Warningf("%s: %v", msg, err)
		return false
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return fail("failed to render the "+what+" report", err)
	}
	writeFailed := "failed to write the " + what + " report " + path
	if err := bw.Flush(); err != nil {
		return fail(writeFailed, err)
	}
	if err := f.Close(); err != nil {
		return fail(writeFailed, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(writeFailed, err)
	}
	r.log.Infof("Wrote the %s report to %s", what, path)
	return true
}

func (r *reporting) marker() string {
	return markdown.Marker(r.ctx.RepoPath, r.change.PRID, r.change.ScanType)
}

// comment posts or updates the sticky PR/MR comment. A failure is a
// warning: the verdict stands whatever the forge says.
func (r *reporting) comment(ctx context.Context, res *gate.Result) {
	if r.s.Comment == config.CommentOff || r.change.PRID == "" {
		return
	}
	body := markdown.Comment(res, r.ctx, r.marker())
	if r.tuning.commentPreview {
		r.log.Group("The PR comment cortex-gate would post")
		fmt.Fprintln(r.stdout(), body)
		r.log.EndGroup()
	}
	if r.tuning.commentFile != "" {
		r.writeFile(r.tuning.commentFile, "PR comment", func(w io.Writer) error {
			_, err := io.WriteString(w, body)
			return err
		})
	}
	pr, _ := strconv.Atoi(r.change.PRID)
	var url string
	var err error
	switch {
	case r.ci.Platform == ciplatform.GitHub && r.s.GitHubToken != "":
		owner, repo := splitRepoPath(r.ctx.RepoPath)
		var c *ghpublish.Client
		if c, err = ghpublish.New(ghpublish.Config{Token: r.s.GitHubToken, APIURL: r.ci.APIURL, Owner: owner, Repo: repo, HTTPClient: r.forgeHTTP()}); err == nil {
			url, err = c.UpsertComment(ctx, pr, r.marker(), body)
		}
		if err != nil && ghpublish.IsPermission(err) {
			r.warn(res, "the GitHub token cannot write PR comments (a pull request from a fork gets a read-only token); the job summary and annotations still show the verdict")
			return
		}
	case r.ci.Platform == ciplatform.GitLab && r.ci.PRID == "":
		// A PR id given by hand (an external GitHub pull request) is no
		// merge request IID: a note would land on an unrelated MR.
		r.log.Infof("No merge request was detected: the MR note is skipped.")
		return
	case r.ci.Platform == ciplatform.GitLab && r.s.GitLabToken != "":
		var c *glpublish.Client
		if c, err = glpublish.New(glpublish.Config{Token: r.s.GitLabToken, APIURL: r.ci.APIURL, ProjectID: firstNonEmpty(r.ci.ProjectID, r.ctx.RepoPath), ProjectURL: r.ci.ProjectURL, HTTPClient: r.forgeHTTP()}); err == nil {
			url, err = c.UpsertNote(ctx, pr, r.marker(), body)
		}
		if err != nil && glpublish.IsPermission(err) {
			r.warn(res, "the GitLab token cannot write merge request notes (CI_JOB_TOKEN cannot; use a project access token with the api scope in gitlab-token)")
			return
		}
	case r.ci.Platform == ciplatform.GitLab:
		r.log.Infof("No gitlab-token: the merge request note is skipped (CI_JOB_TOKEN cannot post notes).")
		return
	default:
		if r.ci.Platform == ciplatform.GitHub {
			r.log.Infof("No github-token: the PR comment is skipped.")
		}
		return
	}
	if err != nil {
		r.warn(res, "failed to post the PR comment: "+err.Error())
		return
	}
	r.commentURL = url
	r.log.Infof("PR comment: %s", url)
}

func (r *reporting) checkRun(ctx context.Context, res *gate.Result) {
	if !r.s.CheckRun {
		return
	}
	if r.ci.Platform != ciplatform.GitHub || r.s.GitHubToken == "" || r.change.CommitSHA == "" {
		r.log.Warningf("check-run is true, but a check run needs GitHub Actions, a github-token and the head commit: skipped")
		return
	}
	owner, repo := splitRepoPath(r.ctx.RepoPath)
	c, err := ghpublish.New(ghpublish.Config{Token: r.s.GitHubToken, APIURL: r.ci.APIURL, Owner: owner, Repo: repo, HTTPClient: r.forgeHTTP()})
	var url string
	if err == nil {
		anns, text := ghpublish.AnnotationsFor(res), ""
		if len(anns) > ghpublish.MaxAnnotationsPerRun {
			text = fmt.Sprintf("Annotations: the first %d of %d issues with a file, blocking and most severe first; the job summary and the report files list them all.", ghpublish.MaxAnnotationsPerRun, len(anns))
			anns = anns[:ghpublish.MaxAnnotationsPerRun]
		}
		url, err = c.CheckRun(ctx, ghpublish.CheckRun{
			HeadSHA: r.change.CommitSHA, Title: res.Message, Summary: markdown.Comment(res, r.ctx, ""), Text: text,
			Conclusion: conclusion(res), DetailsURL: r.ci.RunURL,
			Annotations: anns, StartedAt: res.StartedAt, CompletedAt: res.FinishedAt,
		})
	}
	if err != nil {
		if ghpublish.IsPermission(err) {
			r.warn(res, "the GitHub token cannot create check runs (it needs checks: write; a fork's token is read-only)")
			return
		}
		r.warn(res, "failed to create the check run: "+err.Error())
		return
	}
	r.log.Infof("Check run: %s", url)
}

// warn logs a reporting problem and keeps it in the result, so the summary
// and the JSON report show it too.
func (r *reporting) warn(res *gate.Result, msg string) {
	r.log.Warningf("%s", msg)
	res.Warnings = append(res.Warnings, msg)
}

func (r *reporting) summary(res *gate.Result) {
	path := r.env.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return
	}
	if err := filecmd.AppendSummary(path, markdown.Summary(res, r.ctx)); err != nil {
		r.log.Warningf("failed to write the job summary: %v", err)
	}
}

func (r *reporting) outputs(res *gate.Result) {
	path := r.env.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return
	}
	out := jsonreport.Outputs(res)
	out["comment-url"] = r.commentURL
	out["report-file"] = r.reportFile
	if err := filecmd.SetOutputs(path, out); err != nil {
		r.log.Warningf("failed to write the step outputs: %v", err)
	}
}

// forgeHTTP is the client for GitHub and GitLab: the same proxies and
// ca-cert as for Cortex (an Enterprise Server behind the same private CA).
func (r *reporting) forgeHTTP() *http.Client {
	c, err := newHTTPClient(r.s.CACert)
	if err != nil {
		return nil // the Cortex client reported it already; the forge client's own default serves
	}
	c.Timeout = 30 * time.Second
	return c
}

func splitRepoPath(p string) (owner, repo string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// conclusion is the check run's conclusion; a cancelled run says so.
func conclusion(res *gate.Result) string {
	if res.Cancelled {
		return "cancelled"
	}
	return ghpublish.Conclusion(res.Verdict, res.Enforced)
}
