package steps

import (
	"testing"
	"time"
)

func TestParseDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"0s", 0, true},
		{"12h", 12 * time.Hour, true},
		{"36500d", 36500 * 24 * time.Hour, true},
		{"36501d", 0, false},
		{"213504d", 0, false}, // once overflowed to about 25 minutes
		{"9223372036854775807d", 0, false},
		{"-1d", 0, false},
		{"+3d", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"-5m", 0, false},
		{"876001h", 0, false},
		{"3 days", 0, false},
	} {
		got, err := ParseDays(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDays(%q) = %s, %v; want %s, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseDays(f *testing.F) {
	for _, s := range []string{"30d", "0s", "12h", "213504d", "-1d", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDays(s)
		if err == nil && (d < 0 || d > MaxDays*24*time.Hour) {
			t.Fatalf("ParseDays(%q) = %s, outside [0, %d days]", s, d, MaxDays)
		}
	})
}
