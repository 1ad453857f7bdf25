package graphapi

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"
)

// TagPrefix marks the applications entrawiz registered: the tag is
// "entrawiz:<profile>".
const TagPrefix = "entrawiz:"

// AppTag is the tag entrawiz puts on the application it registers for profile.
func AppTag(profile string) string { return TagPrefix + profile }

// Application is an app registration.
type Application struct {
	ObjectID string
	AppID    string
	ApplicationSpec
	Passwords []PasswordCredential
	Keys      []KeyCredential // certificates (public part only)
}

// ApplicationSpec is what entrawiz sets on an app registration.
type ApplicationSpec struct {
	DisplayName              string
	SignInAudience           string // AzureADMyOrg (default), AzureADMultipleOrgs, ...
	WebRedirectURIs          []string
	PublicClientRedirectURIs []string
	SPARedirectURIs          []string
	IsFallbackPublicClient   bool
	RequiredResourceAccess   []ResourceAccess
	Tags                     []string
	// Notes is the app's notes field (set when it is created).
	Notes string
}

// ResourceAccess is the permissions an app asks of one API (its
// requiredResourceAccess entry): app role IDs and delegated scope IDs.
type ResourceAccess struct {
	ResourceAppID string
	RoleIDs       []string // application permissions ("Role")
	ScopeIDs      []string // delegated permissions ("Scope")
}

// ApplicationPatch is a partial update; nil fields are left unchanged.
type ApplicationPatch struct {
	DisplayName              *string
	SignInAudience           *string
	WebRedirectURIs          *[]string
	PublicClientRedirectURIs *[]string
	SPARedirectURIs          *[]string
	IsFallbackPublicClient   *bool
	RequiredResourceAccess   *[]ResourceAccess
	Tags                     *[]string
}

// ServicePrincipal is an app's service principal (enterprise application).
type ServicePrincipal struct {
	ID                        string
	AppID                     string
	DisplayName               string
	AppRoleAssignmentRequired bool
	Tags                      []string
}

func appSelect() []string {
	return []string{"id", "appId", "displayName", "signInAudience", "web", "publicClient", "spa",
		"isFallbackPublicClient", "requiredResourceAccess", "tags", "passwordCredentials", "keyCredentials"}
}

func spSelect() []string {
	return []string{"id", "appId", "displayName", "appRoleAssignmentRequired", "tags"}
}

// GetApplication reads an app registration by its object ID.
func (c *Client) GetApplication(ctx context.Context, objectID string) (*Application, error) {
	app, err := c.sdk.Applications().ByApplicationId(objectID).Get(ctx, &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: appSelect()},
	})
	if err != nil {
		return nil, wrap("get application", err)
	}
	return toApplication(app), nil
}

// FindApplicationsByTag lists the app registrations carrying tag.
func (c *Client) FindApplicationsByTag(ctx context.Context, tag string) ([]Application, error) {
	filter := "tags/any(t:t eq '" + odataString(tag) + "')"
	resp, err := c.sdk.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Filter: &filter, Select: appSelect()},
	})
	if err != nil {
		return nil, wrap("find application by tag", err)
	}
	var out []Application
	for {
		for _, a := range resp.GetValue() {
			out = append(out, *toApplication(a))
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		if resp, err = c.sdk.Applications().WithUrl(next).Get(ctx, nil); err != nil {
			return nil, wrap("find application by tag", err)
		}
	}
}

// CreateApplication registers an app (POST /applications).
func (c *Client) CreateApplication(ctx context.Context, spec ApplicationSpec) (*Application, error) {
	if strings.TrimSpace(spec.DisplayName) == "" {
		return nil, badInput("create application", "the application needs a display name", "Set appName in the profile or pass --app-name.")
	}
	if spec.SignInAudience == "" {
		spec.SignInAudience = "AzureADMyOrg"
	}
	body := models.NewApplication()
	body.SetDisplayName(&spec.DisplayName)
	body.SetSignInAudience(&spec.SignInAudience)
	body.SetIsFallbackPublicClient(&spec.IsFallbackPublicClient)
	if len(spec.WebRedirectURIs) > 0 {
		body.SetWeb(webApp(spec.WebRedirectURIs))
	}
	if len(spec.PublicClientRedirectURIs) > 0 {
		body.SetPublicClient(publicClientApp(spec.PublicClientRedirectURIs))
	}
	if len(spec.SPARedirectURIs) > 0 {
		body.SetSpa(spaApp(spec.SPARedirectURIs))
	}
	if len(spec.RequiredResourceAccess) > 0 {
		rra, err := toRequiredResourceAccess(spec.RequiredResourceAccess)
		if err != nil {
			return nil, err
		}
		body.SetRequiredResourceAccess(rra)
	}
	if len(spec.Tags) > 0 {
		body.SetTags(spec.Tags)
	}
	if spec.Notes != "" {
		body.SetNotes(&spec.Notes)
	}
	app, err := c.sdk.Applications().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("create application", err)
	}
	return toApplication(app), nil
}

