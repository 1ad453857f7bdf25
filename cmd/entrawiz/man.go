package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/entrawiz/entrawiz/app"
)

// newManCmd writes the man pages and the shell completions of the command
// tree into a directory, for release archives (.goreleaser.yaml runs it
// before the builds). It is hidden: admins get completions from the visible
// `entrawiz completion SHELL`, and the man pages from the archive.
func newManCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "man --dir DIR",
		Short:  "Write man pages (DIR/man) and shell completions (DIR/completions)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return &app.InputError{Err: errors.New("--dir is required: the directory to write man/ and completions/ into")}
			}
			return writeManAndCompletions(cmd.Root(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write man/ and completions/ into (created if missing)")
	return cmd
}

// writeManAndCompletions writes DIR/man/entrawiz*.1 and
// DIR/completions/entrawiz.{bash,fish,ps1} and _entrawiz (zsh).
func writeManAndCompletions(root *cobra.Command, dir string) error {
	// The default config directory is this machine's; a man page names the
	// rule instead of the generating machine's home directory.
	if f := root.PersistentFlags().Lookup("config-dir"); f != nil {
		f.DefValue = "(the user config directory)/entrawiz"
	}
	b := currentBuild()
	manDir, compDir := filepath.Join(dir, "man"), filepath.Join(dir, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("write man pages: %w", err)
		}
	}
	header := &doc.GenManHeader{Title: "ENTRAWIZ", Section: "1", Source: "entrawiz " + b.Version, Manual: "entrawiz manual"}
	root.DisableAutoGenTag = true
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("write man pages: %w", err)
	}
	for name, gen := range map[string]func(string) error{
		"entrawiz.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"_entrawiz":     root.GenZshCompletionFile,
		"entrawiz.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
		"entrawiz.ps1":  root.GenPowerShellCompletionFileWithDesc,
	} {
		if err := gen(filepath.Join(compDir, name)); err != nil {
			return fmt.Errorf("write completions: %w", err)
		}
	}
	return nil
}
