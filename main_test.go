package main

import (
	"debug/elf"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cortex-gate/cortex-gate/simulator"
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

// TestHTTPSProxyAndPrivateCA: behind a corporate proxy, the gate reaches a
// tenant through HTTPS_PROXY (a CONNECT tunnel) and trusts the tenant's
// certificate through ca-cert. It runs the binary: Go reads the proxy
// variables once per process.
func TestHTTPSProxyAndPrivateCA(t *testing.T) {
	t.Parallel()
	bin := buildStatic(t)
	sc, err := simulator.Load("passed-pr")
	if err != nil {
		t.Fatal(err)
	}
	tenant := httptest.NewTLSServer(simulator.New(sc, simulator.Options{}))
	defer tenant.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tenant.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var tunnels []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		tunnels = append(tunnels, r.Host)
		mu.Unlock()
		// Every host is the tenant: the certificate is valid for example.com.
		upstream, err := net.Dial("tcp", tenant.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() { _, _ = io.Copy(upstream, rw); upstream.Close() }()
		_, _ = io.Copy(conn, upstream)
		conn.Close()
	}))
	defer proxy.Close()

	_, port, _ := net.SplitHostPort(tenant.Listener.Addr().String())
	cmd := exec.Command(bin, "run", "--api-url", "https://example.com:"+port, "--ca-cert", ca,
		"--api-key-id", simulator.DemoKeyID, "--scan-type", "pr", "--organization", "acme", "--repository", "payments-api",
		"--pr-id", "42", "--commit-sha", "d9d6128af542cff33e8bbe3675aaafaa9e1a2710", "--poll-interval", "200ms", "--timeout", "30s")
	cmd.Env = []string{"HTTPS_PROXY=" + proxy.URL, "CORTEX_API_KEY=" + simulator.DemoKey}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gate behind the proxy: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tunnels) == 0 || tunnels[0] != "example.com:"+port {
		t.Errorf("proxy tunnels %v, want CONNECT example.com:%s", tunnels, port)
	}
}
