package graphapi

import (
	"context"
	"net/url"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// GroupSubgroups returns the IDs of every group nested in a group, at any
// depth (GET /groups/{id}/transitiveMembers/microsoft.graph.group).
func (c *Client) GroupSubgroups(ctx context.Context, groupID string) ([]string, error) {
	top := int32(999)
	count := true
	b := c.sdk.Groups().ByGroupId(groupID).TransitiveMembers().GraphGroup()
	var ids []string
	link := ""
	for {
		cfg := &groups.ItemTransitiveMembersGraphGroupRequestBuilderGetRequestConfiguration{Headers: eventual()}
		req := b
		if link == "" {
			cfg.QueryParameters = &groups.ItemTransitiveMembersGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top, Count: &count}
		} else {
			req = b.WithUrl(link)
		}
		resp, err := req.Get(ctx, cfg)
		if err != nil {
			return nil, wrap("list nested groups", err)
		}
		for _, g := range resp.GetValue() {
			ids = append(ids, deref(g.GetId()))
		}
		if link = deref(resp.GetOdataNextLink()); link == "" {
			return ids, nil
		}
	}
}

// usersByIDChunk is how many IDs one $filter=id in (…) may hold in Graph.
const usersByIDChunk = 15

// UsersByID reads users by ID (GET /users?$filter=id in (…)), 15 a request;
// IDs that do not exist are left out.
func (c *Client) UsersByID(ctx context.Context, ids, sel []string) ([]User, error) {
	if sel == nil {
		sel = DefaultUserSelect()
	}
	var out []User
	for len(ids) > 0 {
		n := min(len(ids), usersByIDChunk)
		quoted := make([]string, n)
		for i, id := range ids[:n] {
			quoted[i] = "'" + odataString(id) + "'"
		}
		ids = ids[n:]
		filter := "id in (" + strings.Join(quoted, ",") + ")"
		resp, err := c.sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: sel},
		})
		if err != nil {
			return nil, wrap("read users", err)
		}
		for _, u := range resp.GetValue() {
			out = append(out, toUser(u))
		}
	}
	return out, nil
}

// LatestDeltaLink returns a deltaLink that reports changes from now on
// without an initial round ($deltatoken=latest): one request instead of a
// page per 200 objects. set is "users" or "groups".
func (c *Client) LatestDeltaLink(ctx context.Context, set string, sel []string) (string, error) {
	q := url.Values{}
	q.Set("$select", strings.Join(sel, ","))
	q.Set("$deltatoken", "latest")
	link := strings.TrimRight(c.cloud.GraphURL, "/") + "/" + set + "/delta?" + q.Encode()
	dq := DeltaQuery{DeltaLink: link}
	if set == "users" {
		return c.UsersDelta(ctx, dq, func(DeltaPage[UserChange]) error { return nil })
	}
	return c.GroupsDelta(ctx, dq, func(DeltaPage[GroupChange]) error { return nil })
}
