package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// PeopleRequest is who gets access, each named by object ID, user
// principal name, or a group's exact display name.
type PeopleRequest struct {
	// Assign are users and groups to assign to the enterprise app: with
	// "assignment required" only they can sign in. A group's nested
	// groups are not assigned by it (Entra does not carry assignment
	// down), only its direct user members.
	Assign []string
	// Members are users and groups to add to the group the profile
	// creates.
	Members []string
}

// Empty reports whether the request names no one.
func (q PeopleRequest) Empty() bool { return len(q.Assign)+len(q.Members) == 0 }

// Access is one user or group to give access to, resolved.
type Access struct {
	graphapi.Principal
	// Member: add to the profile's group rather than assign to the app.
	Member bool `json:"member,omitempty"`
}

// PeopleGraph is what giving people access reads and writes.
type PeopleGraph interface {
	GetUser(ctx context.Context, idOrUPN string) (*graphapi.Principal, error)
	GetGroup(ctx context.Context, id string) (*graphapi.Group, error)
	GroupsNamed(ctx context.Context, name string) ([]graphapi.Group, error)
}

// PeopleScopes are the delegated permissions, beside AdminScopes, that the
// admin signs in with to give people access.
func PeopleScopes(q PeopleRequest) []string {
	if q.Empty() {
		return nil
	}
	// User.ReadBasic.All finds users by UPN; GroupMember.Read.All finds
	// groups by name.
	scopes := []string{"User.ReadBasic.All", "GroupMember.Read.All", "AppRoleAssignment.ReadWrite.All"}
	if len(q.Members) > 0 {
		scopes = append(scopes, "GroupMember.ReadWrite.All")
	}
	return scopes
}

// ResolvePeople finds each user and group of the request, reading only,
// so that a name that is wrong stops the run before anything is written.
func ResolvePeople(ctx context.Context, g PeopleGraph, p *Profile, q PeopleRequest) ([]Access, error) {
	if len(q.Members) > 0 && p.CreateGroup == nil {
		return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Op: "add members", Code: "NoGroup",
			Message: fmt.Sprintf("the profile %s creates no group to add members to", p.Name),
			Remedy:  "Assign the users and groups to the app instead (--assign), or use a profile with createGroup."}
	}
	var out []Access
	seen := map[string]bool{}
	add := func(refs []string, member bool) error {
		for _, ref := range refs {
			pr, err := resolvePrincipal(ctx, g, strings.TrimSpace(ref))
			if err != nil {
				return err
			}
			key := fmt.Sprint(member, strings.ToLower(pr.ID))
			if !seen[key] {
				seen[key] = true
				out = append(out, Access{Principal: *pr, Member: member})
			}
		}
		return nil
	}
	if err := add(q.Assign, false); err != nil {
		return nil, err
	}
	if err := add(q.Members, true); err != nil {
		return nil, err
	}
	return out, nil
}

func resolvePrincipal(ctx context.Context, g PeopleGraph, ref string) (*graphapi.Principal, error) {
	notFound := func(msg, remedy string) error {
		return &graphapi.Error{Kind: graphapi.KindBadInput, Op: "find " + ref, Code: "NoSuchPrincipal", Message: msg, Remedy: remedy}
	}
	switch {
	case ref == "":
		return nil, notFound("an empty name was given", "Name each user by UPN or object ID, each group by object ID or exact name.")
	case guidRe.MatchString(ref):
		u, err := g.GetUser(ctx, ref)
		if err == nil {
			return u, nil
		}
		if !graphapi.IsKind(err, graphapi.KindNotFound) {
			return nil, fmt.Errorf("find %s: %w", ref, err)
		}
		grp, err := g.GetGroup(ctx, ref)
		if err == nil {
			return &graphapi.Principal{ID: grp.ID, DisplayName: grp.DisplayName, Type: "Group"}, nil
		}
		if !graphapi.IsKind(err, graphapi.KindNotFound) {
			return nil, fmt.Errorf("find %s: %w", ref, err)
		}
		return nil, notFound(fmt.Sprintf("no user or group has the object ID %s", ref), "Copy the Object ID from the user's or group's Overview page in Entra.")
	case strings.Contains(ref, "@"):
		u, err := g.GetUser(ctx, ref)
		if graphapi.IsKind(err, graphapi.KindNotFound) {
			return nil, notFound(fmt.Sprintf("no user signs in as %s", ref), "Give the user principal name exactly as Entra shows it, or the object ID.")
		}
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", ref, err)
		}
		return u, nil
	}
	groups, err := g.GroupsNamed(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("find group %q: %w", ref, err)
	}
	switch len(groups) {
	case 0:
		return nil, notFound(fmt.Sprintf("no group is named %q", ref), "Give the group's exact display name or its object ID; a user is given by UPN or object ID.")
	case 1:
		return &graphapi.Principal{ID: groups[0].ID, DisplayName: groups[0].DisplayName, Type: "Group"}, nil
	}
	var ids []string
	for _, grp := range groups {
		ids = append(ids, grp.ID)
	}
	return nil, notFound(fmt.Sprintf("%d groups are named %q", len(groups), ref), "Give the object ID of the one you mean: "+strings.Join(ids, ", ")+".")
}

