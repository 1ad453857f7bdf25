package steps

import "github.com/entrawiz/entrawiz/store"

// Printable returns s, a text that came from the tenant (a display name, a
// UPN, a message from Graph), safe to print on a terminal as one line:
// C0 controls (tab and newline included), DEL and C1 controls are shown as
// \xNN or \u00NN, the bidi overrides and isolates (U+202A to U+202E,
// U+2066 to U+2069) as \uNNNN, and bytes that are not valid UTF-8 as \xNN.
// Other text, letters of any script and emoji included, comes back as it
// is, without allocating. Use it where the text is rendered, not where it
// is stored.
func Printable(s string) string { return store.EscapeControls(s) }
