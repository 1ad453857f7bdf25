package main

import (
	"testing"
	"time"
)

func TestParseDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "0s": 0, "12h": 12 * time.Hour, "0d": 0} {
		if got, err := parseDays("x", in); err != nil || got != want {
			t.Errorf("parseDays(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "30 days", "-5h", "1.5d"} {
		if _, err := parseDays("x", bad); err == nil {
			t.Errorf("parseDays(%q) accepted", bad)
		}
	}
}

func FuzzParseDays(f *testing.F) {
	for _, s := range []string{"30d", "0s", "72h", "-1d", "d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseDays("x", s); err == nil && d < 0 {
			t.Fatalf("parseDays(%q) = %v: negative", s, d)
		}
	})
}
