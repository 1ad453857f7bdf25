package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// ReminderAlarms are how long before a secret's end the calendar reminder
// rings.
var ReminderAlarms = []time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour}

// ReminderPath is where the calendar reminder of a connection's secret
// expiry is kept in the config directory.
func ReminderPath(configDir, connection string) string {
	return filepath.Join(configDir, "reminders", safeName(connection)+".ics")
}

// Reminder is the iCalendar file of the connection's active client secret
// expiry: one event at the end, with alarms 30 and 7 days before, naming
// the app and the tenant. It holds no secret, only the key ID's hint.
func Reminder(conn *store.Connection, now time.Time) (string, error) {
	s := steps.ActiveSecret(conn)
	if s == nil || s.End.IsZero() {
		return "", fmt.Errorf("no client secret with a known end date is stored for %s", conn.Name)
	}
	app := steps.Printable(conn.App.DisplayName)
	tenant := steps.Printable(conn.Tenant.DisplayName)
	if d := conn.Tenant.PrimaryDomain; d != "" {
		tenant += " (" + steps.Printable(d) + ")"
	}
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//entrawiz//secret expiry reminder//EN")
	ev := cal.AddEvent(strings.ToLower(s.KeyID) + "@entrawiz")
	ev.SetDtStampTime(now.UTC())
	ev.SetStartAt(s.End.UTC())
	ev.SetEndAt(s.End.UTC().Add(30 * time.Minute))
	summary := fmt.Sprintf("Client secret of %s in %s expires", app, tenant)
	ev.SetSummary(summary)
	ev.SetDescription(fmt.Sprintf("The client secret %s… (key ID %s) of the app %s (client ID %s) in the tenant %s (%s) ends %s. "+
		"When it ends the product can no longer sign in. Run `entrawiz rotate --connection %s` before then (a new secret is added "+
		"and the old one kept until the product has the new one), or let `entrawiz schedule install` do it.",
		s.Hint, s.KeyID, app, conn.App.AppID, tenant, conn.Tenant.ID, s.End.UTC().Format("2006-01-02 15:04 MST"), conn.Name))
	for _, before := range ReminderAlarms {
		al := ev.AddAlarm()
		al.SetAction(ics.ActionDisplay)
		al.SetTrigger(fmt.Sprintf("-P%dD", int(before/(24*time.Hour))))
		al.SetProperty(ics.ComponentPropertyDescription, fmt.Sprintf("%s in %d days", summary, int(before/(24*time.Hour))))
	}
	return cal.Serialize(), nil
}

// writeReminder writes the connection's calendar reminder (atomically,
// mode 0600) and returns its path; "" when the secret's end is not known.
func (a *App) writeReminder(conn *store.Connection) (string, error) {
	text, err := Reminder(conn, a.now())
	if err != nil {
		return "", nil
	}
	path := ReminderPath(a.o.ConfigDir, conn.Name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("write the calendar reminder: %w", err)
	}
	if err := store.WriteFileAtomic(path, []byte(text)); err != nil {
		return "", fmt.Errorf("write the calendar reminder: %w", err)
	}
	return path, nil
}
