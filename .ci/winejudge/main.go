// Command winejudge reads `go tool test2json` events of a Windows test
// binary run under Wine and decides whether it passed. A test fails the run
// unless every failure it reports is one of Wine's known gaps, each of which
// is named below with the evidence for it; those are counted and printed
// apart, never hidden.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// wineGaps are failures caused by the Wine that Debian bookworm ships
// (8.0), not by entrawiz or by Windows.
var wineGaps = []struct {
	name string
	re   *regexp.Regexp
}{
	// Go 1.26's os.RemoveAll deletes with FileDispositionInformationEx
	// (POSIX semantics, Windows 10 1607 and later); Wine 8 answers
	// STATUS_INVALID_DEVICE_REQUEST, on which Go does not fall back, so the
	// testing package cannot remove t.TempDir(). A file still open (an
	// SQLite database) then also meets a sharing violation that POSIX
	// semantics would have allowed.
	{"t.TempDir cleanup (os.RemoveAll: FileDispositionInformationEx)",
		regexp.MustCompile(`^\s*testing\.go:\d+: TempDir RemoveAll cleanup: unlinkat .*: (Invalid function|Sharing violation)\.$`)},
}

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type result struct {
	action string
	lines  []string // the test's own "file.go:N: ..." lines
}

var failureLine = regexp.MustCompile(`^\s+\S+\.go:\d+: `)

func main() {
	tests := map[string]*result{}
	pkgFailed, pkg := false, ""
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // not an event: show it
			continue
		}
		if e.Package != "" {
			pkg = e.Package
		}
		if e.Action == "output" {
			fmt.Print(e.Output)
		}
		if e.Test == "" {
			if e.Action == "fail" {
				pkgFailed = true
			}
			continue
		}
		r := tests[e.Test]
		if r == nil {
			r = &result{}
			tests[e.Test] = r
		}
		switch e.Action {
		case "output":
			if failureLine.MatchString(e.Output) {
				r.lines = append(r.lines, strings.TrimRight(e.Output, "\n"))
			}
		case "pass", "fail", "skip":
			r.action = e.Action
		}
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	var passed, skipped, tolerated int
	var failed []string
	gapCount := map[string]int{}
	for _, n := range names {
		r := tests[n]
		switch r.action {
		case "pass":
			passed++
		case "skip":
			skipped++
		case "fail":
			gaps, real := classify(r.lines)
			// A parent test fails with its subtests; it is judged by them.
			if !real && (len(gaps) > 0 || childrenTolerated(n, tests)) {
				tolerated++
				for _, g := range gaps {
					gapCount[g]++
				}
				continue
			}
			failed = append(failed, n)
		default:
			failed = append(failed, n+" (never finished: a crash or a timeout)")
		}
	}
	fmt.Printf("\nunder Wine, %s: %d tests passed, %d failed only on Wine's gaps, %d skipped, %d failed\n", pkg, passed, tolerated, skipped, len(failed))
	for g, n := range gapCount {
		fmt.Printf("  Wine gap, %d tests: %s\n", n, g)
	}
	for _, n := range failed {
		fmt.Printf("  FAILED under Wine: %s\n", n)
	}
	if len(failed) > 0 || (pkgFailed && passed+tolerated == 0) || len(tests) == 0 {
		os.Exit(1)
	}
}

// classify sorts a failed test's lines into Wine's gaps and real failures.
func classify(lines []string) (gaps []string, real bool) {
	for _, l := range lines {
		known := false
		for _, g := range wineGaps {
			if g.re.MatchString(l) {
				gaps, known = append(gaps, g.name), true
				break
			}
		}
		// t.Log and t.Error lines look alike: any line that is not a
		// known gap counts as a real failure.
		if !known {
			real = true
		}
	}
	return gaps, real
}

func childrenTolerated(parent string, tests map[string]*result) bool {
	any := false
	for n, r := range tests {
		if strings.HasPrefix(n, parent+"/") && r.action == "fail" {
			if _, real := classify(r.lines); real {
				return false
			}
			any = true
		}
	}
	return any
}