// PlanPeople are the plan's lines for giving people access.
func PlanPeople(people []Access, groupName string) []PlanItem {
	var items []PlanItem
	for _, a := range people {
		if a.Member {
			items = append(items, PlanItem{"add", fmt.Sprintf("%s %s", a.Type, a.label()), fmt.Sprintf("as a member of %q (kept if it is one)", groupName)})
		} else {
			items = append(items, PlanItem{"assign", fmt.Sprintf("%s %s", a.Type, a.label()), "to the enterprise app, default access (kept if assigned)"})
		}
	}
	return items
}

func (a Access) label() string {
	if a.UserPrincipalName != "" {
		return a.UserPrincipalName
	}
	return fmt.Sprintf("%q", a.DisplayName)
}

// GiveAccess assigns the run's People to the enterprise app and adds the
// members to the profile's group. Every write is recorded on the
// connection as soon as it is made; one found already made (by a run that
// was stopped before it saved) counts as done, so a re-run is safe.
func GiveAccess() Step {
	return Step{Name: "people", Title: "Give people access", Apply: applyGiveAccess}
}

func applyGiveAccess(ctx context.Context, r *Run) (string, error) {
	g := r.Env.Graph
	spID := r.Conn.App.ServicePrincipalID
	var assigned, added, kept int
	var existing map[string]bool
	for _, a := range r.People {
		if a.Member {
			continue
		}
		if existing == nil {
			list, err := g.AppRoleAssignedTo(ctx, spID)
			if err != nil {
				return "", fmt.Errorf("read who is assigned to the app: %w", err)
			}
			existing = map[string]bool{}
			for _, x := range list {
				existing[strings.ToLower(x.PrincipalID)] = true
			}
		}
		if existing[strings.ToLower(a.ID)] {
			kept++
		} else {
			err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
				_, err := g.AssignAppRole(ctx, spID, a.ID, defaultAccessRole)
				if graphapi.IsKind(err, graphapi.KindAlreadyExists) {
					return nil
				}
				return err
			})
			if err != nil {
				return "", fmt.Errorf("assign %s %s to the app: %w", strings.ToLower(a.Type), a.label(), err)
			}
			assigned++
		}
		r.Conn.State.Assigned = addPrincipal(r.Conn.State.Assigned, a.Principal)
		if err := r.save(); err != nil {
			return "", err
		}
	}
	for _, a := range r.People {
		if !a.Member {
			continue
		}
		groupID := CreatedGroupID(r.Conn)
		if groupID == "" {
			return "", fmt.Errorf("add %s to the group: the profile's group was not made yet (run setup)", a.label())
		}
		err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
			return g.AddGroupMember(ctx, groupID, a.ID)
		})
		switch {
		case graphapi.IsKind(err, graphapi.KindAlreadyExists):
			kept++
		case err != nil:
			return "", fmt.Errorf("add %s %s to the group: %w", strings.ToLower(a.Type), a.label(), err)
		default:
			added++
		}
		r.Conn.State.Members = addPrincipal(r.Conn.State.Members, a.Principal)
		if err := r.save(); err != nil {
			return "", err
		}
	}
	var parts []string
	if assigned > 0 {
		parts = append(parts, fmt.Sprintf("%d assigned to the app", assigned))
	}
	if added > 0 {
		parts = append(parts, fmt.Sprintf("%d added to the group", added))
	}
	if kept > 0 {
		parts = append(parts, fmt.Sprintf("%d had access already", kept))
	}
	return strings.Join(parts, "; "), nil
}

func addPrincipal(list []store.Principal, p graphapi.Principal) []store.Principal {
	rec := store.Principal{ID: p.ID, DisplayName: p.DisplayName, Type: p.Type}
	if i := slices.IndexFunc(list, func(x store.Principal) bool { return strings.EqualFold(x.ID, p.ID) }); i >= 0 {
		list[i] = rec
		return list
	}
	return append(list, rec)
}

// WithGiveAccess is the procedure with the people step after the
// assignment step, for a setup that names people.
func WithGiveAccess(procedure []Step) []Step {
	i := slices.IndexFunc(procedure, func(s Step) bool { return s.Name == "assign" })
	return slices.Insert(slices.Clone(procedure), i+1, GiveAccess())
}
