package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Field names of the vendor's ScanIssuesResponse and ScanFindingsResponse;
// all of them are required there.
var (
	issueFields = []string{
		"issue_id", "scan_id", "severity", "alert_name", "detection_method", "asset_name", "file_path",
		"created", "repo_id", "pull_request_id", "run_id", "branch", "assignee", "resolution_status",
		"resolution_reason", "resolution_comment",
	}
	findingFields = []string{
		"scan_id", "issue_name", "name", "category", "description", "severity", "file_path", "branch",
		"asset_id", "asset_name", "detection_method", "data_source", "scan_source", "git_user",
		"first_hash", "first_hash_time", "platform_id", "first_observed", "last_observed", "suppression_type",
	}
)

// severities are the vendor's SeverityEnum, highest first.
var severities = []string{"Critical", "High", "Medium", "Low"}

// scanContext is what item defaults are derived from.
type scanContext struct {
	scanID, repoName, repoID, prID, runID, branch, date, commit, gitUser, dataSource, scanSource string
}

// issueType names the kind of problem a detection method finds, as the
// count maps issuesTypesBreakdown / findingsTypesBreakdown key it. The
// vendor does not enumerate the keys; the product docs show
// "Vulnerabilities", "Secrets", "IaC".
func issueType(method string) string {
	switch method {
	case "Cve Security":
		return "Vulnerabilities"
	case "Secrets Security":
		return "Secrets"
	case "IaC Security":
		return "IaC"
	case "License Security":
		return "Licenses"
	case "Operational Risk Security":
		return "Operational risk"
	case "":
		return "Other"
	}
	return method
}

// dataSource maps a scan's provider to the vendor's DataSource enum.
func dataSource(provider string) string {
	switch strings.ToUpper(provider) {
	case "GITLAB":
		return "GitLab"
	case "BITBUCKET":
		return "Bitbucket"
	case "AZURE_REPOS", "AZURE":
		return "Azure Repos"
	case "GITHUB_ENTERPRISE":
		return "GitHub Enterprise"
	}
	return "GitHub"
}

