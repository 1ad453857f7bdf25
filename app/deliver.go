package app

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// deliver runs the admin's command with the secret on its stdin.
func deliver(ctx context.Context, command, secret string) error {
	shell, flag := "sh", "-c"
	if runtime.GOOS == "windows" {
		shell, flag = "cmd", "/C"
	}
	c := exec.CommandContext(ctx, shell, flag, command)
	c.Stdin = strings.NewReader(secret)
	// A command whose children keep its output open must not hold
	// entrawiz once it has exited or been stopped.
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", command, err, strings.TrimSpace(strings.ReplaceAll(string(out), secret, "[secret]")))
	}
	return nil
}

// DeliverTo hands a secret to the product by running command (a shell
// command line) with the secret on its standard input: never in its
// arguments or environment, and never in the error when it fails.
func DeliverTo(command string) func(ctx context.Context, secret string) error {
	return func(ctx context.Context, secret string) error {
		return deliver(ctx, command, secret)
	}
}
