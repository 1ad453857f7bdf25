package ui

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/entrawiz/entrawiz/graphapi"
)

// frames walks every screen at one size and returns each frame, raw.
func frames(t *testing.T, w, h int, noColor bool) map[string]string {
	t.Helper()
	opts := Options{Width: w, Height: h, NoColor: noColor}
	out := map[string]string{}
	grab := func(d *driver, name string) { out[name] = d.raw() }

	first := newModel(t.Context(), newFake(t), opts)
	out["first frame"] = first.View().Content

	f := newFake(t)
	d := newDriver(t, f, opts)
	grab(d, "welcome")
	d.press("enter")
	grab(d, "welcome tenant")
	d.typeText("contoso.onmicrosoft.com")
	d.press("enter")
	grab(d, "sign-in code")
	d.press("c")
	grab(d, "sign-in copied")
	d.send(signedInMsg{gen: d.m.gen, setup: &fakeSetup{f: f, name: "contoso.onmicrosoft.com/directory-sync"}})
	grab(d, "plan")
	d.press("?")
	grab(d, "plan full help")
	d.press("?")
	m := d.m
	m.startExecute()
	m.stop()
	m.busy = true
	for _, ev := range []eventMsg{
		{m.gen, evt("register-app", 0, "")}, {m.gen, evt("register-app", 3, `created "Directory Sync" (appId 0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a) and its service principal`)},
		{m.gen, evt("grant-consent", 0, "")}, {m.gen, evt("grant-consent", 2, "waiting for Entra to replicate — attempt 3, next try in 4s")},
	} {
		m.Update(ev)
	}
	grab(d, "running")
	m.confirmQuit = true
	grab(d, "running quit?")
	m.confirmQuit = false
	m.Update(doneMsg{gen: m.gen, op: opExecute, err: consentErr()})
	grab(d, "failure")
	d.press("m")
	grab(d, "manual")
	d.press("enter")
	d.typeText("nope")
	d.press("enter")
	grab(d, "manual form")

	f = newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d = toPlan(t, f, opts)
	d.press("enter", "s", "s")
	grab(d, "handoff")
	d.press("enter")
	grab(d, "finish")

	f = newFake(t)
	f.tenant = "contoso.com"
	f.waitErr = caErr()
	d = newDriver(t, f, opts)
	d.press("enter")
	grab(d, "conditional access")

	f = newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.plan = testPlan()
	f.plan.Blocker = &graphapi.Error{Kind: graphapi.KindForbidden, Message: "admin@contoso.com holds neither Global Administrator nor Privileged Role Administrator.",
		Remedy: "Ask a Global Administrator to run entrawiz."}
	d = toPlan(t, f, opts)
	grab(d, "plan blocked")

	f = newFake(t)
	f.conns = testConnections(testNow)
	d = newDriver(t, f, opts)
	grab(d, "dashboard")
	d.press("x")
	grab(d, "dashboard reset")
	return out
}

func TestEveryScreenFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {200, 50}} {
		w, h := size[0], size[1]
		t.Run(strconv.Itoa(w)+"x"+strconv.Itoa(h), func(t *testing.T) {
			for name, frame := range frames(t, w, h, false) {
				lines := strings.Split(frame, "\n")
				if len(lines) != h {
					t.Errorf("%s: %d lines, want %d", name, len(lines), h)
				}
				for i, l := range lines {
					if lw := lipgloss.Width(l); lw > w {
						t.Errorf("%s: line %d is %d wide (> %d): %q", name, i+1, lw, w, l)
					}
				}
			}
		})
	}
}

func TestResizeReflows(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 200, Height: 50})
	d.contains("Choose a profile", "Register the app") // the rail, beside
	for _, size := range [][2]int{{80, 24}, {200, 50}, {81, 25}} {
		d.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for i, l := range strings.Split(d.raw(), "\n") {
			if lipgloss.Width(l) > size[0] {
				t.Fatalf("%v: line %d overflows: %q", size, i+1, l)
			}
		}
	}
	d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	d.contains("3/10 Review the plan") // the rail, collapsed above
	d.lacks("Register the app")
}

// colourSGR finds SGR sequences that set a foreground or background colour.
var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func hasColour(s string) bool {
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.Split(m[1], ";") {
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			if n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107 {
				return true
			}
		}
	}
	return false
}

func TestNoColorDrawsNoColour(t *testing.T) {
	for name, frame := range frames(t, 100, 30, true) {
		if hasColour(frame) {
			t.Errorf("%s has colour escape codes:\n%q", name, frame)
		}
	}
	// And the test can tell: with colour, colour is there.
	coloured := 0
	for _, frame := range frames(t, 100, 30, false) {
		if hasColour(frame) {
			coloured++
		}
	}
	if coloured == 0 {
		t.Fatal("no frame has colour even with colour on")
	}
}
