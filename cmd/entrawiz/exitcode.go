package main

import (
	"context"
	"errors"
)

// Exit codes, the one place they are defined; the root command's help lists
// them.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitAdminAction = 3   // needs an admin action such as consent
	exitSyncSafety  = 4   // sync stopped by a safety limit
	exitInterrupted = 130 // Ctrl-C or SIGTERM
)

const exitCodesHelp = `Exit codes:
  0    ok
  1    error
  2    usage error (a flag or argument is wrong or missing)
  3    needs an admin action, such as granting consent
  4    sync stopped by a safety limit
  130  interrupted`

// errSilent marks an error that has already been reported to the user.
var errSilent = errors.New("already reported")

// usageError is a mistake in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitError
}
