package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuSeconds is the CPU time (user + system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkStageFullRun stages a full run of 100k users in pages of 999,
// as the sync engine does, and applies it: the store's share of a sync,
// without Graph. It prints CPU-seconds, which a loaded machine inflates
// far less than wall time.
func BenchmarkStageFullRun(b *testing.B) {
	const users, pageSize = 100000, 999
	r := rand.New(rand.NewPCG(1, 2))
	all := make([]StagedUser, users)
	for i := range all {
		id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
		all[i] = StagedUser{ID: id, UserPrincipalName: fmt.Sprintf("user%d@contoso.example", i), DisplayName: fmt.Sprintf("User %d", i),
			GivenName: "Given", Surname: fmt.Sprintf("Surname%d", i), Mail: fmt.Sprintf("user%d@contoso.example", i),
			JobTitle: "Engineer", Department: "Research", AccountEnabled: true}
	}
	group := "2b6e4a3c-0d1f-4e5a-9b8c-7d6e5f4a3b2c"
	ctx := context.Background()
	var stageCPU, applyCPU float64
	var applyWall time.Duration
	for i := 0; i < b.N; i++ {
		d, err := OpenDirectory(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		st := Stage{Kind: "full", GroupSet: "x", Groups: []string{group}, Step: "read-groups", Dirty: []string{group}}
		if err := d.BeginStage(ctx, st); err != nil {
			b.Fatal(err)
		}
		c0 := cpuSeconds()
		for off := 0; off < users; off += pageSize {
			page := all[off:min(off+pageSize, users)]
			p := StagePage{Users: append([]StagedUser(nil), page...), Members: make([]Membership, len(page)), Stage: st, Now: time.Now()}
			for k, u := range page {
				p.Members[k] = Membership{GroupID: group, MemberID: u.ID}
			}
			p.Stage.Link = fmt.Sprintf("next-%d", off)
			if err := d.StagePage(ctx, &p); err != nil {
				b.Fatal(err)
			}
			st.Planned = p.Stage.Planned
		}
		st.Step = "ready"
		if err := d.StagePage(ctx, &StagePage{Stage: st, Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
		c1, t1 := cpuSeconds(), time.Now()
		plan, err := d.Reconcile(ctx, ReconcileOptions{Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		c2 := cpuSeconds()
		applyWall += time.Since(t1)
		if plan.Created != users {
			b.Fatalf("created %d, want %d", plan.Created, users)
		}
		stageCPU += c1 - c0
		applyCPU += c2 - c1
		d.Close()
	}
	b.ReportMetric(stageCPU/float64(b.N), "stage-CPU-s")
	b.ReportMetric(applyCPU/float64(b.N), "apply-CPU-s")
	b.ReportMetric(applyWall.Seconds()/float64(b.N), "apply-s")
}
