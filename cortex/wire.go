package cortex

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The wire types below read what tenants actually send, which is looser than
// the vendor description: ids and counts arrive as numbers or strings, the
// blocking policies in two dialects, timestamps in several formats. None of
// them fails on an unexpected type; a value it cannot use is left empty.

// flexString is a JSON string, or a number or boolean kept as its text.
// null, objects and arrays read as "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	*s = flexString(scalarText(b))
	return nil
}

// scalarText is the text of a JSON scalar: a string's content, a number's
// literal (exact: ids longer than a float64 mantissa survive), "true"/"false".
func scalarText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	switch b[0] {
	case '"':
		// Fast path for the common case: no escapes, valid UTF-8.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner)
		}
		var s string
		if json.Unmarshal(b, &s) != nil {
			return ""
		}
		return s
	case 't', 'f':
		return string(b)
	case 'n', '{', '[':
		return ""
	}
	return string(b) // a number
}

// flexList is a list of strings from either a string of comma-separated
// values or an array of scalars (whose elements are not split).
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	*l = nil
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return nil
		}
		for _, it := range items {
			if t := strings.TrimSpace(scalarText(bytes.TrimSpace(it))); t != "" {
				*l = append(*l, t)
			}
		}
	case '{', 'n':
	default:
		for _, part := range strings.Split(scalarText(b), ",") {
			if t := strings.TrimSpace(part); t != "" {
				*l = append(*l, t)
			}
		}
	}
	return nil
}

// mergeLists concatenates lists keeping the first occurrence of each value.
// It never returns nil, so an unblocked scan shows as [] in JSON reports.
func mergeLists(lists ...flexList) []string {
	out := []string{}
	for _, l := range lists {
		for _, v := range l {
			dup := false
			for _, seen := range out {
				if seen == v {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, v)
			}
		}
	}
	return out
}

// flexCounts is a count map (string -> number). Values may be numbers or
// numeric strings; others are dropped. A missing or null map stays nil (the
// count is unknown); {} is an empty, non-nil map (the count is zero).
type flexCounts map[string]float64

func (m *flexCounts) UnmarshalJSON(b []byte) error {
	*m = nil
	var raw map[string]json.RawMessage
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &raw) != nil {
		return nil
	}
	out := make(flexCounts, len(raw))
	for k, v := range raw {
		t := strings.TrimSpace(scalarText(bytes.TrimSpace(v)))
		if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			out[k] = f
		}
	}
	*m = out
	return nil
}

// flexTime is a timestamp in any of the formats parseTime knows, with the
// text it came from.
type flexTime struct {
	raw string
	t   time.Time
}

func (ft *flexTime) UnmarshalJSON(b []byte) error {
	ft.raw = strings.TrimSpace(scalarText(b))
	ft.t = parseTime(ft.raw)
	return nil
}

// timeLayouts are tried in order on a timestamp that is not a number. A
// layout without a zone reads as UTC. Go accepts a fractional second after
// the seconds field even when the layout has none.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05 -0700 MST", // Go's time.Time.String
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
}

// parseTime reads RFC 3339 (with or without fraction or zone), epoch
// seconds, milliseconds, microseconds or nanoseconds (told apart by
// magnitude), and "2006-01-02 15:04:05"-style text. The result is in UTC;
// anything unreadable, and the epoch itself, is the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:/ T") {
		return parseEpoch(s)
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func parseEpoch(s string) time.Time {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return time.Time{}
		}
		switch {
		case n < 1e11: // seconds until the year 5138
			return time.Unix(n, 0).UTC()
		case n < 1e14:
			return time.UnixMilli(n).UTC()
		case n < 1e17:
			return time.UnixMicro(n).UTC()
		default:
			return time.Unix(0, n).UTC()
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f >= 1e19 {
		return time.Time{}
	}
	switch {
	case f < 1e11:
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	case f < 1e14:
		return time.UnixMicro(int64(math.Round(f * 1e3))).UTC()
	case f < 1e17:
		return time.Unix(0, int64(math.Round(f*1e3))).UTC()
	default:
		return time.Unix(0, int64(f)).UTC()
	}
}

