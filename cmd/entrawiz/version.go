package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Stamped by the release build (.goreleaser.yaml):
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// A plain `go build` or `go run` leaves them empty and the build's own
// record (runtime/debug.ReadBuildInfo) is used instead.
var (
	version string
	commit  string
	date    string
)

// buildInfo says which entrawiz this is.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// String is the one line `entrawiz --version` prints after the name.
func (b buildInfo) String() string {
	c := b.Commit
	if b.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s %s)", b.Version, c, b.Date, b.GoVersion, b.Platform)
}

// pseudoVersionRe takes the commit and its time out of a Go pseudo-version
// such as v0.0.0-20261202133000-abcdef123456, which is what
// `go install …@latest` records for a commit without a release tag.
var pseudoVersionRe = regexp.MustCompile(`[-.](\d{14})-([0-9a-f]{12})$`)

// currentBuild is this binary's build.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return resolveBuild(version, commit, date, bi)
}

// resolveBuild prefers what the release build stamped (v, c, d) and falls
// back, piece by piece, to what the Go toolchain recorded: the module
// version (`go install …@v1.2.3`), the VCS revision and time (`go build` in
// a checkout), or a pseudo-version's commit.
func resolveBuild(v, c, d string, bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = c == "" && s.Value == "true"
			}
		}
		if m := pseudoVersionRe.FindStringSubmatch(bi.Main.Version); m != nil && b.Commit == "" {
			b.Commit = m[2]
			if b.Date == "" {
				t := m[1]
				b.Date = t[0:4] + "-" + t[4:6] + "-" + t[6:8] + "T" + t[8:10] + ":" + t[10:12] + ":" + t[12:14] + "Z"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// versionTemplate is what `entrawiz --version` prints.
const versionTemplate = "entrawiz {{.Version}}\n"

func newVersionCmd(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Long: `Print which entrawiz this is: its version, the commit it was built from, when,
and with which Go for which platform. Support asks for this line.

A release says its tag; a binary from ` + "`go install …@latest`" + ` or a build in a
checkout says what the Go toolchain recorded (the module version, or the commit
and its time).`,
		Example: "  entrawiz version\n  entrawiz --version\n  entrawiz version --json",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := currentBuild()
			if asJSON {
				enc := json.NewEncoder(f.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			}
			_, err := fmt.Fprintf(f.Out, "entrawiz %s\n", b)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the build as a JSON object")
	return cmd
}
