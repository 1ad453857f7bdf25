package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// batchRequest is one request of a JSON batch (POST /$batch), as documented
// in "Combine multiple HTTP requests using JSON batching".
type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// serveBatch answers POST /v1.0/$batch: up to 20 requests, each run as if
// sent alone with the batch's token (throttling and faults apply to each),
// in order, honouring dependsOn with 424 Failed Dependency.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
		return
	}
	if len(body.Requests) == 0 || len(body.Requests) > 20 {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Number of batch requests must be between 1 and 20.")
		return
	}
	seen := map[string]bool{}
	for _, br := range body.Requests {
		if br.ID == "" || seen[strings.ToLower(br.ID)] || br.Method == "" || br.URL == "" {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Each batch request needs a unique id, a method and a url.")
			return
		}
		seen[strings.ToLower(br.ID)] = true
	}
	status := map[string]int{}
	var responses []map[string]any
	for _, br := range body.Requests {
		failedDep := ""
		for _, dep := range br.DependsOn {
			if code, ok := status[strings.ToLower(dep)]; !ok || code >= 400 {
				failedDep = dep
			}
		}
		if failedDep != "" {
			status[strings.ToLower(br.ID)] = http.StatusFailedDependency
			responses = append(responses, map[string]any{"id": br.ID, "status": http.StatusFailedDependency,
				"headers": map[string]string{"Content-Type": "application/json"},
				"body": map[string]any{"error": map[string]any{"code": "FailedDependency",
					"message": fmt.Sprintf("The request depends on request %s, which failed.", failedDep)}}})
			continue
		}
		rec := s.runBatchItem(r, br)
		status[strings.ToLower(br.ID)] = rec.Code
		headers := map[string]string{}
		for k := range rec.Header() {
			headers[k] = rec.Header().Get(k)
		}
		item := map[string]any{"id": br.ID, "status": rec.Code, "headers": headers}
		if b := bytes.TrimSpace(rec.Body.Bytes()); len(b) > 0 {
			if json.Valid(b) && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				item["body"] = json.RawMessage(b)
			} else {
				item["body"] = string(b)
			}
		}
		responses = append(responses, item)
	}
	writeGraphJSON(w, http.StatusOK, map[string]any{"responses": responses})
}

func (s *Server) runBatchItem(outer *http.Request, br batchRequest) *httptest.ResponseRecorder {
	target := "/v1.0/" + strings.TrimPrefix(br.URL, "/")
	// The Graph SDKs send "body": null for requests without one.
	hasBody := len(br.Body) > 0 && string(br.Body) != "null"
	body := bytes.NewReader(nil)
	if hasBody {
		body = bytes.NewReader(br.Body)
	}
	rec := httptest.NewRecorder()
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(br.Method), target, body)
	if err != nil {
		writeGraphError(rec, outer, http.StatusBadRequest, "BadRequest", "Invalid request URL in the batch: "+br.URL)
		return rec
	}
	if hasBody && br.Headers["Content-Type"] == "" && br.Headers["content-type"] == "" {
		writeGraphError(rec, outer, http.StatusBadRequest, "BadRequest", "Content-Type header is required for a batch request with a body.")
		return rec
	}
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", outer.Header.Get("Authorization"))
	rec.Header().Set("request-id", newUUID())
	start := time.Now()
	s.graphItem(rec, req)
	s.log.add(LoggedRequest{Service: "graph-batch", Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
		Status: rec.Code, Took: time.Since(start)})
	return rec
}
