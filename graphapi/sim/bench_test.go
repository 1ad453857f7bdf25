package sim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// BenchmarkStart100k measures generating and serving a 100k-user tenant.
func BenchmarkStart100k(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		srv, err := sim.Start(sim.Options{Users: 100000, Groups: 500})
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/start")
}

// BenchmarkTransitiveAllUsers100k reads every user of the group that holds
// everyone, as a full sync does: transitiveMembers cast to users, 999 a
// page, the selected attributes only.
func BenchmarkTransitiveAllUsers100k(b *testing.B) {
	e := newEnv(b, sim.Options{Users: 100000, Groups: 500})
	all, err := e.srv.GroupID("All Users")
	if err != nil {
		b.Fatal(err)
	}
	first := e.graph("/groups/" + all + "/transitiveMembers/graph.user?$count=true&$top=999" +
		"&$select=id,displayName,userPrincipalName,accountEnabled")
	tok := e.admin()
	var users, requests int
	var took time.Duration
	for b.Loop() {
		start := time.Now()
		for next := first; next != ""; {
			r := e.send(http.MethodGet, next, tok, eventual, nil)
			requests++
			if r.status != http.StatusOK {
				b.Fatalf("GET %s: %s", next, r)
			}
			body := r.json(b)
			users += len(body["value"].([]any))
			next, _ = body["@odata.nextLink"].(string)
		}
		took += time.Since(start)
	}
	if want := 100002 * b.N; users != want {
		b.Fatalf("read %d users, want %d", users, want)
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(users)/took.Seconds(), "users/s")
}

// BenchmarkUsersDelta100k runs an initial users/delta round over a
// 100k-user tenant, asking for the largest pages delta gives.
func BenchmarkUsersDelta100k(b *testing.B) {
	e := newEnv(b, sim.Options{Users: 100000, Groups: 500})
	tok := e.admin()
	hdr := map[string]string{"Prefer": "odata.maxpagesize=999"}
	var users, requests int
	var took time.Duration
	for b.Loop() {
		start := time.Now()
		for next := e.graph("/users/delta?$select=displayName,userPrincipalName,accountEnabled"); next != ""; {
			r := e.send(http.MethodGet, next, tok, hdr, nil)
			requests++
			if r.status != http.StatusOK {
				b.Fatalf("GET %s: %s", next, r)
			}
			body := r.json(b)
			users += len(body["value"].([]any))
			next, _ = body["@odata.nextLink"].(string)
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(users)/took.Seconds(), "users/s")
}
