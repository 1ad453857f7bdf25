package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Group is a directory group.
type Group struct {
	ID              string
	DisplayName     string
	Description     string
	Mail            string
	SecurityEnabled bool
	MailEnabled     bool
	GroupTypes      []string
}

// GroupQuery asks for one page of groups. With NextLink set, the other
// fields are ignored and that page is fetched.
type GroupQuery struct {
	Search   string // matched against displayName with $search; empty lists all
	Top      int    // page size (Graph allows 1..999); 0 means Graph's default
	NextLink string // from a previous GroupPage
}

// GroupPage is one page of groups and the link to the next, so that a UI
// can page through a tenant with 100k groups without loading them all.
type GroupPage struct {
	Groups   []Group
	NextLink string // empty on the last page
	Count    int64  // total matches (first page only); -1 when not known
}

// MemberQuery shapes a member listing.
type MemberQuery struct {
	Select   []string // user properties; nil means DefaultUserSelect
	PageSize int      // $top; 0 means 999, the most Graph allows
	NextLink string   // resume a walk at this page (from GroupUserPages)
}

// DefaultUserSelect is the user properties sync reads.
func DefaultUserSelect() []string {
	return []string{"id", "userPrincipalName", "displayName", "givenName", "surname", "mail",
		"jobTitle", "department", "accountEnabled"}
}

func groupSelect() []string {
	return []string{"id", "displayName", "description", "mail", "securityEnabled", "mailEnabled", "groupTypes"}
}

