package graphapi

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Tracer writes one line per HTTP call to the identity platform or Graph:
// service, method, path, status, request-id, duration and retry attempt. It
// never writes a query string, header value other than the request-id, or
// body, so no token, secret or secret-bearing body can appear in it. A nil
// *Tracer traces nothing.
type Tracer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewTracer returns a Tracer writing to w, or nil (tracing off) if w is nil.
func NewTracer(w io.Writer) *Tracer {
	if w == nil {
		return nil
	}
	return &Tracer{w: w, now: time.Now}
}

// Transport wraps base so that every round trip is traced under service
// ("login" or "graph"). With a nil Tracer it returns base unchanged.
func (t *Tracer) Transport(service string, base http.RoundTripper) http.RoundTripper {
	if t == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &traceTransport{t: t, service: service, base: base}
}

// Printf writes a free-form trace line (retry waits, sign-in phases); it
// must never be given a secret.
func (t *Tracer) Printf(format string, args ...any) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "%s %s\n", t.now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

type traceTransport struct {
	t       *Tracer
	service string
	base    http.RoundTripper
}

// RoundTrip traces one attempt. It sits below the SDK's retry handler, so
// each retried attempt gets its own line with its Retry-Attempt number.
func (tt *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := tt.t.now()
	resp, err := tt.base.RoundTrip(req)
	took := tt.t.now().Sub(start).Round(time.Millisecond)
	retry := ""
	if a := req.Header.Get("Retry-Attempt"); a != "" {
		retry = " retry=" + a
	}
	if err != nil {
		tt.t.Printf("%s %s %s failed after %s: %s%s", tt.service, req.Method, req.URL.EscapedPath(), took, errorClass(err), retry)
		return resp, err
	}
	id := resp.Header.Get("request-id")
	if id == "" {
		id = resp.Header.Get("x-ms-request-id")
	}
	if id != "" {
		id = " request-id=" + id
	}
	extra := ""
	if ra := resp.Header.Get("Retry-After"); ra != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		extra = " retry-after=" + ra
	}
	tt.t.Printf("%s %s %s %d %s%s%s%s", tt.service, req.Method, req.URL.EscapedPath(), resp.StatusCode, took, id, retry, extra)
	return resp, err
}

// errorClass names a transport failure without its text, which can hold a URL.
func errorClass(err error) string {
	e := Classify(err)
	if e.Code != "" {
		return e.Code
	}
	return e.Kind.String()
}
