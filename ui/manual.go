package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
)

// manual is the manual path: the portal instructions for what the wizard
// would have done, then the IDs and secret typed in, validated locally.
type manual struct {
	c        *common
	profile  *steps.Profile
	done     map[string]bool // steps the wizard finished already
	entering bool
	vp       viewport.Model
	form     *huh.Form
	clientID string
	secret   string
	w, h     int
}

// newManual starts on the instructions, or with entering on the form (a
// retry: the admin has read them).
func newManual(c *common, p *steps.Profile, r *rail, entering bool) *manual {
	s := &manual{c: c, profile: p, done: map[string]bool{}, vp: newScroller(c.keys), entering: entering}
	for _, it := range r.procedure() {
		if it.status == statusDone || it.status == statusSkipped && !strings.Contains(it.result, "by hand") {
			s.done[it.name] = true
		}
	}
	s.build()
	return s
}

// build makes the form afresh: a completed huh form is inert.
func (s *manual) build() {
	s.clientID, s.secret = "", ""
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Application (client) ID").
			Description("From the app's Overview page").
			Placeholder("00000000-0000-0000-0000-000000000000").
			Value(&s.clientID).
			Validate(func(v string) error { return steps.ValidateGUID("Application (client) ID", v) }),
		huh.NewInput().Title("Client secret Value").
			Description("The Value column, not the Secret ID").
			EchoMode(huh.EchoModePassword).
			Value(&s.secret).
			Validate(steps.ValidateSecretValue),
	)).WithTheme(s.c.styles.huhTheme()).WithShowHelp(false)
	if s.w > 0 {
		s.form = s.form.WithWidth(min(s.w, 72))
	}
}

func (s *manual) Init() tea.Cmd {
	if s.entering {
		return s.form.Init()
	}
	return nil
}

func (s *manual) SetSize(w, h int) {
	s.w, s.h = w, h
	s.vp.SetWidth(w)
	s.vp.SetHeight(max(h-3, 3))
	s.vp.SetContent(s.instructions())
	s.form = s.form.WithWidth(min(w, 72))
}

func (s *manual) Typing() bool { return s.entering }

func (s *manual) Keys() []key.Binding {
	k := s.c.keys
	if s.entering {
		return []key.Binding{withHelp(k.Continue, "next"), key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "instructions"))}
	}
	scroll := s.vp.TotalLineCount() > s.vp.Height()
	return []key.Binding{withHelp(k.Continue, "enter the values"), on(withHelp(k.Down, "scroll"), scroll), withHelp(k.Back, "back")}
}

func (s *manual) Update(msg tea.Msg) tea.Cmd {
	k := s.c.keys
	if !s.entering {
		km, ok := msg.(tea.KeyPressMsg)
		if !ok {
			return nil
		}
		switch {
		case key.Matches(km, k.Continue):
			s.entering = true
			s.build()
			return s.form.Init()
		case key.Matches(km, k.Back):
			return emit(backMsg{})
		}
		var cmd tea.Cmd
		s.vp, cmd = s.vp.Update(km)
		return cmd
	}
	if km, ok := msg.(tea.KeyPressMsg); ok && km.String() == "esc" {
		s.entering = false
		return nil
	}
	f, cmd := s.form.Update(msg)
	s.form = f.(*huh.Form)
	if s.form.State == huh.StateCompleted {
		id, secret := strings.TrimSpace(s.clientID), strings.TrimSpace(s.secret)
		s.clientID, s.secret = "", ""
		return tea.Batch(cmd, emit(manualSubmitted{clientID: id, secret: secret}))
	}
	return cmd
}

func (s *manual) View() string {
	st := s.c.styles
	if s.entering {
		return st.Heading.Render("Enter what the portal shows") + "\n" +
			st.Subtle.Render(ansi.Wrap("Checked here as you type; then entrawiz signs in as the app to prove they work.", s.w, " ")) + "\n\n" +
			s.c.styles.formView(s.form.View())
	}
	foot := st.Subtle.Render("Have the client ID and the secret's Value? Press ") + st.Key.Render("enter") + st.Subtle.Render(".")
	if s.vp.TotalLineCount() > s.vp.Height() && !s.vp.AtBottom() {
		foot = st.Subtle.Render("↓ more · ") + foot
	}
	return st.Heading.Render("Do it by hand in the Microsoft Entra admin center") + "\n" + s.vp.View() + "\n\n" + foot
}

// instructions are the portal steps for this profile; what the wizard did
// already is marked so.
func (s *manual) instructions() string {
	st := s.c.styles
	p := s.profile
	w := max(s.w, 20)
	var b strings.Builder
	b.WriteString(st.Subtle.Render("https://entra.microsoft.com") + "\n")
	section := func(n int, step, title string, lines ...string) {
		head := fmt.Sprintf("%d. %s", n, title)
		if s.done[step] {
			head += st.OK.Render("  ✓ done by entrawiz already")
		}
		b.WriteString("\n" + st.Strong.Render(head) + "\n")
		for _, l := range lines {
			if l == "" {
				continue
			}
			b.WriteString(indent(ansi.Wrap(l, w-3, " ,›"), 3) + "\n")
		}
	}
	if p == nil {
		return "Choose a profile first."
	}
	reg := []string{
		"Entra ID › App registrations › New registration",
		fmt.Sprintf("Name: %s", p.AppName),
		"Supported account types: " + accountTypes(p.SignInAudience),
	}
	for _, u := range p.RedirectURIs.Web {
		reg = append(reg, "Redirect URI: Web — "+u)
	}
	for _, u := range p.RedirectURIs.SPA {
		reg = append(reg, "Redirect URI: Single-page application — "+u)
	}
	for _, u := range p.RedirectURIs.PublicClient {
		reg = append(reg, "Redirect URI: Public client/native — "+u)
	}
	reg = append(reg, "Register.")
	if p.AllowPublicClient {
		reg = append(reg, "Authentication › Allow public client flows › Yes › Save.")
	}
	section(1, "register-app", "Register the app", reg...)
	var perms []string
	perms = append(perms, "API permissions › Add a permission › Microsoft Graph")
	if len(p.ApplicationPermissions) > 0 {
		perms = append(perms, "Application permissions: "+strings.Join(p.ApplicationPermissions, ", "))
	}
	if len(p.DelegatedPermissions) > 0 {
		perms = append(perms, "Delegated permissions: "+strings.Join(p.DelegatedPermissions, ", "))
	}
	section(2, "grant-consent", "Add the API permissions", perms...)
	if p.GrantAdminConsent {
		section(3, "grant-consent", "Grant admin consent",
			"API permissions › Grant admin consent for your organisation › Yes.",
			"Application permissions need a Global Administrator or Privileged Role Administrator.",
			"The Status column turns to Granted.")
	}
	lifetime := "the longest your policy allows"
	if p.Secret != nil {
		lifetime = fmt.Sprintf("%d days (or the longest your policy allows)", p.Secret.LifetimeDays)
	}
	section(4, "create-secret", "Create a client secret",
		"Certificates & secrets › Client secrets › New client secret",
		"Expires: "+lifetime,
		"Copy the Value column at once: it is shown only now. The Secret ID beside it is not the secret.")
	section(5, "", "Copy the Application (client) ID", "From the app's Overview page.")
	return strings.TrimRight(b.String(), "\n")
}

func accountTypes(a string) string {
	switch a {
	case "", "AzureADMyOrg":
		return "Accounts in this organizational directory only (single tenant)"
	case "AzureADMultipleOrgs":
		return "Accounts in any organizational directory (multitenant)"
	}
	return "Accounts in any organizational directory and personal Microsoft accounts"
}
