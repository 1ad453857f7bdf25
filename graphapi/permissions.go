package graphapi

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"
)

// Permission is one Microsoft Graph permission: an app role (application
// permission) or an OAuth2 scope (delegated permission).
type Permission struct {
	ID          string
	Value       string // the name, e.g. "User.Read.All"
	DisplayName string
	Type        string // "Role" or "Scope"
}

// PermissionCatalog is Microsoft Graph's permissions as its service
// principal in this tenant publishes them; IDs are never hard-coded.
type PermissionCatalog struct {
	ServicePrincipalID string // the Graph service principal's object ID in this tenant
	roles              map[string]Permission
	scopes             map[string]Permission
}

// GraphPermissions reads the Microsoft Graph service principal's app roles
// and delegated scopes.
func (c *Client) GraphPermissions(ctx context.Context) (*PermissionCatalog, error) {
	appID := GraphAppID
	sp, err := c.sdk.ServicePrincipalsWithAppId(&appID).Get(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{
			Select: []string{"id", "appId", "appRoles", "oauth2PermissionScopes"},
		},
	})
	if err != nil {
		return nil, wrap("read Microsoft Graph permissions", err)
	}
	cat := &PermissionCatalog{ServicePrincipalID: deref(sp.GetId()), roles: map[string]Permission{}, scopes: map[string]Permission{}}
	for _, r := range sp.GetAppRoles() {
		if r.GetId() == nil || r.GetValue() == nil {
			continue
		}
		cat.roles[strings.ToLower(*r.GetValue())] = Permission{ID: r.GetId().String(), Value: *r.GetValue(), DisplayName: deref(r.GetDisplayName()), Type: "Role"}
	}
	for _, s := range sp.GetOauth2PermissionScopes() {
		if s.GetId() == nil || s.GetValue() == nil {
			continue
		}
		cat.scopes[strings.ToLower(*s.GetValue())] = Permission{ID: s.GetId().String(), Value: *s.GetValue(), DisplayName: deref(s.GetAdminConsentDisplayName()), Type: "Scope"}
	}
	return cat, nil
}

// AppRole looks up an application permission by name.
func (p *PermissionCatalog) AppRole(name string) (Permission, error) {
	if r, ok := p.roles[strings.ToLower(name)]; ok {
		return r, nil
	}
	return Permission{}, unknownPermission("applicationPermissions", []string{name})
}

// Scope looks up a delegated permission by name.
func (p *PermissionCatalog) Scope(name string) (Permission, error) {
	if s, ok := p.scopes[strings.ToLower(name)]; ok {
		return s, nil
	}
	return Permission{}, unknownPermission("delegatedPermissions", []string{name})
}

// RoleName returns the name of the app role with id, or id itself if unknown.
func (p *PermissionCatalog) RoleName(id string) string {
	for _, r := range p.roles {
		if strings.EqualFold(r.ID, id) {
			return r.Value
		}
	}
	return id
}

// Resolve turns permission names into Graph's requiredResourceAccess entry.
// Every unknown name is reported in one bad-input error.
func (p *PermissionCatalog) Resolve(applicationPermissions, delegatedPermissions []string) (ResourceAccess, error) {
	ra := ResourceAccess{ResourceAppID: GraphAppID}
	var badRoles, badScopes []string
	for _, n := range applicationPermissions {
		if r, ok := p.roles[strings.ToLower(n)]; ok {
			ra.RoleIDs = append(ra.RoleIDs, r.ID)
		} else {
			badRoles = append(badRoles, n)
		}
	}
	for _, n := range delegatedPermissions {
		if s, ok := p.scopes[strings.ToLower(n)]; ok {
			ra.ScopeIDs = append(ra.ScopeIDs, s.ID)
		} else {
			badScopes = append(badScopes, n)
		}
	}
	if len(badRoles) > 0 {
		return ResourceAccess{}, unknownPermission("applicationPermissions", badRoles)
	}
	if len(badScopes) > 0 {
		return ResourceAccess{}, unknownPermission("delegatedPermissions", badScopes)
	}
	return ra, nil
}

func unknownPermission(field string, names []string) *Error {
	return &Error{Kind: KindBadInput, Op: "resolve permissions", Code: "UnknownPermission",
		Message: field + ": unknown Microsoft Graph permission " + quoteList(names),
		Remedy:  "Check the spelling against the Microsoft Graph permissions reference (names are like User.Read.All)."}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "\"" + n + "\""
	}
	return strings.Join(q, ", ")
}

