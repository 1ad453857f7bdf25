package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/ui"
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
  3    needs an admin action, such as granting consent or a new client secret
  4    sync stopped by a safety limit
  130  interrupted`

// declined is the admin answering no to a confirmation: nothing was done,
// and the exit code is that of an interruption.
type declined struct{ what string }

func (d declined) Error() string        { return d.what }
func (d declined) Is(target error) bool { return target == context.Canceled }

// errorReported is a failure already written in --json output on stdout;
// it is not written there again, and is still said on stderr.
type errorReported struct{ err error }

func (e errorReported) Error() string { return e.err.Error() }
func (e errorReported) Unwrap() error { return e.err }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var ie *app.InputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ie): // a flag or argument is wrong or missing
		return exitUsage
	}
	var se *steps.SafetyError
	if errors.As(err, &se) {
		return exitSyncSafety
	}
	var na *app.NeedsAdminError
	if errors.As(err, &na) {
		return exitAdminAction
	}
	var ge *graphapi.Error
	if errors.As(err, &ge) {
		switch ge.Kind {
		case graphapi.KindCanceled:
			return exitInterrupted
		case graphapi.KindConsentNeeded, graphapi.KindForbidden, graphapi.KindConditionalAccess, graphapi.KindSecretExpired:
			return exitAdminAction
		}
	}
	return exitError
}

// printError writes an error for the admin: what failed, then what to do.
// An interruption is said as such, not as "context canceled".
func printError(w io.Writer, err error) {
	w = ui.PrintableWriter(w)
	var d declined
	if errors.As(err, &d) {
		fmt.Fprintln(w, "entrawiz:", d.what)
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "entrawiz: interrupted; run it again to continue where it stopped")
		return
	}
	fmt.Fprintln(w, "entrawiz:", err)
	if info := app.Describe(err); info.Remedy != "" {
		fmt.Fprintln(w, "  →", info.Remedy)
	}
}

// jsonErrors gives a --json run's failure the one error shape on stdout;
// the exit code stays the error's.
func (f *factory) jsonErrors(jsonOut bool, err error) error {
	var er errorReported
	if err == nil || !jsonOut || errors.As(err, &er) {
		return err
	}
	return f.writeResult(map[string]any{}, err)
}

// usageArgs makes a command's argument check a usage error (exit code 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &app.InputError{Err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())}
		}
		return nil
	}
}