// eventual returns the ConsistencyLevel header advanced queries need; it
// must be sent again on every nextLink request.
func eventual() *abs.RequestHeaders {
	h := abs.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

// SearchGroups returns one page of groups, searching display names
// server-side ($search with ConsistencyLevel: eventual and $count=true).
func (c *Client) SearchGroups(ctx context.Context, q GroupQuery) (*GroupPage, error) {
	b := c.sdk.Groups()
	cfg := &groups.GroupsRequestBuilderGetRequestConfiguration{Headers: eventual()}
	if q.NextLink != "" {
		b = b.WithUrl(q.NextLink)
	} else {
		count := true
		qp := &groups.GroupsRequestBuilderGetQueryParameters{Count: &count, Select: groupSelect()}
		// Quotes and backslashes would break out of $search="displayName:term".
		if term := strings.TrimSpace(strings.NewReplacer(`"`, "", `\`, "").Replace(q.Search)); term != "" {
			s := `"displayName:` + term + `"`
			qp.Search = &s
		}
		if q.Top != 0 {
			top := int32(q.Top)
			qp.Top = &top
		}
		cfg.QueryParameters = qp
	}
	resp, err := b.Get(ctx, cfg)
	if err != nil {
		return nil, wrap("search groups", err)
	}
	page := &GroupPage{NextLink: deref(resp.GetOdataNextLink()), Count: -1}
	if n := resp.GetOdataCount(); n != nil {
		page.Count = *n
	}
	for _, g := range resp.GetValue() {
		page.Groups = append(page.Groups, toGroup(g))
	}
	return page, nil
}

// GetGroup reads a group by ID.
func (c *Client) GetGroup(ctx context.Context, id string) (*Group, error) {
	g, err := c.sdk.Groups().ByGroupId(id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: groupSelect()},
	})
	if err != nil {
		return nil, wrap("get group", err)
	}
	res := toGroup(g)
	return &res, nil
}

// FindGroupByName returns the group with exactly this display name, or nil
// when there is none. With several, the oldest is returned.
func (c *Client) FindGroupByName(ctx context.Context, displayName string) (*Group, error) {
	filter := "displayName eq '" + odataString(displayName) + "'"
	resp, err := c.sdk.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: groupSelect()},
	})
	if err != nil {
		return nil, wrap("find group", err)
	}
	for _, g := range resp.GetValue() {
		res := toGroup(g)
		return &res, nil
	}
	return nil, nil
}

// CreateSecurityGroup creates a security group (not mail-enabled).
func (c *Client) CreateSecurityGroup(ctx context.Context, displayName, description string) (*Group, error) {
	if strings.TrimSpace(displayName) == "" {
		return nil, badInput("create group", "the group needs a display name", "Set createGroup.displayName in the profile.")
	}
	body := models.NewGroup()
	nick := mailNickname(displayName)
	f, t := false, true
	body.SetDisplayName(&displayName)
	body.SetMailNickname(&nick)
	body.SetMailEnabled(&f)
	body.SetSecurityEnabled(&t)
	body.SetGroupTypes([]string{})
	if description != "" {
		body.SetDescription(&description)
	}
	g, err := c.sdk.Groups().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("create group", err)
	}
	res := toGroup(g)
	return &res, nil
}

// mailNickname derives a valid mailNickname (ASCII, no spaces or
// @()\[]";:.<>, , at most 64 characters) from a display name.
func mailNickname(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r > 32 && r < 127 && !strings.ContainsRune(`@()\[]";:.<>,`, r) {
			b.WriteRune(r)
		}
		if b.Len() == 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "entrawiz-group"
	}
	return b.String()
}

// GroupMemberCount counts a group's members: all nested members with
// transitive (GET /groups/{id}/transitiveMembers/$count), else direct ones.
func (c *Client) GroupMemberCount(ctx context.Context, groupID string, transitive bool) (int64, error) {
	var n *int32
	var err error
	if transitive {
		n, err = c.sdk.Groups().ByGroupId(groupID).TransitiveMembers().Count().Get(ctx,
			&groups.ItemTransitiveMembersCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	} else {
		n, err = c.sdk.Groups().ByGroupId(groupID).Members().Count().Get(ctx,
			&groups.ItemMembersCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	}
	if err != nil {
		return 0, wrap("count group members", err)
	}
	return int64(deref(n)), nil
}

// GroupUserCount counts the users in a group at any depth of nesting (GET
// /groups/{id}/transitiveMembers/microsoft.graph.user/$count): the users a
// sync of the group reads, without the nested groups themselves.
func (c *Client) GroupUserCount(ctx context.Context, groupID string) (int64, error) {
	n, err := c.sdk.Groups().ByGroupId(groupID).TransitiveMembers().GraphUser().Count().Get(ctx,
		&groups.ItemTransitiveMembersGraphUserCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil {
		return 0, wrap("count group users", err)
	}
	return int64(deref(n)), nil
}

// GroupUsers streams the users in a group, nested groups included (GET
// /groups/{id}/transitiveMembers/graph.user), one page at a time: onPage
// gets each page as it arrives, while the next page is being fetched, and
// can stop the walk by returning an error.
func (c *Client) GroupUsers(ctx context.Context, groupID string, q MemberQuery, onPage func([]User) error) error {
	return c.GroupUserPages(ctx, groupID, q, func(p UserPage) error { return onPage(p.Users) })
}

// GroupUserPages is GroupUsers that also gives each page's next link (""
// on the last page), so a caller can save where it stands and resume a
// walk later with MemberQuery.NextLink, and, on the first page, how many
// users there are.
func (c *Client) GroupUserPages(ctx context.Context, groupID string, q MemberQuery, onPage func(UserPage) error) error {
	sel := q.Select
	if sel == nil {
		sel = DefaultUserSelect()
	}
	top := int32(q.PageSize)
	if top == 0 {
		top = 999
	}
	count := true
	b := c.sdk.Groups().ByGroupId(groupID).TransitiveMembers().GraphUser()
	// The pages are decoded with encoding/json rather than kiota's
	// models: kiota builds a map of ~100 field deserializers for every
	// user, which made decoding most of a 100k-user sync's CPU time.
	errs := abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
	// The next page is asked for as soon as a page's nextLink is found,
	// and the page is decoded meanwhile: decoding 999 users is a tenth of
	// a page's round trip.
	fetch := func(ctx context.Context, link string) ([]byte, string, error) {
		if link == "" {
			link = q.NextLink
		}
		cfg := &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: eventual()}
		req := b
		if link == "" {
			cfg.QueryParameters = &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: sel, Top: &top, Count: &count}
		} else {
			req = b.WithUrl(link)
		}
		info, err := req.ToGetRequestInformation(ctx, cfg)
		if err != nil {
			return nil, "", wrap("list group users", err)
		}
		raw, err := c.adapter.SendPrimitive(ctx, info, "[]byte", errs)
		if err != nil {
			return nil, "", wrap("list group users", err)
		}
		body, _ := raw.([]byte)
		next, err := nextLinkOf(body)
		if err != nil {
			return nil, "", badUserPage(err)
		}
		return body, next, nil
	}
	decode := func(body []byte) (UserPage, error) {
		var resp struct {
			Value []struct {
				ID                string `json:"id"`
				UserPrincipalName string `json:"userPrincipalName"`
				DisplayName       string `json:"displayName"`
				GivenName         string `json:"givenName"`
				Surname           string `json:"surname"`
				Mail              string `json:"mail"`
				JobTitle          string `json:"jobTitle"`
				Department        string `json:"department"`
				AccountEnabled    *bool  `json:"accountEnabled"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
			Count    *int   `json:"@odata.count"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return UserPage{}, badUserPage(err)
		}
		page := make([]User, len(resp.Value))
		for i, u := range resp.Value {
			page[i] = User(u)
		}
		return UserPage{Users: page, Next: resp.NextLink, Count: resp.Count}, nil
	}
	return streamDecoded(ctx, fetch, decode, onPage)
}

func badUserPage(err error) error {
	return &Error{Kind: KindServer, Op: "list group users", Code: "BadResponse",
		Message: "the answer is not the JSON Graph sends: " + err.Error(), Remedy: "Run the sync again; report this if it repeats."}
}

// nextLinkOf finds a collection page's @odata.nextLink without decoding
// the page. In JSON the bytes "@odata.nextLink" followed by a colon can
// only be an object key (a quote inside a string is escaped), and the
// users of a page without $expand have no such key, so the last one is
// the page's.
func nextLinkOf(body []byte) (string, error) {
	const key = `"@odata.nextLink"`
	for rest := body; ; {
		i := bytes.LastIndex(rest, []byte(key))
		if i < 0 {
			return "", nil
		}
		after := bytes.TrimLeft(body[i+len(key):], " \t\r\n")
		if len(after) == 0 || after[0] != ':' {
			rest = rest[:i]
			continue
		}
		var link string
		dec := json.NewDecoder(bytes.NewReader(after[1:]))
		if err := dec.Decode(&link); err != nil {
			return "", err
		}
		return link, nil
	}
}

// UserPage is one page of a group's users.
type UserPage struct {
	Users []User
	Next  string // the next page's link; "" on the last page
	Count *int   // the number of users in all pages, on the first page
}

func toGroup(g models.Groupable) Group {
	if g == nil {
		return Group{}
	}
	return Group{
		ID:              deref(g.GetId()),
		DisplayName:     deref(g.GetDisplayName()),
		Description:     deref(g.GetDescription()),
		Mail:            deref(g.GetMail()),
		SecurityEnabled: deref(g.GetSecurityEnabled()),
		MailEnabled:     deref(g.GetMailEnabled()),
		GroupTypes:      g.GetGroupTypes(),
	}
}

// DeleteGroup deletes a group (DELETE /groups/{id}); Entra keeps it in the
// deleted items for 30 days.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return wrap("delete group", c.sdk.Groups().ByGroupId(id).Delete(ctx, nil))
}
