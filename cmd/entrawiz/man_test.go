package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/app"
)

// TestManPagesAndCompletions generates what a release archive carries and
// checks that every visible command has a man page that teaches its flags,
// that no machine path leaks into it, and that each shell's completion
// script is the real one for this command tree.
func TestManPagesAndCompletions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space", "ünïcode")
	f := newFactory()
	var out bytes.Buffer
	f.Out, f.ErrOut = &out, &out
	root := newRootCmd(context.Background(), f)
	root.SetArgs([]string{"man", "--dir", dir})
	if err := root.Execute(); err != nil {
		t.Fatalf("entrawiz man: %v", err)
	}
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			if _, err := os.Stat(filepath.Join(dir, "man", "entrawiz-"+c.Name()+".1")); err == nil {
				t.Errorf("hidden command %s has a man page", c.Name())
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "man", "entrawiz-"+c.Name()+".1"))
		if err != nil {
			t.Errorf("no man page for %s: %v", c.Name(), err)
			continue
		}
		if !strings.HasPrefix(string(b), ".nh\n.TH \"ENTRAWIZ\" \"1\"") || !strings.Contains(string(b), ".SH SYNOPSIS") {
			t.Errorf("man page of %s is not roff with a synopsis:\n%.200s", c.Name(), b)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "man", "entrawiz.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Exit codes", `\fB--config-dir\fP="(the user config directory)/entrawiz"`, `\fBentrawiz-setup(1)\fP`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("entrawiz.1 does not say %q", want)
		}
	}
	if home, err := os.UserHomeDir(); err == nil && strings.Contains(string(page), home) {
		t.Errorf("entrawiz.1 names this machine's home directory %s", home)
	}
	for name, want := range map[string]string{
		"entrawiz.bash": "__start_entrawiz",
		"_entrawiz":     "#compdef entrawiz",
		"entrawiz.fish": "complete -c entrawiz",
		"entrawiz.ps1":  "Register-ArgumentCompleter",
	} {
		b, err := os.ReadFile(filepath.Join(dir, "completions", name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("completion %s: %v; want it to contain %q", name, err, want)
		}
	}
	// The completion command admins use answers for this tree.
	out.Reset()
	root = newRootCmd(context.Background(), f)
	root.SetArgs([]string{"__complete", "ro"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "rotate") {
		t.Errorf("completing %q: %v\n%s", "ro", err, out.String())
	}
}

func TestManNeedsADirectory(t *testing.T) {
	f := newFactory()
	var out bytes.Buffer
	f.Out, f.ErrOut = &out, &out
	root := newRootCmd(context.Background(), f)
	root.SetArgs([]string{"man"})
	err := root.Execute()
	var ie *app.InputError
	if !errors.As(err, &ie) || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--dir") {
		t.Fatalf("entrawiz man without --dir: %v (exit %d), want a usage error naming --dir", err, exitCode(err))
	}
}
