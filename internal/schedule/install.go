package schedule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Runner runs one of the OS scheduler's commands (systemctl, launchctl,
// schtasks) and returns its combined output; tests give their own.
type Runner func(name string, args ...string) (string, error)

// Host is the machine a schedule is installed on: its OS, its scheduler
// commands, and (macOS) the user's ID for launchctl's gui domain.
type Host struct {
	GOOS string
	Run  Runner
	UID  int
}

// Install writes the spec's files for the host's OS and has its scheduler
// load them (an installed schedule is replaced). It returns the files.
func (h Host) Install(s Spec) ([]File, error) {
	files, err := Files(h.GOOS, s)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return nil, err
		}
		data := []byte(f.Content)
		if h.GOOS == "windows" {
			data = utf16File(f.Content)
		}
		if err := os.WriteFile(f.Path, data, 0o644); err != nil {
			return nil, err
		}
	}
	switch h.GOOS {
	case "linux":
		if err := h.run("systemctl", "--user", "daemon-reload"); err != nil {
			return files, err
		}
		for _, j := range Jobs(s) {
			if err := h.run("systemctl", "--user", "enable", "--now", unitName(s, j.Name)+".timer"); err != nil {
				return files, err
			}
		}
	case "darwin":
		if err := os.MkdirAll(launchdLogDir(s.Home), 0o700); err != nil {
			return files, err
		}
		for i, j := range Jobs(s) {
			h.run("launchctl", "bootout", h.gui()+"/"+launchdLabel(s, j.Name)) // not loaded yet: fine
			if err := h.run("launchctl", "bootstrap", h.gui(), files[i].Path); err != nil {
				return files, err
			}
		}
	case "windows":
		for i, j := range Jobs(s) {
			if err := h.run("schtasks", "/Create", "/F", "/TN", TaskName(s, j.Name), "/XML", files[i].Path); err != nil {
				return files, err
			}
		}
	}
	return files, nil
}

// Remove unloads the spec's jobs and deletes their files; it returns the
// files it deleted. Jobs not installed are not an error.
func (h Host) Remove(s Spec) ([]string, error) {
	files, err := Files(h.GOOS, s)
	if err != nil {
		return nil, err
	}
	for _, j := range Jobs(s) {
		switch h.GOOS {
		case "linux":
			if exists(systemdDir(s.Home), unitName(s, j.Name)+".timer") {
				h.run("systemctl", "--user", "disable", "--now", unitName(s, j.Name)+".timer")
			}
		case "darwin":
			h.run("launchctl", "bootout", h.gui()+"/"+launchdLabel(s, j.Name))
		case "windows":
			h.run("schtasks", "/Delete", "/F", "/TN", TaskName(s, j.Name))
		}
	}
	var removed []string
	var errs []error
	for _, f := range files {
		switch err := os.Remove(f.Path); {
		case err == nil:
			removed = append(removed, f.Path)
		case !errors.Is(err, os.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if h.GOOS == "linux" && len(removed) > 0 {
		h.run("systemctl", "--user", "daemon-reload")
	}
	return removed, errors.Join(errs...)
}

// Installed returns the spec's files that are on disk now.
func (h Host) Installed(s Spec) []File {
	files, err := Files(h.GOOS, s)
	if err != nil {
		return nil
	}
	var out []File
	for _, f := range files {
		if b, err := os.ReadFile(f.Path); err == nil {
			if h.GOOS == "windows" {
				b = []byte(fromUTF16File(b))
			}
			out = append(out, File{Path: f.Path, Content: string(b)})
		}
	}
	return out
}

// JobState is when a scheduled job runs next and last ran, as far as the
// scheduler tells; Note says why something is not known.
type JobState struct {
	Name string    `json:"name"`
	Next time.Time `json:"next,omitzero"`
	Last time.Time `json:"last,omitzero"`
	Note string    `json:"note,omitempty"`
}

// States asks the scheduler when the spec's jobs run next and ran last.
func (h Host) States(s Spec) []JobState {
	var out []JobState
	for _, j := range Jobs(s) {
		st := JobState{Name: j.Name}
		switch h.GOOS {
		case "linux":
			o, err := h.Run("systemctl", "--user", "show", unitName(s, j.Name)+".timer", "-p", "NextElapseUSecRealtime", "-p", "LastTriggerUSec", "--timestamp=unix")
			if err != nil {
				st.Note = "systemd could not be asked: " + firstLine(o, err)
				break
			}
			for _, line := range strings.Split(o, "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
				if t := unixStamp(v); !t.IsZero() {
					switch k {
					case "NextElapseUSecRealtime":
						st.Next = t
					case "LastTriggerUSec":
						st.Last = t
					}
				}
			}
		case "windows":
			o, err := h.Run("schtasks", "/Query", "/TN", TaskName(s, j.Name), "/V", "/FO", "LIST")
			if err != nil {
				st.Note = "Task Scheduler could not be asked: " + firstLine(o, err)
				break
			}
			st.Note = taskTimes(o)
		default:
			st.Note = "launchd does not say when a job runs next: see ~/Library/Logs/entrawiz"
		}
		out = append(out, st)
	}
	return out
}

func (h Host) run(name string, args ...string) error {
	out, err := h.Run(name, args...)
	if err != nil {
		return fmt.Errorf("%s %s: %s", name, strings.Join(args, " "), firstLine(out, err))
	}
	return nil
}

func (h Host) gui() string { return "gui/" + strconv.Itoa(h.UID) }

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

func firstLine(out string, err error) string {
	if line, _, _ := strings.Cut(strings.TrimSpace(out), "\n"); line != "" {
		return line
	}
	return err.Error()
}

// unixStamp parses systemctl's --timestamp=unix value ("@1764680400").
func unixStamp(v string) time.Time {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "@"), 10, 64)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(v), "@") || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// taskTimes picks the "Next Run Time" and "Last Run Time" lines of
// schtasks' list output (their format follows the machine's locale, so
// they are shown as Windows wrote them).
func taskTimes(o string) string {
	var parts []string
	for _, line := range strings.Split(o, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if k = strings.TrimSpace(k); ok && (k == "Next Run Time" || k == "Last Run Time" || k == "Last Result") {
			parts = append(parts, k+": "+strings.TrimSpace(v))
		}
	}
	return strings.Join(parts, "; ")
}

// utf16File is text as a UTF-16LE file with a byte-order mark, the
// encoding Task Scheduler writes and reads its task XML in.
func utf16File(s string) []byte {
	u := utf16.Encode([]rune(strings.ReplaceAll(s, "\n", "\r\n")))
	out := []byte{0xff, 0xfe}
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	return out
}

func fromUTF16File(b []byte) string {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xfe {
		return string(b)
	}
	b = b[2:]
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return strings.ReplaceAll(string(utf16.Decode(u)), "\r\n", "\n")
}
