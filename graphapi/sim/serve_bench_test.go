package sim_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// benchParallelism is goroutines per GOMAXPROCS in the serving benchmarks:
// many clients at once, as a sync with parallel pages and several runs
// would be.
const benchParallelism = 8

// parallelClient is the env's client with an idle connection kept for every
// benchmark goroutine, so the figure is requests served and not TLS
// handshakes of connections the pool had to drop.
func parallelClient(b *testing.B, e *env) *http.Client {
	tr := e.hc.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = benchParallelism * 64
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: e.hc.Timeout}
}

// serveParallel sends one request a benchmark op from many goroutines and
// reports the requests per second served. newReq is called per request.
func serveParallel(b *testing.B, hc *http.Client, newReq func() (*http.Request, error)) {
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := newReq()
			if err != nil {
				b.Error(err)
				return
			}
			res, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				b.Errorf("%s %s: status %d, read: %v", req.Method, req.URL.Path, res.StatusCode, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkServeUsersPage measures a page of 100 users with two attributes,
// as a sync reads them, on a 1,000-user tenant with an app-only token.
func BenchmarkServeUsersPage(b *testing.B) {
	e := newEnv(b, sim.Options{Users: 1000, Groups: 20, Seed: 1})
	tok := e.appToken(e.newApp("bench reader", "User.Read.All"))
	u := e.graph("/users?$top=100&$select=id,displayName")
	if r := e.send(http.MethodGet, u, tok, nil, nil); r.status != http.StatusOK || len(values(b, r.json(b))) != 100 {
		b.Fatalf("GET %s: %s", u, r)
	}
	hc := parallelClient(b, e)
	serveParallel(b, hc, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return req, err
	})
}

// BenchmarkServeTokenClientCredentials measures the token endpoint issuing
// app-only tokens (client credentials with a secret).
func BenchmarkServeTokenClientCredentials(b *testing.B) {
	e := newEnv(b, sim.Options{Users: 1000, Groups: 20, Seed: 1})
	a := e.newApp("bench daemon", "User.Read.All")
	e.appToken(a) // fails the benchmark if the grant does not work
	u := e.login("/oauth2/v2.0/token")
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {a.appID}, "client_secret": {a.secret},
		"scope": {"https://graph.microsoft.com/.default"},
	}.Encode()
	hc := parallelClient(b, e)
	serveParallel(b, hc, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	})
}
