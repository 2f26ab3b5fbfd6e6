package config

import (
	"fmt"
	"strings"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// ScanTypeSetting is the scan-type setting: a concrete type, or auto.
type ScanTypeSetting string

const (
	ScanTypeAuto ScanTypeSetting = "auto"
	ScanTypePR   ScanTypeSetting = "pr"
	ScanTypeCI   ScanTypeSetting = "ci"
)

// Mode says whether a block fails the pipeline.
type Mode string

const (
	ModeEnforce Mode = "enforce"
	ModeReport  Mode = "report" // a block is reported but exits 0
)

// OnError says what an error or a timeout does to the pipeline.
type OnError string

const (
	OnErrorFail OnError = "fail"
	OnErrorPass OnError = "pass" // exit 0 with a loud warning
)

// PartialScan says how a PARTIALLY_COMPLETED scan is treated.
type PartialScan string

const (
	PartialAccept PartialScan = "accept" // decide on what was scanned, and warn
	PartialFail   PartialScan = "fail"   // an error
)

// CommentSetting turns the sticky PR/MR comment on or off.
type CommentSetting string

const (
	CommentAuto CommentSetting = "auto"
	CommentOff  CommentSetting = "off"
)

// enum parses v as one of accepted, case-insensitively.
func enum(v string, accepted ...string) (string, error) {
	for _, a := range accepted {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("want one of %s", strings.Join(accepted, ", "))
}

// parseThreshold reads fail-on-severity: "" (off) or a severity name.
func parseThreshold(v string) (cortex.Severity, error) {
	if v == "" || strings.EqualFold(v, "none") || strings.EqualFold(v, "off") {
		return cortex.SeverityUnknown, nil
	}
	switch s := cortex.ParseSeverity(v); s {
	case cortex.SeverityLow, cortex.SeverityMedium, cortex.SeverityHigh, cortex.SeverityCritical:
		return s, nil
	}
	return cortex.SeverityUnknown, fmt.Errorf("want one of critical, high, medium, low (or empty for off)")
}
