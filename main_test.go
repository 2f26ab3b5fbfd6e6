package main

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// buildStatic builds the binary as the Dockerfile does.
func buildStatic(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cortex-gate")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryIsStaticAndDemoRunsWithNothingAround is what can be tested of
// the container without Docker: the binary needs no ELF interpreter (no
// libc), and demo works with an empty environment, no HOME and no CA files.
func TestBinaryIsStaticAndDemoRunsWithNothingAround(t *testing.T) {
	t.Parallel()
	bin := buildStatic(t)
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatal("the binary has an ELF interpreter: it is not static and will not run in a scratch image")
			}
		}
		for _, s := range f.Sections {
			if s.Name == ".dynamic" {
				t.Fatal("the binary is dynamically linked")
			}
		}
	}
	if fi, _ := os.Stat(bin); fi.Size() > 20<<20 {
		t.Errorf("binary is %d bytes, over the 20 MB target", fi.Size())
	}

	dir := t.TempDir()
	cmd := exec.Command(bin, "demo")
	cmd.Dir = dir
	cmd.Env = []string{} // no HOME, no PATH, no SSL_CERT_FILE
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("demo: err %v, want exit 1 (blocked)\n%s", err, out)
	}
	for _, want := range []string{"Waiting for", "blocked", "In a pipeline this step would exit 1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"cortex-gate.json", "cortex-gate.sarif", "junit.xml", "gl-code-quality-report.json", "comment.md", "summary.md", "outputs.txt"} {
		if fi, err := os.Stat(filepath.Join(dir, "cortex-gate-demo", f)); err != nil || fi.Size() == 0 {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}

	v, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "cortex-gate ") {
		t.Errorf("version: %q, %v", v, err)
	}
}
