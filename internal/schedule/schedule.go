// Package schedule writes the files that make the operating system's own
// scheduler run entrawiz unattended: a systemd user timer and service on
// Linux, a launchd agent on macOS, a Task Scheduler task on Windows. Each
// OS's files come from one pure function of a Spec, so their exact content
// is tested on every OS; Install and Remove touch only the running one's.
package schedule

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Spec is what to schedule for one connection.
type Spec struct {
	// Exe is the absolute path of the entrawiz binary to run.
	Exe string
	// Connection is the connection's name, as `entrawiz status` shows it.
	Connection string
	// Globals are the global flags the runs need (--config-dir, --cloud,
	// --login-url, --graph-url, --ca-file), in order.
	Globals []string
	// SyncEvery is how often the sync runs; zero: no sync job (a profile
	// that does not sync users).
	SyncEvery time.Duration
	// RotateWithin is how near its end the client secret is rotated by the
	// daily job (30 days); RemoveOldAfter is how long the replaced secret
	// stays on the app for the product to pick up the new one.
	RotateWithin, RemoveOldAfter time.Duration
	// Home is the user's home directory (where the files go); LogDir is
	// where macOS logs are written (~/Library/Logs/entrawiz).
	Home string
}

// Job is one scheduled run: its name ("sync", "rotate"), the exact command
// line, and how often it runs.
type Job struct {
	Name  string
	Args  []string // Args[0] is the binary
	Every time.Duration
	Daily bool
}

// File is one file a scheduler reads, by its absolute path.
type File struct {
	Path    string
	Content string
}