// UpdateApplication changes the fields set in patch (PATCH /applications/{id}).
func (c *Client) UpdateApplication(ctx context.Context, objectID string, patch ApplicationPatch) error {
	body := models.NewApplication()
	if patch.DisplayName != nil {
		body.SetDisplayName(patch.DisplayName)
	}
	if patch.SignInAudience != nil {
		body.SetSignInAudience(patch.SignInAudience)
	}
	if patch.WebRedirectURIs != nil {
		body.SetWeb(webApp(*patch.WebRedirectURIs))
	}
	if patch.PublicClientRedirectURIs != nil {
		body.SetPublicClient(publicClientApp(*patch.PublicClientRedirectURIs))
	}
	if patch.SPARedirectURIs != nil {
		body.SetSpa(spaApp(*patch.SPARedirectURIs))
	}
	if patch.IsFallbackPublicClient != nil {
		body.SetIsFallbackPublicClient(patch.IsFallbackPublicClient)
	}
	if patch.RequiredResourceAccess != nil {
		rra, err := toRequiredResourceAccess(*patch.RequiredResourceAccess)
		if err != nil {
			return err
		}
		body.SetRequiredResourceAccess(rra)
	}
	if patch.Tags != nil {
		body.SetTags(*patch.Tags)
	}
	_, err := c.sdk.Applications().ByApplicationId(objectID).Patch(ctx, body, nil)
	return wrap("update application", err)
}

// DeleteApplication deletes an app registration (and with it its service
// principal and secrets).
func (c *Client) DeleteApplication(ctx context.Context, objectID string) error {
	return wrap("delete application", c.sdk.Applications().ByApplicationId(objectID).Delete(ctx, nil))
}

// GetServicePrincipalByAppID reads the service principal of an app
// (GET /servicePrincipals(appId='…')).
func (c *Client) GetServicePrincipalByAppID(ctx context.Context, appID string) (*ServicePrincipal, error) {
	sp, err := c.sdk.ServicePrincipalsWithAppId(&appID).Get(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: spSelect()},
	})
	if err != nil {
		return nil, wrap("get service principal", err)
	}
	return toServicePrincipal(sp), nil
}

// EnterpriseAppTag is the tag the Entra admin center sets on the service
// principals it creates; its Enterprise applications list shows only
// service principals that carry it.
const EnterpriseAppTag = "WindowsAzureActiveDirectoryIntegratedApp"

// CreateServicePrincipal creates the service principal for appID (POST
// /servicePrincipals), tagged as the admin center tags the ones it
// creates, so the app is listed under Enterprise applications.
func (c *Client) CreateServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	body := models.NewServicePrincipal()
	body.SetAppId(&appID)
	body.SetTags([]string{EnterpriseAppTag})
	sp, err := c.sdk.ServicePrincipals().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("create service principal", err)
	}
	return toServicePrincipal(sp), nil
}

// SetServicePrincipalTags replaces a service principal's tags (PATCH: the
// list is written whole, so pass the tags to keep as well).
func (c *Client) SetServicePrincipalTags(ctx context.Context, spID string, tags []string) error {
	body := models.NewServicePrincipal()
	body.SetTags(nonNil(tags))
	_, err := c.sdk.ServicePrincipals().ByServicePrincipalId(spID).Patch(ctx, body, nil)
	return wrap("tag the enterprise app", err)
}

