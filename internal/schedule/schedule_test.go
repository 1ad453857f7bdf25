package schedule

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/internal/ci"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// spec is a connection whose name, paths and flags hold the characters
// each format must escape: a space, %, $, &, < and a quote.
func spec(home string) Spec {
	return Spec{Exe: "/opt/entra wiz/bin/entrawiz", Connection: "contoso.onmicrosoft.com/directory-sync",
		Globals:   []string{"--config-dir", home + "/.config/entrawiz 100%", "--login-url", "https://login.example.com/?a=1&b=$x"},
		SyncEvery: 5 * time.Minute, RotateWithin: 30 * 24 * time.Hour, RemoveOldAfter: 7 * 24 * time.Hour, Home: home}
}

// TestFilesAreExactlyThese pins every OS's files byte for byte: a change
// to what the scheduler is given is a change to review.
func TestFilesAreExactlyThese(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		files, err := Files(goos, spec("/home/ada"))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, f := range files {
			b.WriteString("==> " + filepath.ToSlash(f.Path) + "\n" + f.Content)
		}
		golden := filepath.Join("testdata", goos+".golden")
		if *update {
			os.WriteFile(golden, []byte(b.String()), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s files differ from %s:\n%s", goos, golden, b.String())
		}
	}
}

// TestJobsRunWhatTheyPromise: the sync at the interval, the daily
// rotation within 30 days with a week's overlap, never prompting.
func TestJobsRunWhatTheyPromise(t *testing.T) {
	jobs := Jobs(spec("/h"))
	if len(jobs) != 2 || jobs[0].Name != "sync" || jobs[0].Every != 5*time.Minute || jobs[1].Name != "rotate" || !jobs[1].Daily {
		t.Fatalf("jobs: %+v", jobs)
	}
	want := "rotate --connection contoso.onmicrosoft.com/directory-sync --if-expiring-within 30d --remove-old-after 7d --no-prompt"
	if got := strings.Join(jobs[1].Args[5:], " "); got != want {
		t.Errorf("rotate job runs %q, want %q", got, want)
	}
	noSync := spec("/h")
	noSync.SyncEvery = 0
	if j := Jobs(noSync); len(j) != 1 || j[0].Name != "rotate" {
		t.Errorf("a profile without sync schedules %+v", j)
	}
}

// TestSystemdVerifiesTheUnits runs systemd's own checker on the Linux
// files. It needs systemd-analyze: skipped without it, required in CI.
func TestSystemdVerifiesTheUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if ci.Running() {
			t.Fatal("systemd-analyze is required in CI (apt-get install systemd): the generated units must be verified")
		}
		t.Skip("systemd-analyze is not installed here; CI runs this check")
	}
	home := t.TempDir()
	s := spec(home)
	// The unit's binary must exist for verify to pass.
	s.Exe = filepath.Join(home, "bin dir", "entrawiz")
	os.MkdirAll(filepath.Dir(s.Exe), 0o755)
	os.WriteFile(s.Exe, []byte("#!/bin/sh\n"), 0o755)
	var paths []string
	for _, f := range Systemd(s) {
		os.MkdirAll(filepath.Dir(f.Path), 0o755)
		if err := os.WriteFile(f.Path, []byte(f.Content), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, f.Path)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	// verify of user units outside a user session complains about the
	// session, not the units: only lines naming our files count.
	var bad []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "entrawiz-") {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(bad, "\n"))
	}
	t.Logf("systemd-analyze verify %d units: %v %s", len(paths), err, strings.TrimSpace(string(out)))
}

// TestInstallAndRemoveRunTheScheduler: Install writes the files and has
// the scheduler load them; Remove unloads and deletes them (exact commands).
func TestInstallAndRemoveRunTheScheduler(t *testing.T) {
	for _, tc := range []struct {
		goos          string
		install, drop []string
	}{
		{"linux", []string{"systemctl --user daemon-reload",
			"systemctl --user enable --now entrawiz-sync-contoso.onmicrosoft.com-directory-sync.timer",
			"systemctl --user enable --now entrawiz-rotate-contoso.onmicrosoft.com-directory-sync.timer"},
			[]string{"systemctl --user disable --now entrawiz-sync-contoso.onmicrosoft.com-directory-sync.timer",
				"systemctl --user disable --now entrawiz-rotate-contoso.onmicrosoft.com-directory-sync.timer", "systemctl --user daemon-reload"}},
		{"windows", []string{`schtasks /Create /F /TN \entrawiz\sync-contoso.onmicrosoft.com-directory-sync /XML <sync>`,
			`schtasks /Create /F /TN \entrawiz\rotate-contoso.onmicrosoft.com-directory-sync /XML <rotate>`},
			[]string{`schtasks /Delete /F /TN \entrawiz\sync-contoso.onmicrosoft.com-directory-sync`,
				`schtasks /Delete /F /TN \entrawiz\rotate-contoso.onmicrosoft.com-directory-sync`}},
	} {
		home := t.TempDir()
		var ran []string
		h := Host{GOOS: tc.goos, UID: 501, Run: func(name string, args ...string) (string, error) {
			ran = append(ran, name+" "+strings.Join(args, " "))
			return "", nil
		}}
		files, err := h.Install(spec(home))
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.install {
			tc.install[i] = strings.NewReplacer("<sync>", files[0].Path, "<rotate>", files[len(files)-1].Path).Replace(tc.install[i])
		}
		if strings.Join(ran, "\n") != strings.Join(tc.install, "\n") {
			t.Errorf("%s install ran:\n%s\nwant:\n%s", tc.goos, strings.Join(ran, "\n"), strings.Join(tc.install, "\n"))
		}
		if got := h.Installed(spec(home)); len(got) != len(files) || got[0].Content != files[0].Content {
			t.Errorf("%s: installed files do not read back", tc.goos)
		}
		ran = nil
		removed, err := h.Remove(spec(home))
		if err != nil || len(removed) != len(files) {
			t.Errorf("%s remove: %v, %d of %d files", tc.goos, err, len(removed), len(files))
		}
		if strings.Join(ran, "\n") != strings.Join(tc.drop, "\n") {
			t.Errorf("%s remove ran:\n%s\nwant:\n%s", tc.goos, strings.Join(ran, "\n"), strings.Join(tc.drop, "\n"))
		}
		if len(h.Installed(spec(home))) != 0 {
			t.Errorf("%s: files left after remove", tc.goos)
		}
	}
}

// TestWindowsArgsSplitBack: the Arguments element splits back into the
// same words by the C runtime's rules.
func TestWindowsArgsSplitBack(t *testing.T) {
	got := windowsArgs([]string{"--config-dir", `C:\Users\Ada Lovelace\AppData\entrawiz\`, `say "hi"`, "plain"})
	want := `--config-dir "C:\Users\Ada Lovelace\AppData\entrawiz\\" "say \"hi\"" plain`
	if got != want {
		t.Errorf("windowsArgs = %s, want %s", got, want)
	}
}
