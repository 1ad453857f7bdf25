package app

import (
	"bufio"
	"os"
	"runtime"

	"github.com/pkg/browser"

	"github.com/entrawiz/entrawiz/graphapi"
)

// checkSignInMode checks --sign-in.
func checkSignInMode(mode string) error {
	switch mode {
	case "", graphapi.SignInAuto, graphapi.SignInDevice, graphapi.SignInBrowser:
		return nil
	}
	return inputErrorf("--sign-in must be auto, device or browser, not %q", mode)
}

// canOpenBrowser reports whether a browser can be started for the admin
// here: not over SSH, and on Linux and the BSDs only with a display.
func canOpenBrowser(getenv func(string) string) bool {
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
		return false
	}
	switch runtime.GOOS {
	case "windows", "darwin":
		return true
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// browserOptions is how this App's browser sign-ins reach the admin: a
// browser opened here when one can be, else the address shown through show
// (and, headless, an address pasted on the input).
func (a *App) browserOptions(show func(string)) graphapi.BrowserOptions {
	if show == nil {
		show = func(string) {}
	}
	if !a.o.NoBrowser && canOpenBrowser(os.Getenv) {
		return graphapi.BrowserOptions{Open: func(url string) error {
			if err := browser.OpenURL(url); err != nil {
				// No browser after all: the address, and MSAL's listener
				// still waits for it.
				show(url)
			}
			return nil
		}}
	}
	return graphapi.BrowserOptions{NoBrowser: true, Show: show, Pasted: a.pasted()}
}

// pasted is what the admin pastes on the input, line by line, read by one
// reader for every sign-in of this App; nil without an input.
func (a *App) pasted() <-chan string {
	if a.o.PasteFrom == nil {
		return nil
	}
	a.pasteOnce.Do(func() {
		a.paste = make(chan string)
		go func() {
			sc := bufio.NewScanner(a.o.PasteFrom)
			for sc.Scan() {
				a.paste <- sc.Text()
			}
			close(a.paste)
		}()
	})
	return a.paste
}

// SignInURLHelp is what the admin reads beside a browser sign-in address;
// who is the account to sign in with.
func SignInURLHelp(who string, pasteBack bool) string {
	s := "Open this address in a browser on any computer and sign in as " + who + "."
	if pasteBack {
		s += " On another computer the browser ends on a page that cannot be reached: copy that page's whole address from the address bar, paste it here and press Enter. If the browser shows an error page instead, paste the line that starts with AADSTS."
	}
	return s
}