// SetAssignmentRequired sets appRoleAssignmentRequired on a service
// principal: when true only assigned users and groups can sign in.
func (c *Client) SetAssignmentRequired(ctx context.Context, spID string, required bool) error {
	body := models.NewServicePrincipal()
	body.SetAppRoleAssignmentRequired(&required)
	_, err := c.sdk.ServicePrincipals().ByServicePrincipalId(spID).Patch(ctx, body, nil)
	return wrap("set assignment required", err)
}

func webApp(uris []string) models.WebApplicationable {
	w := models.NewWebApplication()
	w.SetRedirectUris(nonNil(uris))
	return w
}

func publicClientApp(uris []string) models.PublicClientApplicationable {
	p := models.NewPublicClientApplication()
	p.SetRedirectUris(nonNil(uris))
	return p
}

func spaApp(uris []string) models.SpaApplicationable {
	s := models.NewSpaApplication()
	s.SetRedirectUris(nonNil(uris))
	return s
}

func toRequiredResourceAccess(in []ResourceAccess) ([]models.RequiredResourceAccessable, error) {
	out := make([]models.RequiredResourceAccessable, 0, len(in))
	for _, ra := range in {
		r := models.NewRequiredResourceAccess()
		appID := ra.ResourceAppID
		r.SetResourceAppId(&appID)
		var list []models.ResourceAccessable
		for _, group := range []struct {
			ids  []string
			kind string
		}{{ra.RoleIDs, "Role"}, {ra.ScopeIDs, "Scope"}} {
			for _, id := range group.ids {
				u, err := uuid.Parse(id)
				if err != nil {
					return nil, badInput("required resource access", "permission ID "+id+" is not a GUID", "Resolve permission names with GraphPermissions first.")
				}
				a := models.NewResourceAccess()
				kind := group.kind
				a.SetId(&u)
				a.SetTypeEscaped(&kind)
				list = append(list, a)
			}
		}
		r.SetResourceAccess(nonNil(list))
		out = append(out, r)
	}
	return out, nil
}

func toApplication(a models.Applicationable) *Application {
	if a == nil {
		return &Application{}
	}
	app := &Application{
		ObjectID: deref(a.GetId()),
		AppID:    deref(a.GetAppId()),
		ApplicationSpec: ApplicationSpec{
			DisplayName:            deref(a.GetDisplayName()),
			SignInAudience:         deref(a.GetSignInAudience()),
			IsFallbackPublicClient: deref(a.GetIsFallbackPublicClient()),
			Tags:                   a.GetTags(),
		},
	}
	if w := a.GetWeb(); w != nil {
		app.WebRedirectURIs = w.GetRedirectUris()
	}
	if p := a.GetPublicClient(); p != nil {
		app.PublicClientRedirectURIs = p.GetRedirectUris()
	}
	if s := a.GetSpa(); s != nil {
		app.SPARedirectURIs = s.GetRedirectUris()
	}
	for _, r := range a.GetRequiredResourceAccess() {
		ra := ResourceAccess{ResourceAppID: deref(r.GetResourceAppId())}
		for _, x := range r.GetResourceAccess() {
			if x.GetId() == nil {
				continue
			}
			if strings.EqualFold(deref(x.GetTypeEscaped()), "Role") {
				ra.RoleIDs = append(ra.RoleIDs, x.GetId().String())
			} else {
				ra.ScopeIDs = append(ra.ScopeIDs, x.GetId().String())
			}
		}
		app.RequiredResourceAccess = append(app.RequiredResourceAccess, ra)
	}
	for _, p := range a.GetPasswordCredentials() {
		app.Passwords = append(app.Passwords, toPasswordCredential(p))
	}
	for _, k := range a.GetKeyCredentials() {
		app.Keys = append(app.Keys, toKeyCredential(k))
	}
	return app
}

func toServicePrincipal(sp models.ServicePrincipalable) *ServicePrincipal {
	if sp == nil {
		return &ServicePrincipal{}
	}
	return &ServicePrincipal{
		ID:                        deref(sp.GetId()),
		AppID:                     deref(sp.GetAppId()),
		DisplayName:               deref(sp.GetDisplayName()),
		AppRoleAssignmentRequired: deref(sp.GetAppRoleAssignmentRequired()),
		Tags:                      sp.GetTags(),
	}
}

// odataString escapes a value for a single-quoted OData string literal.
func odataString(s string) string { return strings.ReplaceAll(s, "'", "''") }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
