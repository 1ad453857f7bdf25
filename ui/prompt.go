package ui

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Confirm asks a yes/no question on a line of its own; anything but y or
// yes is no.
func Confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes"
}

// ReadSecret reads a client secret: the first line of in when piped, else
// typed at the terminal without echo.
func ReadSecret(in io.Reader, out io.Writer, piped bool) (string, error) {
	if piped {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no client secret on stdin")
		}
		return strings.TrimSpace(line), nil
	}
	fmt.Fprint(out, "Client secret (the Value, not the Secret ID): ")
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(out)
	return strings.TrimSpace(string(b)), err
}