// ID is the connection's name made safe for a unit, label or task name:
// "contoso.onmicrosoft.com/directory-sync" → "contoso.onmicrosoft.com-directory-sync".
func ID(connection string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(connection) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Jobs are the runs a spec schedules: the sync at its interval, and the
// daily rotation that does nothing until the secret is near its end.
func Jobs(s Spec) []Job {
	base := append([]string{s.Exe}, s.Globals...)
	var out []Job
	if s.SyncEvery > 0 {
		out = append(out, Job{Name: "sync", Every: s.SyncEvery,
			Args: append(append([]string{}, base...), "sync", "--connection", s.Connection)})
	}
	out = append(out, Job{Name: "rotate", Every: 24 * time.Hour, Daily: true,
		Args: append(append([]string{}, base...), "rotate", "--connection", s.Connection,
			"--if-expiring-within", days(s.RotateWithin), "--remove-old-after", days(s.RemoveOldAfter), "--no-prompt")})
	return out
}

// days spells a duration as entrawiz's day flags take it: "30d", or a Go
// duration when it is not whole days.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Names of the scheduled units, labels and tasks.
func unitName(s Spec, job string) string     { return "entrawiz-" + job + "-" + ID(s.Connection) }
func launchdLabel(s Spec, job string) string { return "com.entrawiz." + job + "." + ID(s.Connection) }

// TaskName is the Task Scheduler path of a job's task.
func TaskName(s Spec, job string) string { return `\entrawiz\` + job + "-" + ID(s.Connection) }

// Paths are where each OS keeps the files for a spec.
func systemdDir(home string) string    { return filepath.Join(home, ".config", "systemd", "user") }
func launchdDir(home string) string    { return filepath.Join(home, "Library", "LaunchAgents") }
func launchdLogDir(home string) string { return filepath.Join(home, "Library", "Logs", "entrawiz") }
func windowsDir(home string) string {
	return filepath.Join(home, "AppData", "Roaming", "entrawiz", "tasks")
}

// Files are the files for goos ("linux", "darwin", "windows").
func Files(goos string, s Spec) ([]File, error) {
	switch goos {
	case "linux":
		return Systemd(s), nil
	case "darwin":
		return Launchd(s), nil
	case "windows":
		return TaskScheduler(s), nil
	}
	return nil, fmt.Errorf("entrawiz cannot schedule runs on %s: run `entrawiz sync` and `entrawiz rotate --if-expiring-within 30d` from your own scheduler", goos)
}

// Systemd is a service and a timer per job, for `systemctl --user`; the
// runs' output goes to the user's journal.
func Systemd(s Spec) []File {
	dir := systemdDir(s.Home)
	var out []File
	for _, j := range Jobs(s) {
		name := unitName(s, j.Name)
		service := fmt.Sprintf(`[Unit]
Description=entrawiz %s of %s

[Service]
Type=oneshot
ExecStart=%s
`, j.Name, systemdEscape(s.Connection), systemdCommand(j.Args))
		var timer string
		if j.Daily {
			timer = fmt.Sprintf(`[Unit]
Description=entrawiz %s of %s, daily

[Timer]
OnCalendar=daily
Persistent=true
RandomizedDelaySec=1h

[Install]
WantedBy=timers.target
`, j.Name, systemdEscape(s.Connection))
		} else {
			timer = fmt.Sprintf(`[Unit]
Description=entrawiz %s of %s, every %s

[Timer]
OnActiveSec=1min
OnUnitActiveSec=%ds
RandomizedDelaySec=%ds

[Install]
WantedBy=timers.target
`, j.Name, systemdEscape(s.Connection), j.Every, int(j.Every.Seconds()), max(int(j.Every.Seconds())/10, 1))
		}
		out = append(out, File{Path: filepath.Join(dir, name+".service"), Content: service},
			File{Path: filepath.Join(dir, name+".timer"), Content: timer})
	}
	return out
}

// systemdCommand quotes a command line for ExecStart: every word in double
// quotes with \ and " escaped, % as %% and $ as $$ (no specifier or
// variable is expanded).
func systemdCommand(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		a = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a)
		q[i] = `"` + systemdEscape(a) + `"`
	}
	return strings.Join(q, " ")
}

func systemdEscape(s string) string {
	return strings.NewReplacer("%", "%%", "$", "$$", "\n", " ").Replace(s)
}

// Launchd is a launch agent per job for `launchctl bootstrap gui/<uid>`;
// the runs' output goes to ~/Library/Logs/entrawiz.
func Launchd(s Spec) []File {
	var out []File
	for _, j := range Jobs(s) {
		label := launchdLabel(s, j.Name)
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlEscape(label) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
		for _, a := range j.Args {
			b.WriteString("\t\t<string>" + xmlEscape(a) + "</string>\n")
		}
		b.WriteString("\t</array>\n")
		if j.Daily {
			b.WriteString("\t<key>StartCalendarInterval</key>\n\t<dict>\n\t\t<key>Hour</key>\n\t\t<integer>9</integer>\n\t\t<key>Minute</key>\n\t\t<integer>0</integer>\n\t</dict>\n")
		} else {
			fmt.Fprintf(&b, "\t<key>StartInterval</key>\n\t<integer>%d</integer>\n", int(j.Every.Seconds()))
		}
		logFile := filepath.Join(launchdLogDir(s.Home), j.Name+"-"+ID(s.Connection)+".log")
		b.WriteString("\t<key>RunAtLoad</key>\n\t<false/>\n\t<key>ProcessType</key>\n\t<string>Background</string>\n")
		b.WriteString("\t<key>StandardOutPath</key>\n\t<string>" + xmlEscape(logFile) + "</string>\n")
		b.WriteString("\t<key>StandardErrorPath</key>\n\t<string>" + xmlEscape(logFile) + "</string>\n")
		b.WriteString("</dict>\n</plist>\n")
		out = append(out, File{Path: filepath.Join(launchdDir(s.Home), label+".plist"), Content: b.String()})
	}
	return out
}

// TaskScheduler is a task per job, registered with `schtasks /Create /XML
// FILE /TN NAME`; it runs as the signed-in user (so it reaches the user's
// Credential Manager), and Task Scheduler keeps its history. The content
// declares UTF-16, the encoding Install writes the file in.
func TaskScheduler(s Spec) []File {
	var out []File
	for _, j := range Jobs(s) {
		var trigger string
		if j.Daily {
			trigger = `    <CalendarTrigger>
      <StartBoundary>2000-01-01T09:00:00</StartBoundary>
      <RandomDelay>PT1H</RandomDelay>
      <ScheduleByDay>
        <DaysInterval>1</DaysInterval>
      </ScheduleByDay>
    </CalendarTrigger>
`
		} else {
			trigger = fmt.Sprintf(`    <TimeTrigger>
      <StartBoundary>2000-01-01T00:00:00</StartBoundary>
      <Repetition>
        <Interval>PT%dM</Interval>
      </Repetition>
    </TimeTrigger>
`, max(int(j.Every.Minutes()), 1))
		}
		content := `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>` + xmlEscape("entrawiz "+j.Name+" of "+s.Connection) + `</Description>
    <URI>` + xmlEscape(TaskName(s, j.Name)) + `</URI>
  </RegistrationInfo>
  <Triggers>
` + trigger + `  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>true</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>PT1H</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>` + xmlEscape(j.Args[0]) + `</Command>
      <Arguments>` + xmlEscape(windowsArgs(j.Args[1:])) + `</Arguments>
    </Exec>
  </Actions>
</Task>
`
		out = append(out, File{Path: filepath.Join(windowsDir(s.Home), j.Name+"-"+ID(s.Connection)+".xml"), Content: content})
	}
	return out
}

// windowsArgs joins arguments as the C runtime's command-line parser
// splits them back: words with spaces or quotes are quoted, backslashes
// before a quote doubled.
func windowsArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\"") {
			q[i] = a
			continue
		}
		var b strings.Builder
		b.WriteByte('"')
		slashes := 0
		for _, r := range a {
			switch r {
			case '\\':
				slashes++
				continue
			case '"':
				b.WriteString(strings.Repeat(`\`, slashes*2+1))
			default:
				b.WriteString(strings.Repeat(`\`, slashes))
			}
			slashes = 0
			b.WriteRune(r)
		}
		b.WriteString(strings.Repeat(`\`, slashes*2))
		b.WriteByte('"')
		q[i] = b.String()
	}
	return strings.Join(q, " ")
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
