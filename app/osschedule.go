package app

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/entrawiz/entrawiz/internal/schedule"
	"github.com/entrawiz/entrawiz/store"
)

// Scheduler is the machine's own scheduler as the App uses it; the zero
// value is the running OS's, for the current user.
type Scheduler struct {
	GOOS string
	Home string
	UID  int
	// Run runs the scheduler's commands (systemctl, launchctl,
	// schtasks); nil runs them for real.
	Run schedule.Runner
}

func (a *App) scheduler() (schedule.Host, string, error) {
	s := a.o.Scheduler
	if s.GOOS == "" {
		s.GOOS = runtime.GOOS
	}
	if s.Home == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return schedule.Host{}, "", &LocalError{What: "the home directory", Err: err, Remedy: "Set HOME (or USERPROFILE on Windows)."}
		}
		s.Home = home
	}
	if s.Run == nil {
		s.Run = func(name string, args ...string) (string, error) {
			out, err := exec.Command(name, args...).CombinedOutput()
			return string(out), err
		}
		s.UID = os.Getuid()
	}
	return schedule.Host{GOOS: s.GOOS, Run: s.Run, UID: s.UID}, s.Home, nil
}

// ScheduleRequest is a schedule to install, show or remove.
type ScheduleRequest struct {
	// Exe is the entrawiz binary the scheduler runs; Globals are the
	// global flags its runs need (the config directory, the cloud…).
	Exe     string
	Globals []string
	// Every overrides the profile's sync interval.
	Every time.Duration
}

// ScheduleStatus is a connection's schedule: the files installed, the
// jobs with their exact command lines, and when they run.
type ScheduleStatus struct {
	OS        string              `json:"os"`
	Installed bool                `json:"installed"`
	Files     []string            `json:"files,omitempty"`
	Jobs      []ScheduledJob      `json:"jobs,omitempty"`
	States    []schedule.JobState `json:"states,omitempty"`
	Logs      string              `json:"logs,omitempty"`
}

// ScheduledJob is one scheduled run.
type ScheduledJob struct {
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Every   string   `json:"every"`
}

// scheduleSpec is the schedule of a connection.
func (a *App) scheduleSpec(conn *store.Connection, req ScheduleRequest, home string) (schedule.Spec, error) {
	spec := schedule.Spec{Exe: req.Exe, Connection: conn.Name, Globals: req.Globals, Home: home,
		RotateWithin: DefaultExpiryWarning, RemoveOldAfter: 7 * 24 * time.Hour}
	p, err := profileOf(conn)
	if err != nil {
		return spec, err
	}
	if p.Sync != nil {
		spec.SyncEvery = time.Duration(p.Sync.Interval)
		if req.Every > 0 {
			spec.SyncEvery = req.Every
		}
	}
	return spec, nil
}

func logsWhere(goos, conn string) string {
	id := schedule.ID(conn)
	switch goos {
	case "linux":
		return "journalctl --user -u 'entrawiz-*-" + id + ".service'"
	case "darwin":
		return "~/Library/Logs/entrawiz/*-" + id + ".log"
	case "windows":
		return `Task Scheduler Library \entrawiz, History tab (Event Viewer: Microsoft-Windows-TaskScheduler/Operational)`
	}
	return ""
}

func (a *App) describeSchedule(h schedule.Host, spec schedule.Spec, withStates bool) *ScheduleStatus {
	st := &ScheduleStatus{OS: h.GOOS, Logs: logsWhere(h.GOOS, spec.Connection)}
	for _, j := range schedule.Jobs(spec) {
		every := j.Every.String()
		if j.Daily {
			every = "daily"
		}
		st.Jobs = append(st.Jobs, ScheduledJob{Name: j.Name, Command: j.Args, Every: every})
	}
	for _, f := range h.Installed(spec) {
		st.Files = append(st.Files, f.Path)
	}
	st.Installed = len(st.Files) > 0
	if st.Installed && withStates {
		st.States = h.States(spec)
	}
	return st
}

// InstallSchedule has the OS's scheduler run the connection's sync at its
// profile's interval (or req.Every) and a daily rotation that renews the
// client secret 30 days before it ends. The secret store is checked first:
// the scheduled runs read the secret from it with nobody there.
func (a *App) InstallSchedule(name string, req ScheduleRequest) (*ScheduleStatus, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, err
	}
	if !conn.Enabled {
		return nil, inputErrorf("the setup of %s did not finish: run `entrawiz setup` again before scheduling it", conn.Name)
	}
	if err := a.checkLocal(true); err != nil {
		return nil, err
	}
	h, home, err := a.scheduler()
	if err != nil {
		return nil, err
	}
	spec, err := a.scheduleSpec(conn, req, home)
	if err != nil {
		return nil, err
	}
	lock, err := a.lockConnection("schedule-" + conn.Name)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if _, err := h.Install(spec); err != nil {
		return nil, fmt.Errorf("install the schedule: %w", err)
	}
	return a.describeSchedule(h, spec, false), nil
}

// ShowSchedule describes the connection's schedule: what would be (or is)
// installed, and when its jobs run.
func (a *App) ShowSchedule(name string, req ScheduleRequest) (*ScheduleStatus, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, err
	}
	h, home, err := a.scheduler()
	if err != nil {
		return nil, err
	}
	spec, err := a.scheduleSpec(conn, req, home)
	if err != nil {
		return nil, err
	}
	return a.describeSchedule(h, spec, true), nil
}

// RemoveSchedule unloads the connection's scheduled jobs and deletes their
// files; it returns the files deleted.
func (a *App) RemoveSchedule(name string) ([]string, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, err
	}
	h, home, err := a.scheduler()
	if err != nil {
		return nil, err
	}
	spec, err := a.scheduleSpec(conn, ScheduleRequest{}, home)
	if err != nil {
		return nil, err
	}
	lock, err := a.lockConnection("schedule-" + conn.Name)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	return h.Remove(spec)
}

// scheduleStatus is the connection's installed schedule for `status`, or
// nil when none is installed.
func (a *App) scheduleStatus(conn *store.Connection) *ScheduleStatus {
	h, home, err := a.scheduler()
	if err != nil {
		return nil
	}
	spec, err := a.scheduleSpec(conn, ScheduleRequest{}, home)
	if err != nil {
		return nil
	}
	st := a.describeSchedule(h, spec, true)
	if !st.Installed {
		return nil
	}
	return st
}