// AppRoleAssignment is an app role granted to a principal on a resource.
type AppRoleAssignment struct {
	ID                   string
	AppRoleID            string
	PrincipalID          string
	PrincipalType        string // User, Group or ServicePrincipal
	PrincipalDisplayName string
	ResourceID           string
}

// AppRoleAssignments lists the app roles granted to a principal (GET
// /servicePrincipals/{id}/appRoleAssignments).
func (c *Client) AppRoleAssignments(ctx context.Context, principalSpID string) ([]AppRoleAssignment, error) {
	b := c.sdk.ServicePrincipals().ByServicePrincipalId(principalSpID).AppRoleAssignments()
	out, err := allAssignments(ctx, func(ctx context.Context, next string) (models.AppRoleAssignmentCollectionResponseable, error) {
		if next != "" {
			return b.WithUrl(next).Get(ctx, nil)
		}
		return b.Get(ctx, nil)
	})
	return out, wrap("list app role assignments", err)
}

// AppRoleAssignedTo lists the principals granted app roles of a resource
// service principal (GET /servicePrincipals/{id}/appRoleAssignedTo): for an
// app, the users and groups assigned to it.
func (c *Client) AppRoleAssignedTo(ctx context.Context, resourceSpID string) ([]AppRoleAssignment, error) {
	b := c.sdk.ServicePrincipals().ByServicePrincipalId(resourceSpID).AppRoleAssignedTo()
	out, err := allAssignments(ctx, func(ctx context.Context, next string) (models.AppRoleAssignmentCollectionResponseable, error) {
		if next != "" {
			return b.WithUrl(next).Get(ctx, nil)
		}
		return b.Get(ctx, nil)
	})
	return out, wrap("list app role assignees", err)
}

// allAssignments follows nextLinks from the first page (next "") to the
// last and converts every assignment.
func allAssignments(ctx context.Context, get func(ctx context.Context, next string) (models.AppRoleAssignmentCollectionResponseable, error)) ([]AppRoleAssignment, error) {
	var out []AppRoleAssignment
	next := ""
	for {
		resp, err := get(ctx, next)
		if err != nil {
			return nil, err
		}
		for _, a := range resp.GetValue() {
			out = append(out, toAssignment(a))
		}
		if next = deref(resp.GetOdataNextLink()); next == "" {
			return out, nil
		}
	}
}

// AssignAppRole grants one app role of resourceSpID to principalID (a
// service principal, user or group) with POST
// /servicePrincipals/{resourceSpID}/appRoleAssignedTo. An assignment that
// exists already is an *Error of KindAlreadyExists. Use the zero GUID as
// appRoleID for an app's default access.
func (c *Client) AssignAppRole(ctx context.Context, resourceSpID, principalID, appRoleID string) (*AppRoleAssignment, error) {
	body := models.NewAppRoleAssignment()
	for _, f := range []struct {
		v   string
		set func(*uuid.UUID)
	}{{principalID, body.SetPrincipalId}, {resourceSpID, body.SetResourceId}, {appRoleID, body.SetAppRoleId}} {
		u, err := uuid.Parse(f.v)
		if err != nil {
			return nil, badInput("assign app role", "ID "+f.v+" is not a GUID", "Give object IDs and app role IDs as GUIDs.")
		}
		f.set(&u)
	}
	a, err := c.sdk.ServicePrincipals().ByServicePrincipalId(resourceSpID).AppRoleAssignedTo().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("assign app role", err)
	}
	res := toAssignment(a)
	return &res, nil
}

// GrantAppRoles grants application permissions (admin consent): each role
// in roleIDs of resourceSpID to principalSpID, skipping those already
// granted. It returns the principal's assignments for roleIDs.
func (c *Client) GrantAppRoles(ctx context.Context, principalSpID, resourceSpID string, roleIDs []string) ([]AppRoleAssignment, error) {
	existing, err := c.AppRoleAssignments(ctx, principalSpID)
	if err != nil {
		return nil, wrap("grant app roles", err)
	}
	have := map[string]AppRoleAssignment{}
	for _, a := range existing {
		if strings.EqualFold(a.ResourceID, resourceSpID) {
			have[strings.ToLower(a.AppRoleID)] = a
		}
	}
	var out []AppRoleAssignment
	for _, id := range roleIDs {
		if a, ok := have[strings.ToLower(id)]; ok {
			out = append(out, a)
			continue
		}
		a, err := c.AssignAppRole(ctx, resourceSpID, principalSpID, id)
		if IsKind(err, KindAlreadyExists) {
			out = append(out, AppRoleAssignment{AppRoleID: id, PrincipalID: principalSpID, ResourceID: resourceSpID, PrincipalType: "ServicePrincipal"})
			continue
		}
		if err != nil {
			return out, wrap("grant app roles", err)
		}
		out = append(out, *a)
	}
	return out, nil
}

