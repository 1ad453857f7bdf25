// Package ci tells the tests whether they run in continuous integration.
//
// Some tests need what a developer's machine may lack: the real OS keyring
// (Secret Service under dbus-run-session with an unlocked gnome-keyring),
// tmux for the terminal end-to-end run, the shared wire-format fixtures
// checked out next to the repository. Outside CI they skip and say why; in
// CI they must run, so a missing piece fails there instead of passing
// unseen. Every such test asks Running, so "in CI" means one thing.
package ci

import "os"

// Running reports whether the tests run in CI: the environment variable CI
// is set to anything but "" or "false" (CI services set CI=true; a developer
// can set CI=1 to run the suite as CI does, or CI=false to say it is not).
func Running() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false"
}
