package ui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// BenchmarkFirstFrame measures the time from NewModel to the first View:
// what the admin waits for before anything is on screen (target: 150 ms).
func BenchmarkFirstFrame(b *testing.B) {
	f := newFake(b)
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		m := NewModel(f, Options{Width: 80, Height: 24})
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		_ = m.View()
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// BenchmarkFirstUsefulFrame goes on to the welcome screen: the saved
// connections and profiles read (from a fake), the form built and drawn.
func BenchmarkFirstUsefulFrame(b *testing.B) {
	f := newFake(b)
	for b.Loop() {
		m := NewModel(f, Options{Width: 80, Height: 24})
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		m.Update(loadCmd(f)())
		_ = m.View()
	}
}
