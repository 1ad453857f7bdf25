package graphapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
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
// its result, not as the error; the error is for the batch itself.
func (c *Client) CheckReads(ctx context.Context, reads []Read) ([]ReadResult, error) {
	if len(reads) == 0 {
		return nil, nil
	}
	if len(reads) > 20 {
		return nil, badInput("check reads", "a batch holds at most 20 requests", "Check fewer permissions at once.")
	}
	batch := msgraphcore.NewBatchRequest(c.adapter)
	ids := make([]string, len(reads))
	for i, rd := range reads {
		info := abs.NewRequestInformation()
		info.Method = abs.GET
		info.UrlTemplate = "{+baseurl}" + rd.Path
		info.PathParameters["baseurl"] = c.adapter.GetBaseUrl()
		info.Headers.Add("Accept", "application/json")
		if rd.Eventual {
			info.Headers.Add("ConsistencyLevel", "eventual")
		}
		item, err := batch.AddBatchRequestStep(*info)
		if err != nil {
			return nil, wrap("check reads", err)
		}
		ids[i] = *item.GetId()
	}
	resp, err := batch.Send(ctx, c.adapter)
	if err != nil {
		return nil, wrap("check reads", err)
	}
	out := make([]ReadResult, len(reads))
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
	}
	return out, nil
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
