package sim

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// requestLog counts what the tenant was asked, for tests and benchmarks.
type requestLog struct {
	mu      sync.Mutex
	entries []LoggedRequest
}

// LoggedRequest is one request the tenant answered.
type LoggedRequest struct {
	Service string        `json:"service"` // "login", "graph", or "graph-batch" (a request inside a $batch)
	Method  string        `json:"method"`
	Path    string        `json:"path"`
	Query   string        `json:"query,omitempty"`
	Grant   string        `json:"grant,omitempty"` // token endpoint: grant_type
	Status  int           `json:"status"`
	Took    time.Duration `json:"took"`
}

// IsGraphWrite reports whether the request changed, or asked to change,
// the directory: a Graph request other than a read. A JSON batch is judged
// by its items, which the log holds one by one, not by its POST envelope.
func (r LoggedRequest) IsGraphWrite() bool {
	switch {
	case r.Service != "graph" && r.Service != "graph-batch":
		return false
	case r.Service == "graph" && r.Path == "/v1.0/$batch":
		return false
	}
	return r.Method != http.MethodGet
}

func newRequestLog() *requestLog { return &requestLog{} }

func (l *requestLog) add(r LoggedRequest) {
	l.mu.Lock()
	l.entries = append(l.entries, r)
	l.mu.Unlock()
}

// Requests returns a copy of every request answered since the last reset.
func (s *Server) Requests() []LoggedRequest {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]LoggedRequest(nil), s.log.entries...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.log.mu.Lock()
	s.log.entries = nil
	s.log.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// withCommon adds what every response of the service has: latency, request
// IDs, gzip request bodies, and the request log.
func (s *Server) withCommon(service string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		isControl := strings.HasPrefix(r.URL.Path, "/_sim")
		if f := s.CurrentFaults(); f.Latency > 0 && !isControl {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The request body could not be decompressed.")
				return
			}
			body, err := io.ReadAll(zr)
			if err != nil {
				writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The request body could not be decompressed.")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.Header.Del("Content-Encoding")
			r.ContentLength = int64(len(body))
		}
		reqID := newUUID()
		if service == "graph" {
			w.Header().Set("request-id", reqID)
			if c := r.Header.Get("client-request-id"); c != "" {
				w.Header().Set("client-request-id", c)
			}
			w.Header().Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"SIM"}}`)
		} else {
			w.Header().Set("x-ms-request-id", reqID)
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if isControl {
			return
		}
		entry := LoggedRequest{Service: service, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Status: rec.status, Took: time.Since(start)}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			entry.Grant = r.PostForm.Get("grant_type")
		}
		s.log.add(entry)
	})
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(appendJSON(nil, v), '\n'))
}

// writeGraphJSON writes a Graph success body with the OData content type
// Graph uses.
func writeGraphJSON(w http.ResponseWriter, status int, v any) {
	writeGraphBody(w, status, append(appendJSON(nil, v), '\n'))
}

// writeGraphBody writes a Graph JSON body already encoded.
func writeGraphBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

// writeGraphError writes the documented Graph error envelope; it always has a
// message.
func writeGraphError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	inner := map[string]any{
		"date":       time.Now().UTC().Format("2006-01-02T15:04:05"),
		"request-id": w.Header().Get("request-id"),
	}
	// Graph always names the client request; without one from the client it
	// reuses the request-id (graph-errors.json, the 403 example).
	inner["client-request-id"] = inner["request-id"]
	if c := r.Header.Get("client-request-id"); c != "" {
		inner["client-request-id"] = c
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message, "innerError": inner}})
}

// writeTokenError writes the identity platform's error body: error,
// error_description starting with the AADSTS code, error_codes, and trace
// identifiers.
func writeTokenError(w http.ResponseWriter, status int, errCode string, aadsts int, text string) {
	writeJSON(w, status, tokenErrorBody(errCode, aadsts, text))
}

func tokenErrorBody(errCode string, aadsts int, text string) map[string]any {
	trace, corr := newUUID(), newUUID()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, text, trace, corr, ts)
	return map[string]any{
		"error":             errCode,
		"error_description": desc,
		"error_codes":       []int{aadsts},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts),
	}
}

// randomToken returns n random bytes, base64url encoded: opaque codes and
// refresh tokens.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64(b)
}

// userCode returns a nine-character code like the ones Entra shows.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
