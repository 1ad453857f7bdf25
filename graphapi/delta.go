package graphapi

import (
	"context"
	"strconv"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// DeltaQuery starts a round of delta calls: from scratch with Select, or
// from a DeltaLink saved by an earlier round (which encodes the original
// $select; it is not repeated).
type DeltaQuery struct {
	Select    []string
	DeltaLink string
	// PageSize, when not zero, asks for at most this many objects a page
	// (Prefer: odata.maxpagesize); delta does not support $top.
	PageSize int
}

// preferHeaders returns the request headers of a delta call.
func (q DeltaQuery) preferHeaders() *abs.RequestHeaders {
	h := abs.NewRequestHeaders()
	if q.PageSize > 0 {
		h.Add("Prefer", "odata.maxpagesize="+strconv.Itoa(q.PageSize))
	}
	return h
}

// DeltaPage is one page of a delta round. Exactly one of NextLink and
// DeltaLink is set: DeltaLink on the last page. A caller saves DeltaLink
// only after committing the page's items.
type DeltaPage[T any] struct {
	Items     []T
	NextLink  string
	DeltaLink string
}

// UserChange is a user in a delta page. Removed is "" for a created or
// changed user, else the @removed reason: "changed" (soft-deleted,
// restorable) or "deleted" (gone for good).
type UserChange struct {
	User
	Removed string
}

// GroupChange is a group in a delta page with its member changes
// (members@delta). A large group can appear on several pages with
// different member slices: merge by group ID.
type GroupChange struct {
	Group
	Removed string
	Members []MemberChange
}

// MemberChange is one entry of members@delta.
type MemberChange struct {
	ID      string
	Type    string // "user", "group", ... from @odata.type
	Removed bool
}

// from is the link a page request of a round follows: the next page's,
// else the saved deltaLink; "" starts a new round.
func (q DeltaQuery) from(next string) string {
	if next != "" {
		return next
	}
	return q.DeltaLink
}

// UsersDelta runs a round of /users/delta(), calling onPage for every page
// (the next page is fetched meanwhile), and returns the final deltaLink. An
// expired DeltaLink fails with KindDeltaExpired: start a full round instead.
func (c *Client) UsersDelta(ctx context.Context, q DeltaQuery, onPage func(DeltaPage[UserChange]) error) (string, error) {
	b := c.sdk.Users().Delta()
	fetch := func(ctx context.Context, link string) (DeltaPage[UserChange], string, error) {
		cfg := &users.DeltaRequestBuilderGetRequestConfiguration{Headers: q.preferHeaders()}
		req := b
		if from := q.from(link); from != "" {
			req = b.WithUrl(from)
		} else {
			sel := q.Select
			if sel == nil {
				sel = DefaultUserSelect()
			}
			cfg.QueryParameters = &users.DeltaRequestBuilderGetQueryParameters{Select: sel}
		}
		resp, err := req.GetAsDeltaGetResponse(ctx, cfg)
		if err != nil {
			return DeltaPage[UserChange]{}, "", wrap("read user changes", err)
		}
		page := DeltaPage[UserChange]{NextLink: deref(resp.GetOdataNextLink()), DeltaLink: deref(resp.GetOdataDeltaLink())}
		for _, u := range resp.GetValue() {
			page.Items = append(page.Items, UserChange{User: toUser(u), Removed: removedReason(u.GetAdditionalData())})
		}
		return page, page.NextLink, nil
	}
	return deltaRound(ctx, fetch, onPage)
}

// GroupsDelta runs a round of /groups/delta(), like UsersDelta. Select
// should include "members" to get members@delta.
func (c *Client) GroupsDelta(ctx context.Context, q DeltaQuery, onPage func(DeltaPage[GroupChange]) error) (string, error) {
	b := c.sdk.Groups().Delta()
	fetch := func(ctx context.Context, link string) (DeltaPage[GroupChange], string, error) {
		cfg := &groups.DeltaRequestBuilderGetRequestConfiguration{Headers: q.preferHeaders()}
		req := b
		if from := q.from(link); from != "" {
			req = b.WithUrl(from)
		} else {
			sel := q.Select
			if sel == nil {
				sel = []string{"id", "displayName", "description", "members"}
			}
			cfg.QueryParameters = &groups.DeltaRequestBuilderGetQueryParameters{Select: sel}
		}
		resp, err := req.GetAsDeltaGetResponse(ctx, cfg)
		if err != nil {
			return DeltaPage[GroupChange]{}, "", wrap("read group changes", err)
		}
		page := DeltaPage[GroupChange]{NextLink: deref(resp.GetOdataNextLink()), DeltaLink: deref(resp.GetOdataDeltaLink())}
		for _, g := range resp.GetValue() {
			page.Items = append(page.Items, toGroupChange(g))
		}
		return page, page.NextLink, nil
	}
	return deltaRound(ctx, fetch, onPage)
}

// deltaRound streams a round and returns the deltaLink of its last page.
func deltaRound[T any](ctx context.Context, fetch func(context.Context, string) (DeltaPage[T], string, error), onPage func(DeltaPage[T]) error) (string, error) {
	var deltaLink string
	err := stream(ctx, fetch, func(p DeltaPage[T]) error {
		if err := onPage(p); err != nil {
			return err
		}
		deltaLink = p.DeltaLink
		return nil
	})
	if err != nil {
		return "", err
	}
	if deltaLink == "" {
		return "", &Error{Kind: KindUnknown, Op: "read changes", Code: "NoDeltaLink",
			Message: "the last page carried no deltaLink", Remedy: "Run a full sync; report this if it repeats."}
	}
	return deltaLink, nil
}

func toGroupChange(g models.Groupable) GroupChange {
	ad := g.GetAdditionalData()
	gc := GroupChange{Group: toGroup(g), Removed: removedReason(ad)}
	members, _ := ad["members@delta"].([]any)
	for _, m := range members {
		mm, ok := m.(map[string]any)
		if !ok {
			continue
		}
		mc := MemberChange{ID: rawString(mm["id"])}
		mc.Type = strings.TrimPrefix(rawString(mm["@odata.type"]), "#microsoft.graph.")
		_, mc.Removed = mm["@removed"]
		if mc.ID != "" {
			gc.Members = append(gc.Members, mc)
		}
	}
	return gc
}

// removedReason reads the @removed annotation kiota leaves in AdditionalData.
func removedReason(ad map[string]any) string {
	v, ok := ad["@removed"]
	if !ok {
		return ""
	}
	if m, ok := v.(map[string]any); ok {
		if r := rawString(m["reason"]); r != "" {
			return r
		}
	}
	return "deleted"
}

// rawString reads a string from kiota's untyped additional data, which
// holds *string for JSON strings.
func rawString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case *string:
		return deref(s)
	}
	return ""
}
