package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/internal/ci"
)

func TestResolveBuild(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name          string
		v, c, d       string
		bi            *debug.BuildInfo
		want          buildInfo
		wantSubstring string
	}{
		{name: "release: ldflags win over the toolchain's record",
			v: "v1.2.3", c: "abc123", d: "2026-12-01T10:00:00Z",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "fff", "vcs.time", "2020-01-01T00:00:00Z", "vcs.modified", "true")},
			want: buildInfo{Version: "v1.2.3", Commit: "abc123", Date: "2026-12-01T10:00:00Z"}},
		{name: "go build in a checkout: the VCS revision and time",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "0123456789abcdef", "vcs.time", "2026-11-30T08:09:10Z", "vcs.modified", "false")},
			want: buildInfo{Version: "dev", Commit: "0123456789abcdef", Date: "2026-11-30T08:09:10Z"}},
		{name: "go build with uncommitted changes says so",
			bi:            &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "0123", "vcs.modified", "true")},
			want:          buildInfo{Version: "dev", Commit: "0123", Date: "unknown", Modified: true},
			wantSubstring: "commit 0123 (modified)"},
		{name: "go install @v1.4.0: the module version",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}},
			want: buildInfo{Version: "v1.4.0", Commit: "unknown", Date: "unknown"}},
		{name: "go install @latest of an untagged commit: the pseudo-version's commit and time",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202133000-abcdef123456"}},
			want: buildInfo{Version: "v0.0.0-20261202133000-abcdef123456", Commit: "abcdef123456", Date: "2026-12-02T13:30:00Z"}},
		{name: "a pre-release pseudo-version",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261202133000-abcdef123456"}},
			want: buildInfo{Version: "v1.4.1-0.20261202133000-abcdef123456", Commit: "abcdef123456", Date: "2026-12-02T13:30:00Z"}},
		{name: "nothing known",
			want: buildInfo{Version: "dev", Commit: "unknown", Date: "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveBuild(tc.v, tc.c, tc.d, tc.bi)
			got.GoVersion, got.Platform = "", ""
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			if tc.wantSubstring != "" && !strings.Contains(got.String(), tc.wantSubstring) {
				t.Fatalf("%q does not say %q", got.String(), tc.wantSubstring)
			}
		})
	}
}

// TestVersionCommandAndFlag checks that `entrawiz --version` and
// `entrawiz version [--json]` say the same build.
func TestVersionCommandAndFlag(t *testing.T) {
	want := currentBuild()
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		f := newFactory()
		f.Out, f.ErrOut = &out, &out
		root := newRootCmd(context.Background(), f)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("entrawiz %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	line := "entrawiz " + want.String() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if got := run(args...); got != line {
			t.Errorf("entrawiz %s = %q, want %q", args[0], got, line)
		}
	}
	var got buildInfo
	if err := json.Unmarshal([]byte(run("version", "--json")), &got); err != nil || got != want {
		t.Errorf("version --json = %+v, %v; want %+v", got, err, want)
	}
	if want.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("platform %q", want.Platform)
	}
}

// TestBuiltBinaryNamesItsCommit builds entrawiz as a release does (version
// stamped by -ldflags) with the toolchain's VCS stamping on, and checks that
// `entrawiz --version` names the stamped version and the checked-out
// commit, which nothing but the toolchain put there.
func TestBuiltBinaryNamesItsCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	top, err2 := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil || err2 != nil {
		if ci.Running() {
			t.Fatalf("CI runs in a git checkout: %v %v", err, err2)
		}
		t.Skip("not a git checkout")
	}
	// The toolchain stamps the commit only where .git is a directory (not
	// in a git worktree, whose .git is a file); CI's clone has one.
	if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !st.IsDir() {
		if ci.Running() {
			t.Fatalf("CI's checkout has no .git directory: %v", err)
		}
		t.Skip("a git worktree: the Go toolchain records no commit here")
	}
	bin := filepath.Join(t.TempDir(), "entrawiz")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	// Flags that change compilation (-trimpath) would rebuild every package;
	// -ldflags and VCS stamping change only the link.
	build := exec.Command("go", "build", "-buildvcs=true", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("entrawiz --version: %v\n%s", err, out)
	}
	wantPrefix := "entrawiz v9.8.7-test (commit " + strings.TrimSpace(string(rev))
	if !strings.HasPrefix(string(out), wantPrefix) || strings.Contains(string(out), "built unknown") {
		t.Fatalf("entrawiz --version = %q, want it to start %q and name the commit's time", out, wantPrefix)
	}
}
