// Command cortex-gate waits for the Cortex Cloud scan of a pull request or
// commit, reports its verdict, and fails the pipeline when it is blocked.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cortex-gate/cortex-gate/cli"

	// Fallback CA roots, used only when the system has none (a scratch
	// image, a bare container): the gate must still reach Cortex over TLS.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.System())
	stop()
	os.Exit(code)
}
