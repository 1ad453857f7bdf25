package steps_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// childEnv carries what a sync in a child process needs; the child is this
// test binary running TestSyncChild, so that its peak RSS is the sync's
// alone, without the simulated tenant's.
const childEnv = "ENTRAWIZ_SYNC_CHILD"

type childJob struct {
	Info   sim.Info `json:"info"`
	AppID  string   `json:"appId"`
	Secret string   `json:"secret"`
	Group  string   `json:"group"`
	// Groups, when set, are the picked groups instead of Group.
	Groups []string `json:"groups,omitempty"`
	Dir    string   `json:"dir"`
	Name   string   `json:"name"` // suffix of the profile and trace files
	// Pages makes the child print "PAGE n" on stdout after each page it
	// commits, for a parent that kills it part way.
	Pages bool `json:"pages"`
}

type childResult struct {
	Users    int     `json:"users"`
	Created  int     `json:"created"`
	Requests int     `json:"-"` // Graph requests, from the tenant's log
	Seconds  float64 `json:"seconds"`
	HWMKB    int     `json:"hwmKB"`
	Error    string  `json:"error,omitempty"`
	// Measured by the parent: exec to exit, the child's CPU time (user +
	// system, start-up and sign-in included), and the parent's own CPU
	// time meanwhile, which is the simulated tenant's serving the child.
	Process, CPU, SimCPU float64 `json:"-"`
}

// cpuPer100k is CPU-seconds per 100k users read.
func (r childResult) cpuPer100k(cpu float64) float64 {
	return cpu * 100000 / float64(max(r.Users, 1))
}

// cpuSeconds is the CPU time (user + system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestSyncChild is the child half of the benchmarks; it does nothing in a
// normal test run.
func TestSyncChild(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("only run by the sync benchmarks")
	}
	var job childJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatal(err)
	}
	res := runChild(job)
	b, _ := json.Marshal(res)
	fmt.Println("RESULT " + string(b))
}

// openChild makes a benchmark child's app-only client and opens its
// directory database.
func openChild(job childJob) (*graphapi.AppSession, *store.DirDB, error) {
	cloud, err := graphapi.NewCloud("", job.Info.LoginURL, job.Info.GraphURL, job.Info.CAFile)
	if err != nil {
		return nil, nil, err
	}
	sess, err := graphapi.NewAppSession(graphapi.AppOptions{Cloud: cloud, Tenant: job.Info.TenantID, ClientID: job.AppID, Secret: job.Secret})
	if err != nil {
		return nil, nil, err
	}
	db, err := store.OpenDirectory(job.Dir)
	return sess, db, err
}

func runChild(job childJob) childResult {
	fail := func(err error) childResult { return childResult{Error: err.Error()} }
	sess, db, err := openChild(job)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	if path := os.Getenv("ENTRAWIZ_SYNC_CPUPROFILE"); path != "" {
		f, err := os.Create(path + "." + job.Name)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	start := time.Now()
	var last time.Time
	report := func(ev steps.Event) {
		if os.Getenv("ENTRAWIZ_SYNC_TRACE") != "" && (ev.Sync == nil || ev.Sync.Phase != "read-groups" || time.Since(last) > time.Second) {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "%6.2fs %s\n", time.Since(start).Seconds(), ev.Message)
		}
	}
	groups := job.Groups
	if groups == nil {
		groups = []string{job.Group}
	}
	o := steps.SyncOptions{Graph: sess.Graph, DB: db, Groups: groups, Report: report}
	if job.Pages {
		o.AfterPage = func(n int) error {
			fmt.Printf("PAGE %d\n", n)
			return nil
		}
	}
	res, err := steps.SyncUsers(context.Background(), o)
	if err != nil {
		return fail(err)
	}
	return childResult{Users: res.Users, Created: res.Plan.Created, Seconds: time.Since(start).Seconds(), HWMKB: vmHWM()}
}

// vmHWM is this process's peak resident set size in KiB.
func vmHWM() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return -1
}

func syncInChild(b *testing.B, h *syncTenant, name, group, dir string) childResult {
	b.Helper()
	return syncJobInChild(b, h, childJob{Name: name, Group: group, Dir: dir})
}

// syncJobInChild runs a sync in a child process, with the tenant's request
// log reset before it.
func syncJobInChild(b *testing.B, h *syncTenant, job childJob) childResult {
	b.Helper()
	job.Info, job.AppID, job.Secret = h.Info(), h.appID, h.secret
	raw, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	h.ResetRequests()
	start, cpu0 := time.Now(), cpuSeconds()
	if err := cmd.Run(); err != nil {
		b.Fatalf("child: %v\n%s", err, out.String())
	}
	took, simCPU := time.Since(start), cpuSeconds()-cpu0
	if path := os.Getenv("ENTRAWIZ_SYNC_TRACE"); path != "" {
		os.WriteFile(path+"."+job.Name, out.Bytes(), 0o644)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var res childResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				b.Fatal(err)
			}
			if res.Error != "" {
				b.Fatalf("child sync: %s", res.Error)
			}
			res.Process, res.SimCPU = took.Seconds(), simCPU
			res.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			res.Requests = graphRequests(h.Server)
			return res
		}
	}
	b.Fatalf("child printed no result:\n%s", out.String())
	return childResult{}
}

