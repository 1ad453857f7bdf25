package steps

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDays bounds a duration the admin gives: a hundred years is longer than
// any secret lives, and far from where time.Duration overflows.
const MaxDays = 36500

// ParseDays parses a duration the admin gives in days ("30d") or as a Go
// duration ("720h", "0s"); it is never negative or over MaxDays.
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration such as 30d, 12h or 0s", s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		switch {
		case err != nil || days < 0 || strings.HasPrefix(n, "+"):
			return 0, bad
		case days > MaxDays:
			return 0, fmt.Errorf("%q is more than %d days", s, MaxDays)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil || d < 0 || s == "":
		return 0, bad
	case d > MaxDays*24*time.Hour:
		return 0, fmt.Errorf("%q is more than %d days", s, MaxDays)
	}
	return d, nil
}
