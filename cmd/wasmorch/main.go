// Command wasmorch is the wasmorch CLI; everything it does lives in package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wasmorch/wasmorch/cli"
)

func main() {
	// The first SIGINT/SIGTERM cancels the context so runs end as CANCELED and the store closes
	// cleanly; a second one kills the process the default way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
