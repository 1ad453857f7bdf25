package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
)

// keyMap is every key the wizard answers to, in one place. Screens pick the
// bindings that do something on them; the help bar shows only those.
type keyMap struct {
	Quit     key.Binding
	ForceQ   key.Binding
	Help     key.Binding
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Confirm  key.Binding
	Continue key.Binding
	Back     key.Binding
	Copy     key.Binding
	CopyN    key.Binding
	Browser  key.Binding
	NewCode  key.Binding
	Retry    key.Binding
	Manual   key.Binding
	Reveal   key.Binding
	Test     key.Binding
	Another  key.Binding
	Reset    key.Binding
	Rotate   key.Binding
	Yes      key.Binding
	No       key.Binding
	Groups   key.Binding
	Sync     key.Binding
	Select   key.Binding
	Search   key.Binding
	Save     key.Binding
	RunSync  key.Binding

	// NextPage and PrevPage move a long list a screenful at a time
	// (PageDown holds space, which selects in the picker).
	NextPage key.Binding
	PrevPage key.Binding
	// MassDisable re-runs a sync the safety limits stopped, lifting them.
	MassDisable key.Binding
}

func newKeyMap() *keyMap {
	return &keyMap{
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQ:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit now")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "scroll up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn", "scroll down")),
		Confirm:  key.NewBinding(key.WithKeys("enter", "y"), key.WithHelp("enter", "apply the plan")),
		Continue: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
		Back:     key.NewBinding(key.WithKeys("esc", "b"), key.WithHelp("esc", "back")),
		Copy:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy code")),
		CopyN:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "copy a value")),
		Browser:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sign in with the browser")),
		NewCode:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "new code")),
		Retry:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry")),
		Manual:   key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "do it by hand")),
		Reveal:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "show secret")),
		Test:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test")),
		Another:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "set up another")),
		Reset:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "reset")),
		Rotate:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rotate secret")),
		Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:       key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
		Groups:   key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "pick groups")),
		Sync:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sync")),
		Select:   key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "select")),
		Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Save:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save the pick")),
		RunSync:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run the sync")),

		NextPage:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "next page")),
		PrevPage:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "previous page")),
		MassDisable: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "disable them anyway")),
	}
}

// helpKeys adapts a screen's bindings to help.KeyMap, adding the global
// ones.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// on returns b enabled or disabled: a binding that does nothing on a screen
// is left out of its help.
func on(b key.Binding, enabled bool) key.Binding {
	b.SetEnabled(enabled)
	return b
}

// withHelp returns b with a screen-specific description.
func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// newScroller is a viewport that scrolls with the wizard's own up, down
// and page keys (and no others), passed to its Update.
func newScroller(k *keyMap) viewport.Model {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown}
	return vp
}
