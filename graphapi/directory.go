package graphapi

import (
	"context"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// Directory role template IDs, the same in every tenant (Entra built-in
// roles reference), for preflight checks.
const (
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	RoleGroupsAdministrator           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	RoleUserAdministrator             = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// Organization is the tenant.
type Organization struct {
	TenantID      string
	DisplayName   string
	PrimaryDomain string // the default domain (isDefault)
	InitialDomain string // <name>.onmicrosoft.com (isInitial)
	Domains       []Domain
}

// Domain is a domain of the tenant.
type Domain struct {
	Name       string
	IsDefault  bool
	IsInitial  bool
	IsVerified bool
}

// User is a directory user with the properties entrawiz reads.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	Mail              string
	JobTitle          string
	Department        string
	AccountEnabled    *bool // nil when not selected
}

// DirectoryRole is a directory role the signed-in user holds.
type DirectoryRole struct {
	RoleTemplateID string
	DisplayName    string
}

// Organization reads the tenant's ID, name and verified domains (GET /organization).
func (c *Client) Organization(ctx context.Context) (*Organization, error) {
	resp, err := c.sdk.Organization().Get(ctx, nil)
	if err != nil {
		return nil, wrap("read organization", err)
	}
	return organizationFrom(resp)
}

// organizationFrom reads the tenant from GET /organization's answer.
func organizationFrom(resp models.OrganizationCollectionResponseable) (*Organization, error) {
	orgs := resp.GetValue()
	if len(orgs) == 0 {
		return nil, &Error{Kind: KindNotFound, Op: "read organization", Message: "Graph returned no organization",
			Remedy: "Check that the signed-in account belongs to the tenant."}
	}
	o := orgs[0]
	org := &Organization{TenantID: deref(o.GetId()), DisplayName: deref(o.GetDisplayName())}
	for _, d := range o.GetVerifiedDomains() {
		dom := Domain{Name: deref(d.GetName()), IsDefault: deref(d.GetIsDefault()), IsInitial: deref(d.GetIsInitial()), IsVerified: true}
		org.Domains = append(org.Domains, dom)
		if dom.IsDefault {
			org.PrimaryDomain = dom.Name
		}
		if dom.IsInitial {
			org.InitialDomain = dom.Name
		}
	}
	if org.PrimaryDomain == "" {
		org.PrimaryDomain = org.InitialDomain
	}
	return org, nil
}

// Domains lists the tenant's domains, verified or not (GET /domains).
func (c *Client) Domains(ctx context.Context) ([]Domain, error) {
	resp, err := c.sdk.Domains().Get(ctx, nil)
	if err != nil {
		return nil, wrap("list domains", err)
	}
	var out []Domain
	for _, d := range resp.GetValue() {
		out = append(out, Domain{Name: deref(d.GetId()), IsDefault: deref(d.GetIsDefault()),
			IsInitial: deref(d.GetIsInitial()), IsVerified: deref(d.GetIsVerified())})
	}
	return out, nil
}

// Me reads the signed-in user (GET /me).
func (c *Client) Me(ctx context.Context) (*User, error) {
	u, err := c.sdk.Me().Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "userPrincipalName", "mail"}},
	})
	if err != nil {
		return nil, wrap("read signed-in user", err)
	}
	res := toUser(u)
	return &res, nil
}

// MyDirectoryRoles lists the directory roles the signed-in user holds,
// directly or through groups (GET /me/transitiveMemberOf, keeping the
// #microsoft.graph.directoryRole items). Graph returns a role's details only
// to a caller with RoleManagement.Read.Directory (or Directory.Read.All);
// without them roles come back as bare IDs and this fails with
// KindConsentNeeded, code "LimitedInformation".
func (c *Client) MyDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	b := c.sdk.Me().TransitiveMemberOf()
	top := int32(999)
	resp, err := b.Get(ctx, &users.ItemTransitiveMemberOfRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfRequestBuilderGetQueryParameters{Top: &top},
	})
	if err != nil {
		return nil, wrap("list directory roles", err)
	}
	return c.rolesFrom(ctx, resp)
}

// rolesFrom keeps the directory roles of GET /me/transitiveMemberOf's
// first page, reading the pages after it.
func (c *Client) rolesFrom(ctx context.Context, resp models.DirectoryObjectCollectionResponseable) ([]DirectoryRole, error) {
	b := c.sdk.Me().TransitiveMemberOf()
	var err error
	var out []DirectoryRole
	for err == nil {
		for _, o := range resp.GetValue() {
			if r, ok := o.(models.DirectoryRoleable); ok {
				if r.GetRoleTemplateId() == nil {
					return nil, &Error{Kind: KindConsentNeeded, Op: "list directory roles", Code: "LimitedInformation",
						Message: "Graph returned directory roles without their details",
						Remedy:  "Sign in with the RoleManagement.Read.Directory permission so the admin's roles can be checked."}
				}
				out = append(out, DirectoryRole{RoleTemplateID: deref(r.GetRoleTemplateId()), DisplayName: deref(r.GetDisplayName())})
			}
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		resp, err = b.WithUrl(next).Get(ctx, nil)
	}
	return nil, wrap("list directory roles", err)
}

// HasRole reports whether roles include any of the role template IDs.
func HasRole(roles []DirectoryRole, templateIDs ...string) bool {
	for _, r := range roles {
		for _, id := range templateIDs {
			if strings.EqualFold(r.RoleTemplateID, id) {
				return true
			}
		}
	}
	return false
}

func toUser(u models.Userable) User {
	if u == nil {
		return User{}
	}
	return User{
		ID:                deref(u.GetId()),
		UserPrincipalName: deref(u.GetUserPrincipalName()),
		DisplayName:       deref(u.GetDisplayName()),
		GivenName:         deref(u.GetGivenName()),
		Surname:           deref(u.GetSurname()),
		Mail:              deref(u.GetMail()),
		JobTitle:          deref(u.GetJobTitle()),
		Department:        deref(u.GetDepartment()),
		AccountEnabled:    u.GetAccountEnabled(),
	}
}
