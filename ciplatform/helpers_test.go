package ciplatform

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cortex-gate/cortex-gate/cortex"
)

// oracles is the shared, read-only oracle folder, seen from this package.
var oracles = filepath.Join("..", "..", "shared", "oracles")

// mapEnv is a getenv over a map.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// noFile is a readFile for environments that must not read any file.
func noFile(t *testing.T) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		t.Errorf("readFile(%q) called, want no file read", p)
		return nil, fs.ErrNotExist
	}
}

// files is a readFile over in-memory files.
func files(m map[string][]byte) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		b, ok := m[p]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		return b, nil
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to read oracle: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("failed to parse oracle %s: %v", path, err)
	}
}

// want is the part of a Context the detection tables check.
type want struct {
	Platform     Platform
	Event        string
	ScanType     cortex.ScanType
	Organization string
	Repository   string
	RepoPath     string
	Branch       string
	PRID         string
	CommitSHA    string
	Fork         bool
	Deleted      bool
}

func project(c Context) want {
	return want{c.Platform, c.Event, c.ScanType, c.Organization, c.Repository, c.RepoPath, c.Branch, c.PRID, c.CommitSHA, c.Fork, c.Deleted}
}

// hasNote reports whether some note contains every one of parts.
func hasNote(notes []string, parts ...string) bool {
	for _, n := range notes {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(n, p)
		}
		if all {
			return true
		}
	}
	return false
}

var errBoom = errors.New("permission denied")