// scanWire is one item of /scans/pr or /scans/ci in either dialect.
type scanWire struct {
	ScanID            flexString `json:"scanId"`
	ScanHealth        flexString `json:"scanHealth"`
	ScanDate          flexTime   `json:"scanDate"`
	RepoName          flexString `json:"repoName"`
	RepositoryID      flexString `json:"repositoryId"`
	OrganizationName  flexString `json:"organizationName"`
	BranchName        flexString `json:"branchName"`
	Provider          flexString `json:"provider"`
	IntegrationID     flexString `json:"integrationId"`
	PullRequestID     flexString `json:"pullRequestId"`
	PullRequestTitle  flexString `json:"pullRequestTitle"`
	PullRequestStatus flexString `json:"pullRequestStatus"`
	CIStatus          flexString `json:"ciStatus"`
	Status            flexString `json:"status"`
	CommitID          flexString `json:"commitId"`
	UserEmail         flexString `json:"userEmail"`

	// The vendor description's singular strings, and the product docs' arrays.
	BlockingPolicyName    flexList `json:"blockingPolicyName"`
	BlockingPolicyID      flexList `json:"blockingPolicyId"`
	BlockingPoliciesNames flexList `json:"blockingPoliciesNames"`
	BlockingPoliciesIDs   flexList `json:"blockingPoliciesIds"`

	IssuesFound               flexCounts `json:"issuesFound"`
	IssuesTypesBreakdown      flexCounts `json:"issuesTypesBreakdown"`
	FindingsSeverityBreakdown flexCounts `json:"findingsSeverityBreakdown"`
	FindingsTypesBreakdown    flexCounts `json:"findingsTypesBreakdown"`
}

func (w *scanWire) scan(typ ScanType, in interner) Scan {
	// Each endpoint names its own status field. The other one, then a
	// generic "status", stand in when it is missing.
	own, other := w.PullRequestStatus, w.CIStatus
	if typ == ScanTypeCI {
		own, other = other, own
	}
	status := cmpOrStr(own, cmpOrStr(other, w.Status))
	return Scan{
		Type:                      typ,
		ID:                        string(w.ScanID),
		Health:                    in.get(string(w.ScanHealth)),
		Status:                    in.get(string(status)),
		Date:                      w.ScanDate.t,
		DateRaw:                   w.ScanDate.raw,
		RepoName:                  in.get(string(w.RepoName)),
		RepositoryID:              in.get(string(w.RepositoryID)),
		OrganizationName:          in.get(string(w.OrganizationName)),
		BranchName:                in.get(string(w.BranchName)),
		Provider:                  in.get(string(w.Provider)),
		IntegrationID:             in.get(string(w.IntegrationID)),
		PullRequestID:             string(w.PullRequestID),
		PullRequestTitle:          string(w.PullRequestTitle),
		CommitID:                  string(w.CommitID),
		UserEmail:                 in.get(string(w.UserEmail)),
		BlockingPolicyNames:       mergeLists(w.BlockingPolicyName, w.BlockingPoliciesNames),
		BlockingPolicyIDs:         mergeLists(w.BlockingPolicyID, w.BlockingPoliciesIDs),
		IssuesFound:               w.IssuesFound,
		IssuesTypesBreakdown:      w.IssuesTypesBreakdown,
		FindingsSeverityBreakdown: w.FindingsSeverityBreakdown,
		FindingsTypesBreakdown:    w.FindingsTypesBreakdown,
	}
}

// issueWire is one item of /scans/{scanId}/issues.
type issueWire struct {
	IssueID           flexString `json:"issue_id"`
	ScanID            flexString `json:"scan_id"`
	Severity          flexString `json:"severity"`
	AlertName         flexString `json:"alert_name"`
	DetectionMethod   flexString `json:"detection_method"`
	AssetName         flexString `json:"asset_name"`
	FilePath          flexString `json:"file_path"`
	Created           flexTime   `json:"created"`
	RepoID            flexString `json:"repo_id"`
	PullRequestID     flexString `json:"pull_request_id"`
	RunID             flexString `json:"run_id"`
	Branch            flexString `json:"branch"`
	Assignee          flexString `json:"assignee"`
	ResolutionStatus  flexString `json:"resolution_status"`
	ResolutionReason  flexString `json:"resolution_reason"`
	ResolutionComment flexString `json:"resolution_comment"`
}