// transitivePages counts the pages of users the tenant served since its log
// was reset.
func transitivePages(h *syncTenant) int {
	n := 0
	for _, r := range h.Requests() {
		if strings.Contains(r.Path, "/transitiveMembers/") && r.Status == 200 {
			n++
		}
	}
	return n
}

// BenchmarkSyncFull100k syncs the 100k-member "All Users" group in a child
// process: requests, users/s and peak RSS at zero latency, then the wall
// time with 50 ms of latency on every request, then an incremental run of
// 100 changes. Run with -benchtime=1x.
func BenchmarkSyncFull100k(b *testing.B) {
	// Graph does not run on the sync's cores; the simulated tenant here
	// does. Its 100k users are a large live heap, so its collector is
	// given a higher target to take less of the two cores from the sync
	// under test.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	h := newSyncTenant(b, sim.Options{Users: 100000, Groups: 500})
	all := h.group(b, "All Users")
	maxReq := float64(int(math.Ceil(100000.0/999)) + 5)
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		res := syncInChild(b, h, "full", all, dir)
		// How long the sim itself took per users page: the floor under
		// the fetch phase, whatever the client does.
		var simTook time.Duration
		for _, r := range h.Requests() {
			if strings.Contains(r.Path, "/transitiveMembers/") {
				simTook += r.Took
			}
		}
		b.ReportMetric(simTook.Seconds(), "sim-serve-s")
		b.ReportMetric(float64(res.Requests), "requests")
		b.ReportMetric(maxReq, "requests-limit")
		b.ReportMetric(float64(res.Users)/res.Seconds, "users/s")
		b.ReportMetric(float64(res.HWMKB)/1024, "peak-RSS-MB")
		b.ReportMetric(res.Seconds, "full-s")
		b.ReportMetric(res.cpuPer100k(res.CPU), "client-CPU-s/100k")
		b.ReportMetric(res.cpuPer100k(res.SimCPU), "sim-CPU-s/100k")
		if res.Created < 100000 {
			b.Errorf("created %d users, want all of them", res.Created)
		}

		h.SetFaults(sim.Faults{Latency: 50 * time.Millisecond})
		slow := syncInChild(b, h, "latency", all, b.TempDir())
		pages := transitivePages(h)
		h.SetFaults(sim.Faults{})
		b.ReportMetric(slow.Seconds, "latency50ms-wall-s")
		// The same with the process around it: start, sign-in, database
		// open and close.
		b.ReportMetric(slow.Process, "latency50ms-process-s")
		b.ReportMetric(float64(pages), "latency50ms-pages")
		b.ReportMetric(1.1*float64(pages)*0.05, "latency50ms-limit-s")
		b.ReportMetric(1.2*float64(slow.Requests)*0.05, "latency50ms-old-limit-s")

		// 100 changes: 40 renames, 30 disabled, 20 leave, 10 new users join.
		for k := 0; k < 40; k++ {
			must2(b, h.RenameUser(genUser(h, 1000+k), fmt.Sprintf("Renamed %d", k)))
		}
		for k := 0; k < 30; k++ {
			must2(b, h.DisableUser(genUser(h, 2000+k)))
		}
		for k := 0; k < 20; k++ {
			must2(b, h.RemoveMember(all, genUser(h, 3000+k)))
		}
		for k := 0; k < 10; k++ {
			must2(b, h.AddMember(all, h.CreateUser(fmt.Sprintf("New Joiner%d", k))))
		}
		db, err := store.OpenDirectory(dir)
		if err != nil {
			b.Fatal(err)
		}
		h.ResetRequests()
		start := time.Now()
		inc, err := steps.SyncUsers(context.Background(), steps.SyncOptions{Graph: h.graph, DB: db, Groups: []string{all}})
		took := time.Since(start)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(graphRequests(h.Server)), "incr-requests")
		b.ReportMetric(took.Seconds(), "incr-s")
		// Generated user 3006 is disabled in Entra already: leaving
		// changes nothing for it.
		if p := inc.Plan; inc.Kind != "incremental" || p.Created != 10 || p.Disabled != 49 || p.Updated != 40 {
			b.Errorf("incremental run: %s: created %d updated %d disabled %d", inc.Kind, p.Created, p.Updated, p.Disabled)
		}
	}
}

func must2(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
