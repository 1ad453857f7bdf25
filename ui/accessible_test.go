package ui

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func runLines(t *testing.T, f *fakeBackend, input ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	in := strings.NewReader(strings.Join(input, "\n") + "\n")
	err := Run(t.Context(), f, Options{Out: &out, In: in, Accessible: true})
	return out.String(), err
}

func TestAccessibleSetup(t *testing.T) {
	f := newFake(t)
	f.silent = true
	out, err := runLines(t, f,
		"2",                       // sso
		"not a tenant",            // refused by the local validator
		"contoso.onmicrosoft.com", // accepted
		"y",                       // apply the plan
		"y",                       // show the secret
	)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{
		bannerText, "1. directory-sync", "Web sign-in (OpenID Connect)", "Which profile?",
		"neither a tenant ID", "Signed in as admin@contoso.com.", "The plan for Contoso",
		"- create: App registration \"Directory Sync\"", "Apply this plan?",
		"Started: Register the app.", "Waiting: waiting for Entra to replicate — attempt 3, next try in 4s",
		"Skipped: Assignment and group: already done: nothing to assign",
		"Client secret (Value): hidden", "Client secret (Value): Xy8Q~s3cr3tV4lu3-abcdefghijklmnop", "All done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("accessible output has escape codes:\n%q", out)
	}
	if !slices.Contains(f.Calls(), "StartSignIn contoso.onmicrosoft.com sso") {
		t.Errorf("calls = %v", f.Calls())
	}
}

func TestAccessibleFailureRetryAndManual(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr(), consentErr()}
	out, err := runLines(t, f,
		"1", // directory-sync
		"y", // apply
		"1", // retry: fails again
		"2", // by hand
		"not-a-guid",
		"0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a",
		"Xy8Q~s3cr3tV4lu3-abcdefghij",
		"n", // keep the secret hidden
	)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"Grant admin consent failed: consent needed.", "What to do: Sign in as a Global Administrator",
		"1. Retry", "Do it by hand in the Microsoft Entra admin center", "must look like", "entered by hand"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if n := countCalls(f.Calls(), "Execute"); n != 2 {
		t.Errorf("Execute ran %d times", n)
	}
	if f.manualGot[0] != "0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a" {
		t.Errorf("Manual got %q", f.manualGot)
	}
}

func TestAccessibleQuitOnFailureReturnsTheError(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr()}
	_, err := runLines(t, f, "1", "y", "3")
	if err == nil || !strings.Contains(err.Error(), "consent needed") {
		t.Fatalf("Run = %v", err)
	}
}

func TestAccessibleEndOfInputStops(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	_, err := runLines(t, f, "1")
	if !errors.Is(err, errNoInput) {
		t.Fatalf("Run = %v", err)
	}
}

func TestAccessibleDashboard(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	out, err := runLines(t, f, "1", "1", "5") // test the first connection, then quit
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"Your connections: 2 saved.", "20 days left", "Test passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

func TestAccessibleDashboardRotates(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	out, err := runLines(t, f, "4", "1", "5") // rotate the first connection's secret, then quit
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"Rotating the client secret of " + f.conns[0].Name, "new secret new… active until", "rotate --finish"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}
