package graphapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Read is one Graph read that proves a permission works, such as
// User.Read.All → GET /users?$top=1.
type Read struct {
	Permission string
	Path       string // relative to the service root, e.g. "/users?$top=1&$select=id"
	Eventual   bool   // send ConsistencyLevel: eventual
}

// ReadResult is how a Read went.
type ReadResult struct {
	Read
	Status int
	Err    *Error // nil when Status is 2xx
}

// CheckReads performs the reads in one JSON batch (up to 20), so checking
// every permission of an app costs one request. A failed read is reported in
// its result, not as the error; the error is for the batch itself. Reads the
// batch answers with 429, 503 or 504 (Graph throttles each item on its own)
// are sent again after their Retry-After, one request each, so that the
// client's retry handler deals with further throttling.
func (c *Client) CheckReads(ctx context.Context, reads []Read) ([]ReadResult, error) {
	if len(reads) == 0 {
		return nil, nil
	}
	if len(reads) > 20 {
		return nil, badInput("check reads", "a batch holds at most 20 requests", "Check fewer permissions at once.")
	}
	out := make([]ReadResult, len(reads))
	again, wait, err := c.sendReads(ctx, reads, out)
	if err != nil {
		return nil, err
	}
	if len(again) == 0 {
		return out, nil
	}
	t := time.NewTimer(wait)
	select {
	case <-ctx.Done():
		t.Stop()
		return nil, wrap("check reads", ctx.Err())
	case <-t.C:
	}
	for _, i := range again {
		out[i] = c.readOne(ctx, reads[i])
	}
	return out, nil
}

// readInfo is the GET request of a read.
func (c *Client) readInfo(rd Read) *abs.RequestInformation {
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.UrlTemplate = "{+baseurl}" + rd.Path
	info.PathParameters["baseurl"] = c.adapter.GetBaseUrl()
	info.Headers.Add("Accept", "application/json")
	if rd.Eventual {
		info.Headers.Add("ConsistencyLevel", "eventual")
	}
	return info
}

// readOne performs one read as a request of its own.
func (c *Client) readOne(ctx context.Context, rd Read) ReadResult {
	errs := abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
	if _, err := c.adapter.SendPrimitive(ctx, c.readInfo(rd), "[]byte", errs); err != nil {
		e := *Classify(err)
		e.Op = "read " + rd.Path
		return ReadResult{Read: rd, Status: e.Status, Err: &e}
	}
	return ReadResult{Read: rd, Status: http.StatusOK}
}

// sendReads sends the reads in one batch and fills their results; it
// returns the throttled ones to send again and how long to wait first.
func (c *Client) sendReads(ctx context.Context, reads []Read, out []ReadResult) ([]int, time.Duration, error) {
	batch := msgraphcore.NewBatchRequest(c.adapter)
	ids := make([]string, len(reads))
	for i, rd := range reads {
		item, err := batch.AddBatchRequestStep(*c.readInfo(rd))
		if err != nil {
			return nil, 0, wrap("check reads", err)
		}
		ids[i] = *item.GetId()
	}
	resp, err := batch.Send(ctx, c.adapter)
	if err != nil {
		return nil, 0, wrap("check reads", err)
	}
	var again []int
	var wait time.Duration
	for i, rd := range reads {
		out[i] = ReadResult{Read: rd}
		item := resp.GetResponseById(ids[i])
		if item == nil || item.GetStatus() == nil {
			out[i].Err = &Error{Kind: KindServer, Op: "read " + rd.Path, Message: "the batch response has no answer for this read",
				Remedy: "Run the test again."}
			continue
		}
		out[i].Status = int(*item.GetStatus())
		if out[i].Status >= 300 {
			out[i].Err = batchItemError(rd.Path, out[i].Status, item.GetBody())
		}
		switch out[i].Status {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			again = append(again, i)
			wait = max(wait, itemRetryAfter(item.GetHeaders()))
		}
	}
	return again, wait, nil
}

// itemRetryAfter reads a batch item's Retry-After (seconds, possibly
// fractional); one second when it has none, at most a minute.
func itemRetryAfter(h map[string]string) time.Duration {
	for k, v := range h {
		if strings.EqualFold(k, "Retry-After") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 {
				return min(time.Duration(f*float64(time.Second)), time.Minute)
			}
		}
	}
	return time.Second
}

// batchItemError classifies a failed batch item from its Graph error body
// with the same rules as a failed request.
func batchItemError(path string, status int, body map[string]any) *Error {
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if b, err := json.Marshal(body); err == nil {
		json.Unmarshal(b, &env)
	}
	e := &Error{Op: "read " + path, Status: status, Code: env.Error.Code, Message: firstLine(env.Error.Message),
		RequestID: env.Error.InnerError.RequestID}
	classifyGraphCode(e)
	if e.Message == "" {
		e.Message = fmt.Sprintf("%d %s", status, http.StatusText(status))
	}
	return e
}
