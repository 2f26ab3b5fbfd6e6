package reporttest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ModuleRoot is the folder of the go.mod above the package under test.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatal("no go.mod above the package directory")
		}
	}
}

// Oracle is the absolute path of a file or folder under shared/oracles/,
// the read-only reference material beside the module root. A clean clone
// of the repository has no ../shared, so without it the test is skipped;
// under CI=true that is a failure, since CI must run the checks.
func Oracle(t testing.TB, elem ...string) string {
	t.Helper()
	path := filepath.Join(append([]string{ModuleRoot(t), "..", "shared", "oracles"}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared oracles missing in CI: %v", err)
		}
		t.Skipf("shared oracles not found: %v", err)
	}
	return path
}

type compiled struct {
	once   sync.Once
	schema *jsonschema.Schema
	err    error
}

// schemas holds each JSON Schema compiled once per test binary: parallel
// tests and fuzz runs validate thousands of reports against it.
var schemas sync.Map // path → *compiled

// Schema compiles the JSON Schema at path, asserting its formats ("uri",
// "date-time", ...) too, as the consumers of the reports do.
func Schema(t testing.TB, path string) *jsonschema.Schema {
	t.Helper()
	v, _ := schemas.LoadOrStore(path, new(compiled))
	c := v.(*compiled)
	c.once.Do(func() {
		compiler := jsonschema.NewCompiler()
		compiler.AssertFormat()
		c.schema, c.err = compiler.Compile(path)
	})
	if c.err != nil {
		t.Fatalf("failed to compile schema %s: %v", path, c.err)
	}
	return c.schema
}
