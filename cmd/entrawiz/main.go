// Command entrawiz connects a product to a customer's Microsoft Entra ID
// tenant through Microsoft Graph.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(ctx).ExecuteContext(ctx)
	stop()
	code := exitCode(err)
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintln(os.Stderr, "entrawiz:", err)
	}
	os.Exit(code)
}
