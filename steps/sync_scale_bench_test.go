package steps_test

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// scaleSizes are the group sizes of BenchmarkSyncScale:
// ENTRAWIZ_SYNC_SIZES=10000,100000 picks others.
func scaleSizes(b *testing.B) []int {
	raw := os.Getenv("ENTRAWIZ_SYNC_SIZES")
	if raw == "" {
		return []int{10000, 100000, 1000000}
	}
	var out []int
	for _, f := range strings.Split(raw, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("ENTRAWIZ_SYNC_SIZES: %q is not a number of users", f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkSyncScale is the scale curve: a full sync of a group of 10k,
// 100k and 1M members, in a child process, each with its requests (target:
// ceil(N/999) + 5), the child's peak RSS (target: flat, at most 200 MB at
// 1M), time, users/s and CPU-seconds per 100k users of the client and of
// the simulated tenant; and how long the tenant took to start with N users
// and the heap it holds. Run with -benchtime=1x.
func BenchmarkSyncScale(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			h := newSyncTenant(b, sim.Options{Users: n})
			took := time.Since(start)
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(took.Seconds(), "sim-start-s")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "sim-heap-MB")
			all := h.group(b, "All Users")
			for i := 0; i < b.N; i++ {
				res := syncInChild(b, h, fmt.Sprintf("scale%d", n), all, b.TempDir())
				b.ReportMetric(float64(res.Requests), "requests")
				b.ReportMetric(math.Ceil(float64(n)/999)+5, "requests-limit")
				b.ReportMetric(float64(res.HWMKB)/1024, "peak-RSS-MB")
				b.ReportMetric(res.Seconds, "full-s")
				b.ReportMetric(float64(res.Users)/res.Seconds, "users/s")
				b.ReportMetric(res.cpuPer100k(res.CPU), "client-CPU-s/100k")
				b.ReportMetric(res.cpuPer100k(res.SimCPU), "sim-CPU-s/100k")
				if res.Created < n {
					b.Errorf("created %d users, want %d", res.Created, n)
				}
			}
		})
	}
}

// BenchmarkSyncThreeGroups picks three groups of 33k users each and syncs
// them with 50 ms on every request: read side by side, they take about
// the time of the largest alone, which is synced next for comparison.
// Run with -benchtime=1x.
func BenchmarkSyncThreeGroups(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	// Three generated groups share the users between them.
	h := newSyncTenant(b, sim.Options{Users: 100000, Groups: 3})
	var groups []string
	for _, name := range []string{"Sales Team 1", "Marketing Team 2", "Engineering Team 3"} {
		groups = append(groups, h.group(b, name))
	}
	h.SetFaults(sim.Faults{Latency: 50 * time.Millisecond})
	defer h.SetFaults(sim.Faults{})
	for i := 0; i < b.N; i++ {
		three := syncJobInChild(b, h, childJob{Name: "three", Groups: groups, Dir: b.TempDir()})
		threeRetried := countStatus(h.Server, 429)
		// The first group holds a user more than the others.
		one := syncJobInChild(b, h, childJob{Name: "largest", Group: groups[0], Dir: b.TempDir()})
		b.ReportMetric(three.Seconds, "three-s")
		b.ReportMetric(one.Seconds, "largest-s")
		b.ReportMetric(three.Seconds/one.Seconds, "three/largest")
		b.ReportMetric(float64(three.Requests), "three-requests")
		b.ReportMetric(float64(threeRetried), "three-throttled")
		b.ReportMetric(float64(three.HWMKB)/1024, "three-peak-RSS-MB")
		if three.Created < 100000 {
			b.Errorf("three groups: created %d users, want 100,000", three.Created)
		}
	}
}
