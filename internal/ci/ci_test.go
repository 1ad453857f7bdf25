package ci

import (
	"os"
	"testing"
)

func TestRunning(t *testing.T) {
	for _, tc := range []struct {
		value string
		set   bool
		want  bool
	}{
		{set: false, want: false},
		{value: "", set: true, want: false},
		{value: "false", set: true, want: false},
		{value: "true", set: true, want: true},
		{value: "1", set: true, want: true},
		{value: "yes", set: true, want: true},
	} {
		t.Setenv("CI", tc.value)
		if !tc.set {
			os.Unsetenv("CI")
		}
		if got := Running(); got != tc.want {
			t.Errorf("CI=%q (set %v): Running() = %v, want %v", tc.value, tc.set, got, tc.want)
		}
	}
}
