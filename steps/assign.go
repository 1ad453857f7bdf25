package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// defaultAccessRole is the app role ID that means "assigned, no specific
// role", for apps that publish no roles.
const defaultAccessRole = "00000000-0000-0000-0000-000000000000"

// Assign sets "assignment required" on the enterprise app and creates the
// profile's security group (kept if it exists), assigning it to the app
// when the profile says so.
func Assign() Step {
	return Step{Name: "assign", Title: "Assignment and group", Needed: func(p *Profile) (bool, string) {
		return p.AssignmentRequired || p.CreateGroup != nil, "the profile needs no assignment or group"
	}, Check: checkAssign, Apply: applyAssign}
}

func checkAssign(ctx context.Context, r *Run) (bool, string, error) {
	p := r.Profile
	if !p.AssignmentRequired && p.CreateGroup == nil {
		return true, "the profile needs no assignment or group", nil
	}
	if r.freshSP {
		return false, "", nil
	}
	sp, err := r.Env.Graph.GetServicePrincipalByAppID(ctx, r.Conn.App.AppID)
	if err != nil {
		return false, "", err
	}
	if sp.AppRoleAssignmentRequired != p.AssignmentRequired {
		return false, "", nil
	}
	if p.CreateGroup != nil {
		gs := r.group()
		if gs.ID == "" {
			return false, "", nil
		}
		if p.CreateGroup.Assign && !gs.Assigned {
			return false, "", nil
		}
		if p.CreateGroup.Assign {
			assigned, err := r.groupAssigned(ctx, gs.ID)
			if err != nil || !assigned {
				return false, "", err
			}
		}
		return true, fmt.Sprintf("assignment required: %v; group %q in place", p.AssignmentRequired, gs.DisplayName), nil
	}
	return true, fmt.Sprintf("assignment required: %v", p.AssignmentRequired), nil
}

func (r *Run) groupAssigned(ctx context.Context, groupID string) (bool, error) {
	list, err := r.Env.Graph.AppRoleAssignedTo(ctx, r.Conn.App.ServicePrincipalID)
	if err != nil {
		return false, err
	}
	for _, a := range list {
		if strings.EqualFold(a.PrincipalID, groupID) {
			return true, nil
		}
	}
	return false, nil
}

func applyAssign(ctx context.Context, r *Run) (string, error) {
	p, g := r.Profile, r.Env.Graph
	var done []string
	if p.AssignmentRequired {
		err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
			return g.SetAssignmentRequired(ctx, r.Conn.App.ServicePrincipalID, true)
		})
		if err != nil {
			return "", fmt.Errorf("require assignment: %w", err)
		}
		done = append(done, "assignment required")
	}
	if spec := p.CreateGroup; spec != nil {
		gs := r.group()
		if gs.ID == "" {
			found, err := g.FindGroupByName(ctx, spec.DisplayName)
			if err != nil {
				return "", fmt.Errorf("look for group %q: %w", spec.DisplayName, err)
			}
			if found != nil {
				gs = store.GroupRecord{ID: found.ID, DisplayName: found.DisplayName}
				done = append(done, fmt.Sprintf("group %q found", found.DisplayName))
			} else {
				created, err := g.CreateSecurityGroup(ctx, spec.DisplayName, spec.Description)
				if err != nil {
					return "", fmt.Errorf("create group %q: %w", spec.DisplayName, err)
				}
				gs = store.GroupRecord{ID: created.ID, DisplayName: created.DisplayName}
				done = append(done, fmt.Sprintf("group %q created", created.DisplayName))
			}
			r.Conn.State.Group = &gs
			if err := r.save(); err != nil {
				return "", err
			}
		}
		if p.Sync != nil && p.Sync.Groups == "created" && len(PickedGroups(r.Conn)) == 0 {
			// The profile syncs the group it makes: picked already.
			r.Conn.State.Groups = []PickedGroup{{ID: gs.ID, DisplayName: gs.DisplayName}}
			done = append(done, "its users will be synced")
		}
		if spec.Assign && !gs.Assigned {
			err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
				_, err := g.AssignAppRole(ctx, r.Conn.App.ServicePrincipalID, gs.ID, defaultAccessRole)
				if graphapi.IsKind(err, graphapi.KindAlreadyExists) {
					return nil
				}
				return err
			})
			if err != nil {
				return "", fmt.Errorf("assign group %q to the app: %w", gs.DisplayName, err)
			}
			gs.Assigned = true
			r.Conn.State.Group = &gs
			done = append(done, "group assigned to the app")
		}
	}
	return strings.Join(done, "; "), nil
}

// CreatedGroupID is the ID of the group the profile created, if any.
func CreatedGroupID(conn *store.Connection) string {
	if g := conn.State.Group; g != nil {
		return g.ID
	}
	return ""
}

// group is the group this connection's setup made, or a zero one.
func (r *Run) group() store.GroupRecord {
	if g := r.Conn.State.Group; g != nil {
		return *g
	}
	return store.GroupRecord{}
}
