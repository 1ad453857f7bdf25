package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
)

type scheduleOptions struct {
	Connection string
	JSON       bool
	Every      time.Duration
}

func newScheduleCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Have the OS run the sync and renew the secret before it expires, unattended",
		Long: `Set up the operating system's own scheduler to run entrawiz with nobody there:
the sync at the profile's interval (or --every), and once a day
` + "`entrawiz rotate --if-expiring-within 30d --remove-old-after 7d --no-prompt`" + `,
which does nothing until the client secret is within 30 days of its end, then
rotates it by overlap (the old one is removed a week later).

  Linux    a systemd user timer and service (~/.config/systemd/user);
           logs: journalctl --user -u 'entrawiz-*'
  macOS    a launchd agent (~/Library/LaunchAgents); logs: ~/Library/Logs/entrawiz
  Windows  a Task Scheduler task (\entrawiz); history in Task Scheduler

The scheduled runs read the client secret from the OS keyring, and the rotation
signs you in from your saved sign-in; see docs/unattended.md for what each OS
needs for that with nobody logged in. ` + "`entrawiz status`" + ` shows when the jobs run next.`,
		Example: `  entrawiz schedule install
  entrawiz schedule install --connection contoso.onmicrosoft.com/directory-sync --every 15m
  entrawiz schedule show
  entrawiz schedule remove`,
		Args: usageArgs(cobra.NoArgs),
	}
	install := &scheduleOptions{}
	ic := &cobra.Command{
		Use:   "install",
		Short: "Install (or replace) the scheduled sync and daily rotation",
		Args:  usageArgs(cobra.NoArgs),
		RunE: runE(f, install, &install.JSON, nil, func(cmd *cobra.Command, f *factory, o *scheduleOptions) error {
			a, req, err := scheduleApp(cmd, f, o)
			if err != nil {
				return err
			}
			st, err := a.InstallSchedule(o.Connection, req)
			if err != nil {
				return err
			}
			return writeSchedule(f, o, st, "Installed")
		}),
	}
	show := &scheduleOptions{}
	sc := &cobra.Command{
		Use:   "show",
		Short: "Show the schedule: its jobs, exact command lines, files and next runs",
		Args:  usageArgs(cobra.NoArgs),
		RunE: runE(f, show, &show.JSON, nil, func(cmd *cobra.Command, f *factory, o *scheduleOptions) error {
			a, req, err := scheduleApp(cmd, f, o)
			if err != nil {
				return err
			}
			st, err := a.ShowSchedule(o.Connection, req)
			if err != nil {
				return err
			}
			return writeSchedule(f, o, st, "")
		}),
	}
	remove := &scheduleOptions{}
	rc := &cobra.Command{
		Use:   "remove",
		Short: "Remove the scheduled jobs and their files",
		Args:  usageArgs(cobra.NoArgs),
		RunE: runE(f, remove, &remove.JSON, nil, func(cmd *cobra.Command, f *factory, o *scheduleOptions) error {
			a, err := f.app(cmd)
			if err != nil {
				return err
			}
			removed, err := a.RemoveSchedule(o.Connection)
			if err != nil {
				return err
			}
			if o.JSON {
				return f.writeJSON(map[string]any{"removed": removed})
			}
			if len(removed) == 0 {
				fmt.Fprintln(f.Out, "No schedule was installed.")
			}
			for _, p := range removed {
				fmt.Fprintf(f.Out, "removed %s\n", p)
			}
			return nil
		}),
	}
	for _, c := range []struct {
		cmd  *cobra.Command
		opts *scheduleOptions
	}{{ic, install}, {sc, show}, {rc, remove}} {
		connectionFlags(c.cmd.Flags(), &c.opts.Connection, &c.opts.JSON)
	}
	ic.Flags().DurationVar(&install.Every, "every", 0, "sync this often instead of the profile's interval, e.g. 15m")
	sc.Flags().DurationVar(&show.Every, "every", 0, "show the schedule with this sync interval")
	cmd.AddCommand(ic, sc, rc)
	return cmd
}

// scheduleApp is the App and the request for a schedule: the running
// binary, and the global flags its scheduled runs need to reach the same
// tenant and config.
func scheduleApp(cmd *cobra.Command, f *factory, o *scheduleOptions) (*app.App, app.ScheduleRequest, error) {
	if o.Every != 0 && (o.Every < time.Minute || o.Every > app.MaxSyncInterval) {
		return nil, app.ScheduleRequest{}, &app.InputError{Err: fmt.Errorf("--every must be between 1m and %s", app.MaxSyncInterval)}
	}
	a, err := f.app(cmd)
	if err != nil {
		return nil, app.ScheduleRequest{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, app.ScheduleRequest{}, fmt.Errorf("find the entrawiz binary to schedule: %w", err)
	}
	if f.Exe != "" {
		exe = f.Exe
	}
	return a, app.ScheduleRequest{Exe: exe, Globals: scheduledGlobals(f.Global), Every: o.Every}, nil
}

// scheduledGlobals are the global flags a scheduled run is given: the
// config directory always (absolute), the endpoints when not the default.
func scheduledGlobals(g *globalOptions) []string {
	dir, err := filepath.Abs(g.ConfigDir)
	if err != nil {
		dir = g.ConfigDir
	}
	out := []string{"--config-dir", dir}
	add := func(flag, v, def string) {
		if v != "" && v != def {
			out = append(out, flag, v)
		}
	}
	add("--cloud", g.Cloud, "public")
	add("--login-url", g.LoginURL, "")
	add("--graph-url", g.GraphURL, "")
	if g.CAFile != "" {
		ca, err := filepath.Abs(g.CAFile)
		if err != nil {
			ca = g.CAFile
		}
		out = append(out, "--ca-file", ca)
	}
	add("--admin-client-id", g.AdminClientID, "14d82eec-204b-4c2f-b7e8-296a70dab67e")
	return out
}

func writeSchedule(f *factory, o *scheduleOptions, st *app.ScheduleStatus, verb string) error {
	if o.JSON {
		return f.writeJSON(st)
	}
	switch {
	case verb != "":
		fmt.Fprintf(f.Out, "%s for %s:\n", verb, st.OS)
	case st.Installed:
		fmt.Fprintf(f.Out, "Installed on this machine (%s):\n", st.OS)
	default:
		fmt.Fprintf(f.Out, "Not installed; `entrawiz schedule install` would set up (%s):\n", st.OS)
	}
	for _, j := range st.Jobs {
		fmt.Fprintf(f.Out, "  %-6s %-8s %s\n", j.Name, j.Every, strings.Join(j.Command, " "))
	}
	for _, s := range st.States {
		line := "  " + s.Name + ":"
		if !s.Next.IsZero() {
			line += " next " + s.Next.Local().Format("2006-01-02 15:04")
		}
		if !s.Last.IsZero() {
			line += " last " + s.Last.Local().Format("2006-01-02 15:04")
		}
		if s.Note != "" {
			line += " " + s.Note
		}
		fmt.Fprintln(f.Out, line)
	}
	for _, p := range st.Files {
		fmt.Fprintf(f.Out, "  file   %s\n", p)
	}
	if st.Logs != "" {
		fmt.Fprintf(f.Out, "  logs   %s\n", st.Logs)
	}
	return nil
}
