package ui

import (
	"errors"
	"io"
)

// lineReader hands input over one byte at a time, so each of huh's
// prompts (each with its own bufio.Scanner) takes only its own line and
// leaves the next for the next prompt, even when input is piped.
type lineReader struct {
	r   io.Reader
	eof bool
}

func (l *lineReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := l.r.Read(p[:1])
	if errors.Is(err, io.EOF) {
		l.eof = true
	}
	return n, err
}

// fdLineReader is a lineReader on a terminal, whose descriptor huh needs
// to read a secret without echo.
type fdLineReader struct {
	*lineReader
	fd uintptr
}

func (f fdLineReader) Fd() uintptr { return f.fd }
