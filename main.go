// Command cortex-gate waits for the Cortex Cloud scan of a pull request or
// commit, reports its verdict, and fails the pipeline when it is blocked.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/cortex-gate/cortex-gate/cli"

	// Fallback CA roots, used only when the system has none (a scratch
	// image, a bare container): the gate must still reach Cortex over TLS.
	_ "golang.org/x/crypto/x509roots/fallback"
)

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT
// sets one. Below it the collector paces as usual (GOGC); near it, it
// works harder instead of letting the heap grow to twice what is live, so
// a huge scan (50,000 issues, 100,000 findings) stays within a small
// runner's memory. It is soft: a larger scan still runs, only with more
// collection.
const memoryLimit = 80 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" { // as the runtime reads it: empty is unset
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.System())
	stop()
	os.Exit(code)
}
