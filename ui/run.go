package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// Options are how the wizard talks to the terminal.
type Options struct {
	// Out is where the wizard draws: stderr, so stdout stays for --json.
	Out io.Writer
	// In is the keyboard (stdin when nil).
	In io.Reader
	// NoColor draws without colours (--no-color, NO_COLOR).
	NoColor bool
	// Accessible asks plain line prompts instead of a full-screen UI
	// (--accessible, TERM=dumb).
	Accessible bool
	// Width and Height fix the terminal size, for tests; zero means ask
	// the terminal.
	Width, Height int
}

// ErrQuit is returned by Run when the admin closes the wizard part way
// through. It wraps context.Canceled: nothing failed, the run was stopped,
// and whatever steps finished are saved for the next run.
var ErrQuit = fmt.Errorf("the wizard was closed before it finished: %w", context.Canceled)

// Run runs the wizard until the admin finishes or quits. It returns nil
// when the procedure finished (or the admin left the dashboard or the
// welcome screen), the failure the admin quit on, or ErrQuit.
func Run(ctx context.Context, b Backend, opts Options) error {
	if opts.Out == nil {
		opts.Out = os.Stderr
	}
	if opts.In == nil {
		opts.In = os.Stdin
	}
	if opts.Accessible {
		return runAccessible(ctx, b, opts)
	}
	m := newModel(ctx, b, opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(opts.Out), tea.WithInput(opts.In)}
	if opts.NoColor {
		// Belt and braces: the styles carry no colour, and the renderer
		// drops any a component adds.
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if opts.Width > 0 && opts.Height > 0 {
		popts = append(popts, tea.WithWindowSize(opts.Width, opts.Height))
	}
	final, err := tea.NewProgram(m, popts...).Run()
	if fm, ok := final.(*model); ok {
		fm.stop()
	}
	switch {
	case errors.Is(err, tea.ErrInterrupted), errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return ErrQuit
	case err != nil:
		return fmt.Errorf("run the wizard: %w", err)
	}
	if fm, ok := final.(*model); ok {
		return fm.result
	}
	return nil
}

// NewModel returns the wizard's root model, for tests and for embedding;
// Run is the usual entry point.
func NewModel(b Backend, opts Options) tea.Model {
	return newModel(context.Background(), b, opts)
}