// issue converts, interning the fields that repeat across thousands of
// issues of one scan so a huge scan costs one copy of each.
func (w *issueWire) issue(in interner) Issue {
	return Issue{
		ID:                string(w.IssueID),
		ScanID:            in.get(string(w.ScanID)),
		Severity:          in.get(string(w.Severity)),
		AlertName:         in.get(string(w.AlertName)),
		DetectionMethod:   in.get(string(w.DetectionMethod)),
		AssetName:         in.get(string(w.AssetName)),
		FilePath:          in.get(string(w.FilePath)),
		Created:           w.Created.t,
		RepoID:            in.get(string(w.RepoID)),
		PullRequestID:     in.get(string(w.PullRequestID)),
		RunID:             in.get(string(w.RunID)),
		Branch:            in.get(string(w.Branch)),
		Assignee:          in.get(string(w.Assignee)),
		ResolutionStatus:  in.get(string(w.ResolutionStatus)),
		ResolutionReason:  in.get(string(w.ResolutionReason)),
		ResolutionComment: string(w.ResolutionComment),
	}
}

// findingWire is one item of /scans/{scanId}/findings.
type findingWire struct {
	ScanID          flexString `json:"scan_id"`
	IssueName       flexString `json:"issue_name"`
	Name            flexString `json:"name"`
	Category        flexString `json:"category"`
	Description     flexString `json:"description"`
	Severity        flexString `json:"severity"`
	FilePath        flexString `json:"file_path"`
	Branch          flexString `json:"branch"`
	AssetID         flexString `json:"asset_id"`
	AssetName       flexString `json:"asset_name"`
	DetectionMethod flexString `json:"detection_method"`
	DataSource      flexString `json:"data_source"`
	ScanSource      flexString `json:"scan_source"`
	GitUser         flexString `json:"git_user"`
	FirstHash       flexString `json:"first_hash"`
	FirstHashTime   flexString `json:"first_hash_time"`
	PlatformID      flexString `json:"platform_id"`
	FirstObserved   flexTime   `json:"first_observed"`
	LastObserved    flexTime   `json:"last_observed"`
	SuppressionType flexString `json:"suppression_type"`
}

func (w *findingWire) finding(in interner) Finding {
	return Finding{
		ScanID:          in.get(string(w.ScanID)),
		IssueName:       in.get(string(w.IssueName)),
		Name:            in.get(string(w.Name)),
		Category:        in.get(string(w.Category)),
		Description:     in.get(string(w.Description)),
		Severity:        in.get(string(w.Severity)),
		FilePath:        in.get(string(w.FilePath)),
		Branch:          in.get(string(w.Branch)),
		AssetID:         in.get(string(w.AssetID)),
		AssetName:       in.get(string(w.AssetName)),
		DetectionMethod: in.get(string(w.DetectionMethod)),
		DataSource:      in.get(string(w.DataSource)),
		ScanSource:      in.get(string(w.ScanSource)),
		GitUser:         in.get(string(w.GitUser)),
		FirstHash:       in.get(string(w.FirstHash)),
		FirstHashTime:   in.get(string(w.FirstHashTime)),
		PlatformID:      in.get(string(w.PlatformID)),
		FirstObserved:   w.FirstObserved.t,
		LastObserved:    w.LastObserved.t,
		SuppressionType: in.get(string(w.SuppressionType)),
	}
}

// interner keeps one copy of each repeated string of a listing. It stops
// growing at maxInterned entries so unique values cannot balloon it.
type interner map[string]string

const maxInterned = 1 << 14

func (in interner) get(s string) string {
	if s == "" || len(s) > 512 {
		return s
	}
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) < maxInterned {
		in[s] = s
	}
	return s
}
