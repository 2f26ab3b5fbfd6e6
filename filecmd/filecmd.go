// Package filecmd writes GitHub Actions file commands: step outputs to
// GITHUB_OUTPUT and markdown to GITHUB_STEP_SUMMARY.
//
// GitHub docs: https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands#environment-files
package filecmd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// SetOutputs appends outputs to the GITHUB_OUTPUT file at path, in the
// runner's format. Every value is written as a heredoc with a random
// delimiter, as actions/toolkit does, so no value (even one from a scan)
// can end its heredoc early and forge another output.
func SetOutputs(path string, outputs map[string]string) error {
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if err := formatOutput(&b, k, outputs[k]); err != nil {
			return err
		}
	}
	return appendFile(path, b.String())
}

func formatOutput(b *strings.Builder, key, value string) error {
	if key == "" || strings.ContainsAny(key, "=\r\n<") {
		return fmt.Errorf("invalid output name %q", key)
	}
	delim, err := delimiter()
	if err != nil {
		return err
	}
	if strings.Contains(value, delim) {
		return fmt.Errorf("output %s holds its own delimiter", key) // 1 in 2^128
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", key, delim, value, delim)
	return nil
}

func delimiter() (string, error) {
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("failed to make an output delimiter: %w", err)
	}
	return "ghadelimiter_" + hex.EncodeToString(buf[:]), nil
}

// AppendSummary appends markdown to the job summary at path; what was there
// stays. GitHub rejects a step summary over 1 MiB, so a longer one is an
// error here, before the runner drops it.
func AppendSummary(path, markdown string) error {
	const maxSummary = 1 << 20
	if len(markdown) > maxSummary {
		return fmt.Errorf("job summary is %d bytes, over GitHub's limit of %d", len(markdown), maxSummary)
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	return appendFile(path, markdown)
}

func appendFile(path, text string) (err error) {
	if path == "" {
		return errors.New("no file path given")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("failed to close %s: %w", path, cerr)
		}
	}()
	if _, err := f.WriteString(text); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}
