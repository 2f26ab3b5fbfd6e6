package sarif

// The subset of the SARIF 2.1.0 object model the gate writes, in the
// field order of the specification. Spec:
// https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html

type sarifLog struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []run  `json:"runs"`
}

type run struct {
	Tool                     tool                    `json:"tool"`
	Invocations              []invocation            `json:"invocations"`
	AutomationDetails        automationDetails       `json:"automationDetails"`
	VersionControlProvenance []versionControlDetails `json:"versionControlProvenance,omitempty"`
	Results                  []result                `json:"results"`
	Properties               map[string]any          `json:"properties"`
}

type tool struct {
	Driver driver `json:"driver"`
}

type driver struct {
	Name            string `json:"name"`
	InformationURI  string `json:"informationUri"`
	SemanticVersion string `json:"semanticVersion"`
	Rules           []rule `json:"rules"`
}

type rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     message        `json:"shortDescription"`
	FullDescription      message        `json:"fullDescription"`
	Help                 message        `json:"help"`
	DefaultConfiguration configuration  `json:"defaultConfiguration"`
	Properties           ruleProperties `json:"properties"`
}

type configuration struct {
	Level string `json:"level"`
}

type ruleProperties struct {
	Tags []string `json:"tags"`
	// SecuritySeverity is GitHub's score, a string, e.g. "9.5".
	SecuritySeverity string `json:"security-severity,omitempty"`
}

type message struct {
	Text string `json:"text"`
}

type invocation struct {
	ExecutionSuccessful        bool           `json:"executionSuccessful"`
	StartTimeUTC               string         `json:"startTimeUtc,omitempty"`
	EndTimeUTC                 string         `json:"endTimeUtc,omitempty"`
	ToolExecutionNotifications []notification `json:"toolExecutionNotifications,omitempty"`
}

type notification struct {
	Level   string  `json:"level"`
	Message message `json:"message"`
}

type automationDetails struct {
	ID string `json:"id"`
}

type versionControlDetails struct {
	RepositoryURI string `json:"repositoryUri"`
	RevisionID    string `json:"revisionId,omitempty"`
	Branch        string `json:"branch,omitempty"`
	// MappedTo says the repository's root is srcRoot, the base of every
	// artifact URI.
	MappedTo artifactLocation `json:"mappedTo"`
}

type result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             message           `json:"message"`
	Locations           []location        `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          resultProperties  `json:"properties"`
}

type resultProperties struct {
	Severity         string `json:"severity"`
	Category         string `json:"category"`
	DetectionMethod  string `json:"detectionMethod,omitempty"`
	IssueID          string `json:"issueId,omitempty"`
	AssetName        string `json:"assetName,omitempty"`
	FilePath         string `json:"filePath,omitempty"`
	ResolutionStatus string `json:"resolutionStatus,omitempty"`
	Blocking         bool   `json:"blocking"`
}

type location struct {
	PhysicalLocation physicalLocation `json:"physicalLocation"`
}

type physicalLocation struct {
	ArtifactLocation artifactLocation `json:"artifactLocation"`
	Region           region           `json:"region"`
}

type artifactLocation struct {
	URI       string `json:"uri,omitempty"`
	URIBaseID string `json:"uriBaseId"`
}

type region struct {
	StartLine int `json:"startLine"`
}
