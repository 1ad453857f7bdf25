// Command entrawiz connects a product to a customer's Microsoft Entra ID
// tenant through Microsoft Graph.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(ctx, newFactory()).ExecuteContext(ctx)
	stop()
	if err != nil {
		printError(os.Stderr, err)
	}
	os.Exit(exitCode(err))
}
