package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// With --sign-in auto, a device code that Conditional Access blocks goes on
// with the browser by itself, and the address is on the screen, unwrapped,
// when no browser could be opened.
func TestConditionalAccessAutoContinuesInBrowser(t *testing.T) {
	f := newFake(t)
	f.tenant, f.auto = "contoso.com", true
	f.waitErr = caErr()
	addr := "https://login.example.net/contoso.com/oauth2/v2.0/authorize?client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e&state=abc"
	f.urls = make(chan string, 1)
	f.urls <- addr
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	if !slices.Contains(f.Calls(), "SignInBrowser") {
		t.Fatalf("auto did not go on with the browser: calls = %v", f.Calls())
	}
	d.contains("The plan for Contoso", "Signed in as admin@contoso.com")
}

func TestBrowserSignInShowsTheAddressWhole(t *testing.T) {
	f := newFake(t)
	s := newSignIn(newDriver(t, f, Options{Width: 60, Height: 24}).m.c, nil, "contoso.com")
	s.SetSize(60, 24)
	s.browser()
	addr := "https://login.example.net/contoso.com/oauth2/v2.0/authorize?client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e&state=abc"
	s.browserURL(addr)
	if !containsLine(s.View(), addr) {
		t.Errorf("the address is not on a line of its own, whole:\n%s", s.View())
	}
}

func containsLine(view, line string) bool {
	for _, l := range strings.Split(ansi.Strip(view), "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
