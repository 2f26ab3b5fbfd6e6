// Package cortex is a client for the Palo Alto Networks Cortex Cloud AppSec
// REST API: the scan lists, and a scan's issues and findings.
//
// Cortex API docs: https://cortex-panw.stoplight.io/docs/cortex-xsiam-3-x
package cortex

import (
	"strings"
	"time"
)

// ScanType is the kind of Cortex scan the gate waits for.
type ScanType string

const (
	ScanTypePR ScanType = "pr" // a pull/merge request scan, /scans/pr
	ScanTypeCI ScanType = "ci" // a CI pipeline scan, /scans/ci
)

// Scan health values (scanHealth). Unknown values are kept verbatim.
const (
	HealthCompleted          = "COMPLETED"
	HealthPartiallyCompleted = "PARTIALLY_COMPLETED"
	HealthError              = "ERROR"
	HealthInProgress         = "IN_PROGRESS"
)

// Scan is one item of /scans/pr or /scans/ci, read from either dialect of
// field names (see NOTES.md: the vendor spec and the product docs differ).
type Scan struct {
	Type             ScanType  `json:"type"`
	ID               string    `json:"scanId"`
	Health           string    `json:"scanHealth"` // raw, upper-cased by nobody: compare with strings.EqualFold
	Status           string    `json:"status"`     // pullRequestStatus or ciStatus, raw
	Date             time.Time `json:"scanDate"`   // zero when the server sent none or an unreadable one
	DateRaw          string    `json:"scanDateRaw,omitempty"`
	RepoName         string    `json:"repoName"`
	RepositoryID     string    `json:"repositoryId,omitempty"`
	OrganizationName string    `json:"organizationName,omitempty"`
	BranchName       string    `json:"branchName,omitempty"`
	Provider         string    `json:"provider,omitempty"`
	IntegrationID    string    `json:"integrationId,omitempty"`
	PullRequestID    string    `json:"pullRequestId,omitempty"`
	PullRequestTitle string    `json:"pullRequestTitle,omitempty"`
	CommitID         string    `json:"commitId,omitempty"`
	UserEmail        string    `json:"userEmail,omitempty"`

	// BlockingPolicyNames and BlockingPolicyIDs merge the singular strings
	// (split on commas) and the arrays of both dialects, de-duplicated.
	BlockingPolicyNames []string `json:"blockingPolicyNames"`
	BlockingPolicyIDs   []string `json:"blockingPolicyIds"`

	// The count maps: nil when the server sent none (unknown), empty when
	// it sent {} (none). JSON keeps the difference: null versus {}.
	IssuesFound               map[string]float64 `json:"issuesFound"`
	IssuesTypesBreakdown      map[string]float64 `json:"issuesTypesBreakdown"`
	FindingsSeverityBreakdown map[string]float64 `json:"findingsSeverityBreakdown"`
	FindingsTypesBreakdown    map[string]float64 `json:"findingsTypesBreakdown"`
}

// Final reports whether the scan's health will not change any more.
func (s Scan) Final() bool {
	switch strings.ToUpper(s.Health) {
	case HealthCompleted, HealthPartiallyCompleted, HealthError:
		return true
	}
	return false
}

// IssueCount is the total of the issuesFound map, and whether the map was
// present at all (a missing map says nothing; an all-zero map says "none").
func (s Scan) IssueCount() (n int, known bool) { return sum(s.IssuesFound) }

// FindingCount is the total of findingsSeverityBreakdown, as IssueCount.
func (s Scan) FindingCount() (n int, known bool) { return sum(s.FindingsSeverityBreakdown) }

func sum(m map[string]float64) (int, bool) {
	if m == nil {
		return 0, false
	}
	var t float64
	for _, v := range m {
		t += v
	}
	return int(t), true
}

// Issue is one item of /scans/{scanId}/issues (snake_case fields).
type Issue struct {
	ID                string    `json:"issue_id"`
	ScanID            string    `json:"scan_id,omitempty"`
	Severity          string    `json:"severity"`
	AlertName         string    `json:"alert_name"`
	DetectionMethod   string    `json:"detection_method"`
	AssetName         string    `json:"asset_name,omitempty"`
	FilePath          string    `json:"file_path,omitempty"`
	Created           time.Time `json:"created,omitzero"`
	RepoID            string    `json:"repo_id,omitempty"`
	PullRequestID     string    `json:"pull_request_id,omitempty"`
	RunID             string    `json:"run_id,omitempty"`
	Branch            string    `json:"branch,omitempty"`
	Assignee          string    `json:"assignee,omitempty"`
	ResolutionStatus  string    `json:"resolution_status,omitempty"`
	ResolutionReason  string    `json:"resolution_reason,omitempty"`
	ResolutionComment string    `json:"resolution_comment,omitempty"`
}

// Resolved reports whether the issue was closed in Cortex.
func (i Issue) Resolved() bool { return strings.EqualFold(i.ResolutionStatus, "Resolved") }

// Finding is one item of /scans/{scanId}/findings.
type Finding struct {
	ScanID          string    `json:"scan_id,omitempty"`
	IssueName       string    `json:"issue_name,omitempty"`
	Name            string    `json:"name,omitempty"`
	Category        string    `json:"category,omitempty"`
	Description     string    `json:"description,omitempty"`
	Severity        string    `json:"severity,omitempty"`
	FilePath        string    `json:"file_path,omitempty"`
	Branch          string    `json:"branch,omitempty"`
	AssetID         string    `json:"asset_id,omitempty"`
	AssetName       string    `json:"asset_name,omitempty"`
	DetectionMethod string    `json:"detection_method,omitempty"`
	DataSource      string    `json:"data_source,omitempty"`
	ScanSource      string    `json:"scan_source,omitempty"`
	GitUser         string    `json:"git_user,omitempty"`
	FirstHash       string    `json:"first_hash,omitempty"`
	FirstHashTime   string    `json:"first_hash_time,omitempty"`
	PlatformID      string    `json:"platform_id,omitempty"`
	FirstObserved   time.Time `json:"first_observed,omitzero"`
	LastObserved    time.Time `json:"last_observed,omitzero"`
	SuppressionType string    `json:"suppression_type,omitempty"`
}

// PRScanQuery filters /scans/pr. Only parameters the vendor description
// declares are sent; empty fields are left out.
type PRScanQuery struct {
	Organization string
	Repositories []string
	PRID         string
	Days         int // 0: the server's default
}

// CIScanQuery filters /scans/ci. The endpoint has no branch or commit filter:
// the caller matches those on the items.
type CIScanQuery struct {
	Organization string
	Repositories []string
	Days         int
}
