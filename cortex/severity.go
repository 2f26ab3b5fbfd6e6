package cortex

import "strings"

// Severity orders Cortex severities. The API writes them capitalised
// ("Critical"); any case is accepted.
type Severity int

const (
	SeverityUnknown Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "info", "low", "medium", "high", "critical"}

// ParseSeverity reads a severity in any case; anything else is SeverityUnknown.
func ParseSeverity(s string) Severity {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "informational" {
		return SeverityInfo
	}
	for i, n := range severityNames {
		if s == n {
			return Severity(i)
		}
	}
	return SeverityUnknown
}

// String is the lowercase name: "critical", "high", ...
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// Title is the name as Cortex writes it: "Critical", "High", ...
func (s Severity) Title() string {
	n := s.String()
	return strings.ToUpper(n[:1]) + n[1:]
}

// Category names the kind of problem a detection method finds, in the words
// the Cortex console uses for its count maps. Unknown methods are kept as is.
func Category(detectionMethod string) string {
	switch strings.ToLower(strings.TrimSpace(detectionMethod)) {
	case "cve security", "sca", "vulnerabilities":
		return "Vulnerabilities"
	case "secrets security", "secrets":
		return "Secrets"
	case "iac security", "iac":
		return "IaC"
	case "license security", "licenses":
		return "Licenses"
	case "operational risk security", "operational risk":
		return "Operational risk"
	case "":
		return "Other"
	}
	return detectionMethod
}
