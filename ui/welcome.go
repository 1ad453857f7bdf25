package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
)

// loading is the first frame, while the saved connections are read.
type loading struct {
	c    *common
	w, h int
}

func newLoading(c *common) *loading { return &loading{c: c} }

func (l *loading) Init() tea.Cmd          { return nil }
func (l *loading) Update(tea.Msg) tea.Cmd { return nil }
func (l *loading) SetSize(w, h int)       { l.w, l.h = w, h }
func (l *loading) Keys() []key.Binding    { return nil }
func (l *loading) Typing() bool           { return false }
func (l *loading) View() string {
	s := l.c.styles
	return s.Heading.Render("Connect a product to Microsoft Entra ID") + "\n\n" +
		s.Accent.Render(l.c.spin) + " reading your saved connections…"
}

// welcome is the first screen of a setup: which profile, what it will do,
// and the tenant when the command line did not give one.
type welcome struct {
	c         *common
	profiles  []*steps.Profile
	askTenant bool
	choice    int
	tenant    string
	form      *huh.Form
	sel       *huh.Select[int]
	w, h      int
}

func newWelcome(c *common, profiles []*steps.Profile, askTenant bool, choice int, tenant string) *welcome {
	w := &welcome{c: c, profiles: profiles, askTenant: askTenant, choice: choice, tenant: tenant}
	if choice >= len(profiles) {
		w.choice = 0
	}
	w.build()
	return w
}

// build makes the form; it is rebuilt rather than reused, since a
// completed huh form is inert.
func (w *welcome) build() {
	opts := make([]huh.Option[int], len(w.profiles))
	for i, p := range w.profiles {
		label := p.Name
		if !isBuiltin(p) {
			label += " (file)"
		}
		opts[i] = huh.NewOption(label, i)
	}
	w.sel = huh.NewSelect[int]().Title("What are you connecting?").Options(opts...).Value(&w.choice)
	fields := []huh.Field{w.sel}
	if w.askTenant {
		fields = append(fields, huh.NewInput().Title("Your tenant").
			Description("its ID or a domain name").
			Placeholder("contoso.onmicrosoft.com").Value(&w.tenant).
			Validate(steps.ValidateTenant))
	}
	w.form = huh.NewForm(huh.NewGroup(fields...)).WithTheme(w.c.styles.huhTheme()).WithShowHelp(false)
	w.SetSize(w.w, w.h)
}

func (w *welcome) Init() tea.Cmd { return w.form.Init() }

func (w *welcome) SetSize(width, height int) {
	w.w, w.h = width, height
	if width > 0 {
		w.form = w.form.WithWidth(w.formWidth())
	}
}

// sideBySide puts the profile's details beside the form rather than below.
func (w *welcome) sideBySide() bool { return w.w >= 70 }

func (w *welcome) formWidth() int {
	switch {
	case w.w >= 110:
		return 38
	case w.sideBySide():
		return 28
	}
	return w.w
}

func (w *welcome) Typing() bool {
	_, ok := w.form.GetFocusedField().(*huh.Input)
	return ok || w.sel.GetFiltering()
}

func (w *welcome) Keys() []key.Binding {
	k := w.c.keys
	if len(w.profiles) == 0 {
		return nil
	}
	enter := withHelp(k.Continue, "choose")
	if w.askTenant && !w.Typing() {
		enter = withHelp(k.Continue, "next")
	}
	if w.Typing() {
		enter = withHelp(k.Continue, "sign in")
	}
	return []key.Binding{withHelp(k.Up, "up"), withHelp(k.Down, "down"), enter}
}

func (w *welcome) Update(msg tea.Msg) tea.Cmd {
	if len(w.profiles) == 0 {
		return nil
	}
	f, cmd := w.form.Update(msg)
	w.form = f.(*huh.Form)
	if w.form.State == huh.StateCompleted {
		p := w.profiles[w.choice]
		tenant := strings.TrimSpace(w.tenant)
		return tea.Batch(cmd, emit(profileChosenMsg{profile: p, tenant: tenant}))
	}
	return cmd
}

func (w *welcome) View() string {
	s := w.c.styles
	if len(w.profiles) == 0 {
		return s.Err.Render("No profiles to choose from.") + "\n" +
			"Give one with --profile FILE, or see `entrawiz profiles`."
	}
	head := s.Heading.Render("Connect a product to Microsoft Entra ID") + "\n" +
		s.Subtle.Render(ansi.Wrap("Pick what the product needs; you review every change before anything is written.", w.w, "")) + "\n"
	if !w.askTenant && w.tenant != "" {
		head += s.Subtle.Render("Tenant: ") + w.tenant + "\n"
	}
	p := w.profiles[w.choice]
	if i, ok := w.sel.Hovered(); ok && i < len(w.profiles) {
		p = w.profiles[i]
	}
	form := w.c.styles.formView(w.form.View())
	if w.sideBySide() {
		dw := w.w - w.formWidth() - 3
		details := lipgloss.NewStyle().Width(dw).Render(profileDetails(s, p, dw, w.c.secretsPlace()))
		return head + "\n" + lipgloss.JoinHorizontal(lipgloss.Top, form, "   ", details)
	}
	return head + "\n" + strings.TrimRight(form, "\n") + "\n\n" + profileDetails(s, p, w.w, w.c.secretsPlace())
}

// profileDetails says what a profile will do in the tenant.
func profileDetails(s *styles, p *steps.Profile, w int, secretsPlace string) string {
	var b strings.Builder
	line := func(label, value string) {
		if value == "" {
			return
		}
		b.WriteString(s.labelled(label, value, w) + "\n")
	}
	source := "built-in profile"
	if !isBuiltin(p) {
		source = "profile file"
	}
	b.WriteString(s.Strong.Render(p.Name) + s.Subtle.Render(" · "+source) + "\n")
	if p.Description != "" {
		b.WriteString(ansi.Wrap(p.Description, w, " ") + "\n")
	}
	b.WriteString("\n")
	line("App", fmt.Sprintf("%q, %s", p.AppName, audience(p.SignInAudience)))
	line("App perms", strings.Join(p.ApplicationPermissions, ", "))
	line("Delegated", strings.Join(p.DelegatedPermissions, ", "))
	if p.GrantAdminConsent {
		line("Consent", "granted for the whole organisation")
	}
	line("Redirects", strings.Join(redirects(p), " "))
	if p.AllowPublicClient {
		line("Public", "public client flows allowed")
	}
	if p.Secret != nil {
		line("Secret", fmt.Sprintf("%d days, kept in %s", p.Secret.LifetimeDays, secretsPlace))
	}
	if p.CreateGroup != nil {
		line("Group", fmt.Sprintf("creates %q", p.CreateGroup.DisplayName))
	}
	if p.AssignmentRequired {
		line("Assignment", "required: only assigned users can sign in")
	}
	line("Hands off", strings.Join(p.Handoff, ", "))
	return strings.TrimRight(b.String(), "\n")
}

func isBuiltin(p *steps.Profile) bool {
	_, ok := steps.BuiltinProfileSource(p.Name)
	return ok
}

func audience(a string) string {
	switch a {
	case "", "AzureADMyOrg":
		return "single tenant"
	case "AzureADMultipleOrgs":
		return "any organisation"
	}
	return "organisations and personal accounts"
}

func redirects(p *steps.Profile) []string {
	var out []string
	out = append(out, p.RedirectURIs.Web...)
	out = append(out, p.RedirectURIs.SPA...)
	return append(out, p.RedirectURIs.PublicClient...)
}
