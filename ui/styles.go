package ui

import (
	"image/color"
	"regexp"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// styles are every style the wizard draws with, in one place. Colours are
// the terminal's own 16 ANSI colours, so they follow its light or dark
// theme; with no colour every colour is lipgloss.NoColor and meaning is
// carried by glyphs and words alone.
type styles struct {
	noColor bool

	Banner   lipgloss.Style
	Title    lipgloss.Style
	Heading  lipgloss.Style
	Subtle   lipgloss.Style
	Text     lipgloss.Style
	Strong   lipgloss.Style
	OK       lipgloss.Style
	Warn     lipgloss.Style
	Err      lipgloss.Style
	Accent   lipgloss.Style
	Key      lipgloss.Style
	Selected lipgloss.Style
	Code     lipgloss.Style // the device code: large, boxed
	Box      lipgloss.Style
	ErrBox   lipgloss.Style
	Rail     lipgloss.Style
	RailNow  lipgloss.Style
	Label    lipgloss.Style

	Help help.Styles

	// ProgressFull and ProgressEmpty colour the progress bar.
	ProgressFull, ProgressEmpty color.Color
}

func newStyles(noColor bool) *styles {
	c := func(ansi string) color.Color {
		if noColor {
			return lipgloss.NoColor{}
		}
		return lipgloss.Color(ansi)
	}
	var (
		red, green, yellow = c("1"), c("2"), c("3")
		blue, magenta      = c("4"), c("5")
		gray               = c("8")
	)
	s := &styles{noColor: noColor}
	s.Banner = lipgloss.NewStyle().Bold(true).Foreground(c("0")).Background(yellow).Padding(0, 1)
	if noColor {
		s.Banner = lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1)
	}
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(magenta)
	s.Heading = lipgloss.NewStyle().Bold(true)
	s.Subtle = lipgloss.NewStyle().Foreground(gray)
	if noColor {
		s.Subtle = lipgloss.NewStyle()
	}
	s.Text = lipgloss.NewStyle()
	s.Strong = lipgloss.NewStyle().Bold(true)
	s.OK = lipgloss.NewStyle().Foreground(green)
	s.Warn = lipgloss.NewStyle().Foreground(yellow)
	s.Err = lipgloss.NewStyle().Foreground(red).Bold(true)
	s.Accent = lipgloss.NewStyle().Foreground(blue).Bold(true)
	s.Key = lipgloss.NewStyle().Bold(true).Foreground(blue)
	s.Selected = lipgloss.NewStyle().Bold(true).Foreground(magenta)
	s.Label = lipgloss.NewStyle().Foreground(gray).Width(13)
	if noColor {
		s.Label = lipgloss.NewStyle().Width(13)
	}
	s.Code = lipgloss.NewStyle().Bold(true).Foreground(blue).
		Border(lipgloss.DoubleBorder()).BorderForeground(blue).Padding(1, 4)
	s.Box = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(gray).Padding(0, 1)
	s.ErrBox = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(red).Padding(0, 1)
	s.Rail = lipgloss.NewStyle().Border(lipgloss.NormalBorder(), false, true, false, false).
		BorderForeground(gray).PaddingRight(1)
	s.RailNow = lipgloss.NewStyle().Bold(true)

	s.Help = help.Styles{
		ShortKey:       lipgloss.NewStyle().Foreground(blue),
		ShortDesc:      s.Subtle,
		ShortSeparator: s.Subtle,
		Ellipsis:       s.Subtle,
		FullKey:        lipgloss.NewStyle().Foreground(blue),
		FullDesc:       s.Subtle,
		FullSeparator:  s.Subtle,
	}
	s.ProgressFull, s.ProgressEmpty = green, gray
	return s
}

// status renders a step status glyph in its colour. The glyphs differ in
// shape, so the rail reads the same without colour.
func (s *styles) status(st stepStatus, spin string) string {
	switch st {
	case statusRunning:
		return s.Accent.Render(spin)
	case statusWaiting:
		return s.Warn.Render("⧗")
	case statusDone:
		return s.OK.Render("✓")
	case statusFailed:
		return s.Err.Render("✗")
	case statusSkipped:
		return s.Subtle.Render("–")
	case statusCurrent:
		return s.Selected.Render("▸")
	}
	return s.Subtle.Render("○")
}

// huhTheme is the forms' theme: Charm's colours, or the base theme with
// its few colours replaced by reverse video.
func (s *styles) huhTheme() huh.Theme {
	if !s.noColor {
		return huh.ThemeFunc(huh.ThemeCharm)
	}
	return huh.ThemeFunc(plainTheme)
}

// plainTheme is huh's base theme without any colour: what accessible
// prompts and NO_COLOR use.
func plainTheme(isDark bool) *huh.Styles {
	t := huh.ThemeBase(isDark)
	button := lipgloss.NewStyle().Padding(0, 2).MarginRight(1)
	t.Focused.FocusedButton = button.Reverse(true)
	t.Focused.BlurredButton = button
	t.Focused.TextInput.Placeholder = lipgloss.NewStyle().Faint(true)
	t.Blurred.FocusedButton = t.Focused.FocusedButton
	t.Blurred.BlurredButton = button
	t.Blurred.TextInput.Placeholder = t.Focused.TextInput.Placeholder
	plain := lipgloss.NewStyle()
	t.Help = help.Styles{ShortKey: plain, ShortDesc: plain, ShortSeparator: plain, Ellipsis: plain,
		FullKey: plain, FullDesc: plain, FullSeparator: plain}
	return t
}

// labelled renders "label  value" in width w, the value wrapped and its
// continuation lines aligned under it.
func (s *styles) labelled(label, value string, w int) string {
	const labelW = 13
	lines := strings.Split(ansi.Wrap(value, max(w-labelW, 10), " ,/"), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.Repeat(" ", labelW) + lines[i]
	}
	return s.Label.Render(label) + strings.Join(lines, "\n")
}

// formView is a huh form's view as this theme draws it. Without colour the
// form's colours are stripped: huh themes only the focused text input, and
// a blurred one keeps the colours of Bubbles' defaults.
func (s *styles) formView(view string) string {
	if !s.noColor {
		return view
	}
	return stripColour(view)
}

var sgrSeq = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// stripColour removes the colour parameters of every SGR sequence in v,
// keeping bold, reverse and the like.
func stripColour(v string) string {
	return sgrSeq.ReplaceAllStringFunc(v, func(seq string) string {
		params := sgrSeq.FindStringSubmatch(seq)[1]
		if params == "" {
			return seq
		}
		var keep []string
		ps := strings.Split(params, ";")
		for i := 0; i < len(ps); i++ {
			head, _, colon := strings.Cut(ps[i], ":")
			n, err := strconv.Atoi(head)
			switch {
			case err != nil:
				keep = append(keep, ps[i])
			case n == 38 || n == 48 || n == 58:
				if !colon && i+1 < len(ps) { // 38;5;n or 38;2;r;g;b
					if ps[i+1] == "5" {
						i += 2
					} else if ps[i+1] == "2" {
						i += 4
					}
				}
			case n >= 30 && n <= 39, n >= 40 && n <= 49, n >= 90 && n <= 97, n >= 100 && n <= 107:
			default:
				keep = append(keep, ps[i])
			}
		}
		if len(keep) == 0 {
			return ""
		}
		return "\x1b[" + strings.Join(keep, ";") + "m"
	})
}