func toAssignment(a models.AppRoleAssignmentable) AppRoleAssignment {
	s := func(u *uuid.UUID) string {
		if u == nil {
			return ""
		}
		return u.String()
	}
	return AppRoleAssignment{
		ID:                   deref(a.GetId()),
		AppRoleID:            s(a.GetAppRoleId()),
		PrincipalID:          s(a.GetPrincipalId()),
		PrincipalType:        deref(a.GetPrincipalType()),
		PrincipalDisplayName: deref(a.GetPrincipalDisplayName()),
		ResourceID:           s(a.GetResourceId()),
	}
}

// PermissionGrant is a delegated permission grant (oauth2PermissionGrant).
type PermissionGrant struct {
	ID          string
	ClientID    string // the client app's service principal ID
	ResourceID  string // the resource's service principal ID (Graph's)
	ConsentType string // AllPrincipals for admin consent
	Scopes      []string
}

// AdminConsentGrant finds the tenant-wide (AllPrincipals) delegated grant of
// clientSpID on resourceSpID; nil if there is none.
func (c *Client) AdminConsentGrant(ctx context.Context, clientSpID, resourceSpID string) (*PermissionGrant, error) {
	filter := "clientId eq '" + odataString(clientSpID) + "' and consentType eq 'AllPrincipals'"
	b := c.sdk.Oauth2PermissionGrants()
	resp, err := b.Get(ctx, &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &filter},
	})
	for err == nil {
		for _, g := range resp.GetValue() {
			if strings.EqualFold(deref(g.GetResourceId()), resourceSpID) {
				pg := toGrant(g)
				return &pg, nil
			}
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return nil, nil
		}
		resp, err = b.WithUrl(next).Get(ctx, nil)
	}
	return nil, wrap("find delegated permission grant", err)
}

// GrantDelegatedScopes grants delegated permissions for all users (admin
// consent): it creates the AllPrincipals grant, or adds the missing scopes
// to the existing one.
func (c *Client) GrantDelegatedScopes(ctx context.Context, clientSpID, resourceSpID string, scopes []string) (*PermissionGrant, error) {
	g, err := c.AdminConsentGrant(ctx, clientSpID, resourceSpID)
	if err != nil {
		return nil, wrap("grant delegated permissions", err)
	}
	if g == nil {
		body := models.NewOAuth2PermissionGrant()
		consent, scope := "AllPrincipals", strings.Join(scopes, " ")
		body.SetClientId(&clientSpID)
		body.SetResourceId(&resourceSpID)
		body.SetConsentType(&consent)
		body.SetScope(&scope)
		created, err := c.sdk.Oauth2PermissionGrants().Post(ctx, body, nil)
		if err != nil {
			return nil, wrap("grant delegated permissions", err)
		}
		pg := toGrant(created)
		return &pg, nil
	}
	merged := slices.Clone(g.Scopes)
	for _, s := range scopes {
		if !slices.ContainsFunc(merged, func(m string) bool { return strings.EqualFold(m, s) }) {
			merged = append(merged, s)
		}
	}
	if len(merged) == len(g.Scopes) {
		return g, nil
	}
	body := models.NewOAuth2PermissionGrant()
	scope := strings.Join(merged, " ")
	body.SetScope(&scope)
	if _, err := c.sdk.Oauth2PermissionGrants().ByOAuth2PermissionGrantId(g.ID).Patch(ctx, body, nil); err != nil {
		return nil, wrap("update delegated permission grant", err)
	}
	g.Scopes = merged
	return g, nil
}

func toGrant(g models.OAuth2PermissionGrantable) PermissionGrant {
	scopes := strings.Fields(deref(g.GetScope()))
	sort.Strings(scopes)
	return PermissionGrant{
		ID:          deref(g.GetId()),
		ClientID:    deref(g.GetClientId()),
		ResourceID:  deref(g.GetResourceId()),
		ConsentType: deref(g.GetConsentType()),
		Scopes:      scopes,
	}
}
