package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// GraphWrite is one call that changed something in the tenant, as the
// trace saw it: method, path, status and Graph's request-id.
type GraphWrite struct {
	Method, Path, RequestID string
	Status                  string
}

// writeLog keeps the tenant-changing calls this App made (from the same
// trace lines --debug prints, which hold no secret), for change records.
type writeLog struct {
	mu     sync.Mutex
	writes []GraphWrite
	buf    []byte
}

// Write takes trace lines: "15:04:05.000 graph POST /v1.0/applications
// 201 12ms request-id=…".
func (l *writeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != "graph" || f[2] == "GET" || len(l.writes) >= 10000 {
			continue
		}
		w := GraphWrite{Method: f[2], Path: f[3], Status: f[4]}
		for _, x := range f[5:] {
			if id, ok := strings.CutPrefix(x, "request-id="); ok {
				w.RequestID = id
			}
		}
		l.writes = append(l.writes, w)
	}
	return len(p), nil
}

// mark is where the log stands, to take what an operation wrote after it.
func (l *writeLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes)
}

func (l *writeLog) since(mark int) []GraphWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]GraphWrite(nil), l.writes[min(mark, len(l.writes)):]...)
}

// ChangeRecord is what one operation changed, for a change ticket.
type ChangeRecord struct {
	Kind  string // setup, rotation, assignment, reset
	By    string // the admin's UPN
	At    time.Time
	Done  []string // what was created or changed, in the admin's words
	Conn  *store.Connection
	Calls []GraphWrite
}

// recordPath is where a record is written: the --record file when given,
// else the config directory's records folder.
func (a *App) recordPath(kind, conn string, at time.Time) string {
	if a.o.RecordFile != "" {
		return a.o.RecordFile
	}
	return filepath.Join(a.o.ConfigDir, "records", at.UTC().Format("20060102T150405Z")+"-"+kind+"-"+safeName(conn)+".md")
}

// writeRecord writes the change record (atomically, mode 0600) and
// returns its path.
func (a *App) writeRecord(r ChangeRecord) (string, error) {
	path := a.recordPath(r.Kind, r.Conn.Name, r.At)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("write the change record: %w", err)
	}
	if err := store.WriteFileAtomic(path, []byte(r.Markdown())); err != nil {
		return "", fmt.Errorf("write the change record: %w", err)
	}
	return path, nil
}

// Markdown is the record as a document. Text from the tenant is made
// printable; no secret value is in a record (only key IDs and hints).
func (r ChangeRecord) Markdown() string {
	c := r.Conn
	p := steps.Printable
	var b strings.Builder
	fmt.Fprintf(&b, "# entrawiz change record: %s of %s\n\n", r.Kind, p(c.Name))
	fmt.Fprintf(&b, "- **When:** %s\n- **By:** %s\n", r.At.UTC().Format(time.RFC3339), p(orUnknown(r.By)))
	fmt.Fprintf(&b, "- **Tenant:** %s (%s), %s\n", p(c.Tenant.DisplayName), c.Tenant.ID, p(c.Tenant.PrimaryDomain))
	fmt.Fprintf(&b, "- **App:** %s, client ID %s, object ID %s, service principal %s\n", p(c.App.DisplayName), c.App.AppID, c.App.ObjectID, c.App.ServicePrincipalID)
	fmt.Fprintf(&b, "- **Profile:** %s\n", p(c.Profile))
	if len(r.Done) > 0 {
		b.WriteString("\n## What was done\n\n")
		for _, d := range r.Done {
			fmt.Fprintf(&b, "- %s\n", p(d))
		}
	}
	if prof := steps.SavedProfile(c); prof != nil {
		b.WriteString("\n## Permissions\n\n")
		consent := "consent not recorded"
		if c.State.Consent != nil {
			consent = "admin consent granted"
		}
		for _, perm := range prof.ApplicationPermissions {
			fmt.Fprintf(&b, "- application %s (Microsoft Graph): %s\n", perm, consent)
		}
		for _, perm := range prof.DelegatedPermissions {
			fmt.Fprintf(&b, "- delegated %s (Microsoft Graph): %s\n", perm, consent)
		}
		uris := append(append(append([]string{}, prof.RedirectURIs.Web...), prof.RedirectURIs.SPA...), prof.RedirectURIs.PublicClient...)
		if len(uris) > 0 {
			b.WriteString("\n## Redirect URIs\n\n")
			for _, u := range uris {
				fmt.Fprintf(&b, "- %s\n", p(u))
			}
		}
		fmt.Fprintf(&b, "\n## Assignments\n\n- assignment required: %v\n", prof.AssignmentRequired)
	}
	if g := c.State.Group; g != nil {
		fmt.Fprintf(&b, "- group %s (%s), assigned: %v\n", p(g.DisplayName), g.ID, g.Assigned)
	}
	for _, g := range c.State.Groups {
		fmt.Fprintf(&b, "- picked for sync: %s (%s)\n", p(g.DisplayName), g.ID)
	}
	if len(c.Secrets) > 0 {
		b.WriteString("\n## Client secrets (never their values)\n\n| key ID | name | hint | ends | status |\n|---|---|---|---|---|\n")
		for _, s := range c.Secrets {
			fmt.Fprintf(&b, "| %s | %s | %s… | %s | %s |\n", s.KeyID, p(s.DisplayName), p(s.Hint), s.End.UTC().Format("2006-01-02"), s.Status)
		}
	}
	b.WriteString("\n## Microsoft Graph calls that wrote\n\n")
	if len(r.Calls) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| method | path | status | request-id |\n|---|---|---|---|\n")
		for _, w := range r.Calls {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", w.Method, w.Path, w.Status, w.RequestID)
		}
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "(not known)"
	}
	return s
}