// itemID is a deterministic 32-hex-digit identifier, unique per scan, kind
// and index.
func itemID(scanID, kind string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", scanID, kind, i))
	return hex.EncodeToString(sum[:16])
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// completeIssue fills the fields an issue leaves out. The vendor schema
// requires every field and constrains resolution_reason to "Resolved - ..."
// values even for open issues; the simulator follows the schema, so open
// issues carry "Resolved - Other" there. Clients must go by
// resolution_status, never by resolution_reason.
func completeIssue(c *scanContext, i int, in map[string]string) map[string]string {
	m := make(map[string]string, len(issueFields))
	for k, v := range in {
		m[k] = v
	}
	setDefault(m, "issue_id", itemID(c.scanID, "issue", i))
	setDefault(m, "scan_id", c.scanID)
	setDefault(m, "severity", "Medium")
	setDefault(m, "alert_name", "Unnamed issue")
	setDefault(m, "detection_method", "Cve Security")
	setDefault(m, "file_path", "")
	if m["file_path"] != "" {
		setDefault(m, "asset_name", m["file_path"])
	}
	setDefault(m, "asset_name", c.repoName)
	setDefault(m, "created", c.date)
	setDefault(m, "repo_id", c.repoID)
	setDefault(m, "pull_request_id", c.prID)
	setDefault(m, "run_id", c.runID)
	setDefault(m, "branch", c.branch)
	setDefault(m, "assignee", "")
	setDefault(m, "resolution_status", "New")
	if strings.EqualFold(m["resolution_status"], "Resolved") {
		setDefault(m, "resolution_reason", "Resolved - Fixed")
	}
	setDefault(m, "resolution_reason", "Resolved - Other")
	setDefault(m, "resolution_comment", "")
	return m
}

// completeFinding fills the fields a finding leaves out. suppression_type is
// required by the vendor schema with the single value "Inline", so every
// finding carries it; clients must not read it as "suppressed".
func completeFinding(c *scanContext, i int, in map[string]string) map[string]string {
	m := make(map[string]string, len(findingFields))
	for k, v := range in {
		m[k] = v
	}
	setDefault(m, "scan_id", c.scanID)
	setDefault(m, "name", "Unnamed finding")
	setDefault(m, "issue_name", m["name"])
	setDefault(m, "detection_method", "Cve Security")
	setDefault(m, "category", issueType(m["detection_method"]))
	setDefault(m, "description", "")
	setDefault(m, "severity", "Medium")
	setDefault(m, "file_path", "")
	setDefault(m, "branch", c.branch)
	setDefault(m, "asset_id", itemID(c.scanID, "asset", i))
	if m["file_path"] != "" {
		setDefault(m, "asset_name", m["file_path"])
	}
	setDefault(m, "asset_name", c.repoName)
	setDefault(m, "data_source", c.dataSource)
	setDefault(m, "scan_source", c.scanSource)
	setDefault(m, "git_user", c.gitUser)
	setDefault(m, "first_hash", c.commit)
	setDefault(m, "first_hash_time", c.date)
	setDefault(m, "platform_id", "")
	setDefault(m, "first_observed", c.date)
	setDefault(m, "last_observed", c.date)
	setDefault(m, "suppression_type", "Inline")
	return m
}

// items is the issue or finding list of one scan: explicit items first,
// then generated ones, produced on demand so that a scan with 100,000
// findings costs no memory until a page of it is served.
type items struct {
	explicit []map[string]string // completed
	n        int                 // generated count
	gen      func(i int) map[string]string
	core     func(i int) (severity, method string)
}

func (it *items) len() int { return len(it.explicit) + it.n }

func (it *items) severity(i int) string {
	if i < len(it.explicit) {
		return it.explicit[i]["severity"]
	}
	s, _ := it.core(i - len(it.explicit))
	return s
}

func (it *items) method(i int) string {
	if i < len(it.explicit) {
		return it.explicit[i]["detection_method"]
	}
	_, m := it.core(i - len(it.explicit))
	return m
}

func (it *items) at(i int) map[string]string {
	if i < len(it.explicit) {
		return it.explicit[i]
	}
	return it.gen(i - len(it.explicit))
}

// counts returns the severity and type count maps. Every vendor severity is
// present (zero included), so a scan without issues says "none" rather than
// nothing; severities outside the enum are counted under their own name.
func (it *items) counts() (bySeverity, byType map[string]float64) {
	bySeverity = map[string]float64{}
	for _, s := range severities {
		bySeverity[s] = 0
	}
	byType = map[string]float64{}
	for i := range it.len() {
		bySeverity[titleSeverity(it.severity(i))]++
		byType[issueType(it.method(i))]++
	}
	return bySeverity, byType
}

// titleSeverity spells a known severity the vendor's way, whatever its case.
func titleSeverity(s string) string {
	for _, v := range severities {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return s
}

// The generator: a deterministic mix of the kinds of problems Cortex reports,
// with names and paths like real repositories have.

type pkg struct{ name, version, manifest string }

var packages = []pkg{
	{"lodash", "4.17.20", "package-lock.json"},
	{"minimist", "1.2.5", "web/package-lock.json"},
	{"express", "4.17.1", "services/api/package-lock.json"},
	{"jackson-databind", "2.9.10.8", "pom.xml"},
	{"log4j-core", "2.14.1", "ledger/build.gradle"},
	{"spring-web", "5.3.17", "services/billing/pom.xml"},
	{"requests", "2.25.0", "tools/requirements.txt"},
	{"urllib3", "1.26.4", "poetry.lock"},
	{"golang.org/x/net", "0.7.0", "go.mod"},
	{"github.com/gin-gonic/gin", "1.6.3", "services/gateway/go.mod"},
	{"openssl", "1.1.1k", "Dockerfile"},
	{"nokogiri", "1.11.1", "admin/Gemfile.lock"},
}

var secretKinds = []struct{ name, path string }{
	{"AWS Access Key ID", "config/settings.py"},
	{"GitHub Personal Access Token", "scripts/release.sh"},
	{"Slack Incoming Webhook URL", "deploy/.env.production"},
	{"Private RSA key", "certs/server.key"},
	{"Stripe live secret key", "services/checkout/src/main/resources/application.yml"},
	{"Generic high-entropy password", "tests/fixtures/credentials.json"},
}

var iacKinds = []struct{ name, path string }{
	{"S3 bucket allows public read access", "terraform/modules/storage/main.tf"},
	{"Security group allows SSH from 0.0.0.0/0", "terraform/network/security_groups.tf"},
	{"Container runs as root", "Dockerfile"},
	{"Kubernetes pod allows privilege escalation", "k8s/payments/deployment.yaml"},
	{"RDS instance storage is not encrypted", "terraform/modules/db/main.tf"},
	{"CloudTrail logging is disabled", "cloudformation/audit.yaml"},
	{"Helm chart sets no memory limit", "helm/payments/templates/deployment.yaml"},
}

var modules = []string{"", "services/checkout/", "services/ledger/", "services/notifications/", "libs/common/", "platform/"}

// mix is splitmix64: a cheap, well-spread hash of the seed and an index.
func mix(seed int64, i int, salt uint64) uint64 {
	z := uint64(seed)*0x9e3779b97f4a7c15 + uint64(i)*0xbf58476d1ce4e5b9 + salt
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// pick returns an index by weight.
func pick(r uint64, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := int(r % uint64(total))
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

var (
	genMethods       = []string{"Cve Security", "IaC Security", "Secrets Security", "License Security", "Operational Risk Security"}
	genMethodWeights = []int{45, 30, 10, 10, 5}
	genSevWeights    = []int{5, 20, 40, 35} // Critical, High, Medium, Low
)

// genCore is the severity and detection method of synthetic item i.
func genCore(seed int64, i int) (severity, method string) {
	return severities[pick(mix(seed, i, 1), genSevWeights)], genMethods[pick(mix(seed, i, 2), genMethodWeights)]
}

// genDetails names synthetic item i: a title, a file path, an asset and a
// description consistent with its detection method.
func genDetails(seed int64, i int, method string) (name, path, asset, description string) {
	r := mix(seed, i, 3)
	mod := modules[r%uint64(len(modules))]
	r >>= 8
	switch method {
	case "Cve Security":
		p := packages[r%uint64(len(packages))]
		year := 2019 + int(r>>8)%7
		num := 1000 + int(r>>16)%49000
		name = fmt.Sprintf("CVE-%d-%d in %s@%s", year, num, p.name, p.version)
		return name, mod + p.manifest, p.name + "@" + p.version,
			fmt.Sprintf("%s %s is affected by CVE-%d-%d; upgrade to a fixed version.", p.name, p.version, year, num)
	case "Secrets Security":
		s := secretKinds[r%uint64(len(secretKinds))]
		return s.name + " exposed", mod + s.path, mod + s.path, "A credential is committed in plain text; rotate it and remove it from history."
	case "IaC Security":
		k := iacKinds[r%uint64(len(iacKinds))]
		return k.name, mod + k.path, mod + k.path, k.name + "."
	case "License Security":
		p := packages[r%uint64(len(packages))]
		lic := []string{"AGPL-3.0", "GPL-3.0", "SSPL-1.0"}[int(r>>8)%3]
		return fmt.Sprintf("%s@%s is licensed under %s", p.name, p.version, lic), mod + p.manifest, p.name + "@" + p.version,
			"The package's license is not allowed by the organisation's policy."
	default:
		p := packages[r%uint64(len(packages))]
		return fmt.Sprintf("%s@%s is not maintained", p.name, p.version), mod + p.manifest, p.name + "@" + p.version,
			"The package has had no release in over two years."
	}
}

// genIssue is synthetic issue i (0-based among the generated ones); index
// is its place in the scan's whole list, for its id.
func genIssue(c *scanContext, seed int64, i, index int) map[string]string {
	sev, method := genCore(seed, i)
	name, path, asset, _ := genDetails(seed, i, method)
	status := []string{"New", "Under Investigation", "Resolved"}[pick(mix(seed, i, 4), []int{90, 5, 5})]
	return completeIssue(c, index, map[string]string{
		"severity": sev, "detection_method": method, "alert_name": name, "file_path": path,
		"asset_name": asset, "resolution_status": status,
	})
}

// genFinding is synthetic finding j. With synthetic issues it belongs to
// issue j mod issues (same name, severity and method), as several findings
// (occurrences) make up one issue.
func genFinding(c *scanContext, seed int64, issues, j, index int) map[string]string {
	k := j
	if issues > 0 {
		k = j % issues
	} else {
		seed ^= 0x5eed
	}
	sev, method := genCore(seed, k)
	name, path, asset, desc := genDetails(seed, k, method)
	return completeFinding(c, index, map[string]string{
		"severity": sev, "detection_method": method, "name": name, "issue_name": name,
		"file_path": path, "asset_name": asset, "description": desc,
	})
}

func genFindingCore(seed int64, issues, j int) (string, string) {
	if issues > 0 {
		return genCore(seed, j%issues)
	}
	return genCore(seed^0x5eed, j)
}
