package graphapi

import (
	"context"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// Principal is a user or a group that can be given access to an app or
// made a member of a group.
type Principal struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// UserPrincipalName is set for users only.
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	// Type is "User" or "Group", as appRoleAssignment's principalType.
	Type string `json:"type"`
}

func peopleUserSelect() []string { return []string{"id", "displayName", "userPrincipalName"} }

// GetUser reads a user by object ID or user principal name.
func (c *Client) GetUser(ctx context.Context, idOrUPN string) (*Principal, error) {
	u, err := c.sdk.Users().ByUserId(idOrUPN).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: peopleUserSelect()},
	})
	if err != nil {
		return nil, wrap("get user", err)
	}
	return &Principal{ID: deref(u.GetId()), DisplayName: deref(u.GetDisplayName()),
		UserPrincipalName: deref(u.GetUserPrincipalName()), Type: "User"}, nil
}

// GroupsNamed lists the groups whose display name is exactly name (there
// can be several: Entra does not keep group names unique).
func (c *Client) GroupsNamed(ctx context.Context, name string) ([]Group, error) {
	filter := "displayName eq '" + odataString(name) + "'"
	top := int32(10)
	resp, err := c.sdk.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: groupSelect(), Top: &top},
	})
	if err != nil {
		return nil, wrap("find group", err)
	}
	var out []Group
	for _, g := range resp.GetValue() {
		out = append(out, toGroup(g))
	}
	return out, nil
}

// SearchUsers returns up to top users whose display name or user principal
// name has a word starting with term ($search, ConsistencyLevel: eventual).
func (c *Client) SearchUsers(ctx context.Context, term string, top int) ([]Principal, error) {
	term = strings.TrimSpace(strings.NewReplacer(`"`, "", `\`, "").Replace(term))
	qp := &users.UsersRequestBuilderGetQueryParameters{Select: peopleUserSelect()}
	if term != "" {
		s := `"displayName:` + term + `" OR "userPrincipalName:` + term + `"`
		qp.Search = &s
	}
	if top > 0 {
		t := int32(top)
		qp.Top = &t
	}
	resp, err := c.sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{Headers: eventual(), QueryParameters: qp})
	if err != nil {
		return nil, wrap("search users", err)
	}
	var out []Principal
	for _, u := range resp.GetValue() {
		out = append(out, Principal{ID: deref(u.GetId()), DisplayName: deref(u.GetDisplayName()),
			UserPrincipalName: deref(u.GetUserPrincipalName()), Type: "User"})
	}
	return out, nil
}

// AddGroupMember adds a user or group to a group as a direct member (POST
// /groups/{id}/members/$ref). A member already there is an error of kind
// KindAlreadyExists, as Graph answers it.
func (c *Client) AddGroupMember(ctx context.Context, groupID, memberID string) error {
	ref := models.NewReferenceCreate()
	id := strings.TrimSuffix(c.cloud.GraphURL, "/") + "/directoryObjects/" + memberID
	ref.SetOdataId(&id)
	return wrap("add group member", c.sdk.Groups().ByGroupId(groupID).Members().Ref().Post(ctx, ref, nil))
}
