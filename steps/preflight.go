package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// Directory role template IDs the plan checks for.
const (
	RoleGlobalAdmin       = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedRole    = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleApplicationAdmin  = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudAppAdmin     = "158c047a-c907-4556-b7ef-446551a6b5f7"
	RoleGroupsAdmin       = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	RoleUserAdministrator = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// Plan is what a setup will do in the tenant, shown before anything is
// written.
type Plan struct {
	Tenant   store.Tenant
	AdminUPN string
	Roles    []string // the admin's directory roles, by name
	// Existing is the app registration found for this profile, if any.
	Existing *graphapi.Application
	Access   graphapi.ResourceAccess // the profile's permissions, resolved
	Catalog  *graphapi.PermissionCatalog
	Items    []PlanItem
	Warnings []string
	// Duplicates are the other app registrations carrying this profile's
	// tag: left by an interrupted setup, they are reported, never used and
	// never deleted automatically.
	Duplicates []graphapi.Application
	// Blocker, when set, is why the procedure cannot succeed with this
	// sign-in, and what to do instead.
	Blocker *graphapi.Error
	// Credential is the credential setup makes, after the tenant's policy.
	Credential CredentialPlan
	// ConsentPending: the admin cannot grant the admin consent the profile
	// needs; everything else is done and consent is left, with its URL,
	// for a Global Administrator or Privileged Role Administrator.
	ConsentPending bool
}

// PlanItem is one object the setup creates, changes, or leaves alone.
type PlanItem struct {
	Action string `json:"action"` // create, update, grant, set, assign, add, keep, check (reads only)
	Object string `json:"object"`
	Detail string `json:"detail,omitempty"`
}

// Changes reports whether the plan writes anything.
func (p *Plan) Changes() bool {
	for _, it := range p.Items {
		if it.Action != "keep" && it.Action != "check" {
			return true
		}
	}
	return false
}

// AdminScopes are the delegated permissions the admin signs in with for a
// profile: only what its plan needs.
func AdminScopes(p *Profile) []string { return AdminScopesWith(p, PreflightOptions{}) }

// AdminScopesWith adds what the admin's explicit permissions need: an
// exemption from the ban on secrets writes an app management policy.
func AdminScopesWith(p *Profile, o PreflightOptions) []string {
	scopes := adminScopes(p)
	if o.AllowSecretExemption {
		scopes = append(scopes, "Policy.ReadWrite.ApplicationConfiguration")
	}
	return scopes
}

func adminScopes(p *Profile) []string {
	// Policy.Read.All reads the tenant's client secret lifetime policy.
	scopes := []string{"Application.ReadWrite.All", "User.Read", "RoleManagement.Read.Directory", "Policy.Read.All"}
	if p.GrantAdminConsent || p.AssignmentRequired || p.CreateGroup != nil {
		scopes = append(scopes, "AppRoleAssignment.ReadWrite.All")
	}
	if p.GrantAdminConsent && len(p.DelegatedPermissions) > 0 {
		scopes = append(scopes, "DelegatedPermissionGrant.ReadWrite.All")
	}
	if p.CreateGroup != nil {
		scopes = append(scopes, "Group.ReadWrite.All")
	}
	return scopes
}

// Preflight reads the tenant (organization, the admin's roles, Microsoft
// Graph's permissions, an existing app) and plans the setup. It writes
// nothing.
func Preflight(ctx context.Context, env *Env, p *Profile, conn *store.Connection, adminUPN string) (*Plan, error) {
	return PreflightWith(ctx, env, p, conn, adminUPN, PreflightOptions{})
}

// PreflightWith is Preflight with the admin's explicit permissions: it
// also reads the tenant's app management policy (when the admin's token
// may) and says what the tenant will refuse and what setup does instead.
func PreflightWith(ctx context.Context, env *Env, p *Profile, conn *store.Connection, adminUPN string, o PreflightOptions) (*Plan, error) {
	plan := &Plan{AdminUPN: adminUPN}
	tr := readTenant(ctx, env)
	org, err := tr.Org, tr.OrgErr
	if err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	plan.Tenant = store.Tenant{ID: org.TenantID, DisplayName: org.DisplayName, PrimaryDomain: org.PrimaryDomain, InitialDomain: org.InitialDomain}

	roles, err := tr.Roles, tr.RolesErr
	rolesKnown := err == nil
	if err != nil && !graphapi.IsKind(err, graphapi.KindConsentNeeded, graphapi.KindForbidden) {
		return nil, fmt.Errorf("read your directory roles: %w", err)
	}
	held := map[string]bool{}
	for _, r := range roles {
		plan.Roles = append(plan.Roles, r.DisplayName)
		held[r.RoleTemplateID] = true
	}
	if !rolesKnown {
		plan.Warnings = append(plan.Warnings, "Your directory roles could not be read, so whether you may grant consent is checked only when it is tried.")
	}

	plan.Catalog, err = env.Graph.GraphPermissions(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Microsoft Graph's permissions: %w", err)
	}
	plan.Access, err = plan.Catalog.Resolve(p.ApplicationPermissions, p.DelegatedPermissions)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}

	plan.Existing, err = findApp(ctx, env, p, conn, plan)
	if err != nil {
		return nil, err
	}
	if plan.Blocker != nil {
		// The app the connection names is gone: nothing is planned, since
		// setup does not make a second app while the config names one.
		plan.Items = []PlanItem{{"keep", fmt.Sprintf("App registration %q", conn.App.DisplayName),
			"client ID " + conn.App.AppID + ": not found in the tenant; nothing will be created"}}
		return plan, nil
	}
	planCredential(tr, p, conn, plan, held, rolesKnown, o)
	if rolesKnown && p.GrantAdminConsent {
		appAdmin := held[RoleCloudAppAdmin] || held[RoleApplicationAdmin]
		switch {
		case len(p.ApplicationPermissions) > 0 && !held[RoleGlobalAdmin] && !held[RolePrivilegedRole] && appAdmin:
			// A Cloud Application Administrator or Application
			// Administrator can do everything else: consent is left, with
			// its URL, for someone who can grant it.
			plan.ConsentPending = true
			plan.Warnings = append(plan.Warnings, adminUPN+" cannot grant admin consent for Microsoft Graph application permissions "+
				"(that needs Global Administrator or Privileged Role Administrator): everything else is done, and setup ends with the admin-consent URL to give to one.")
		case len(p.ApplicationPermissions) > 0 && !held[RoleGlobalAdmin] && !held[RolePrivilegedRole]:
			plan.Blocker = consentBlocker(adminUPN, "application permissions of Microsoft Graph")
		case len(p.DelegatedPermissions) > 0 && !held[RoleGlobalAdmin] && !held[RolePrivilegedRole] && !appAdmin:
			plan.Blocker = consentBlocker(adminUPN, "delegated permissions for all users")
		}
	}
	plan.Items = planItems(env.now(), p, conn, plan, store.SecretsPlace(env.Secrets))
	return plan, nil
}

func consentBlocker(upn, what string) *graphapi.Error {
	return &graphapi.Error{Kind: graphapi.KindConsentNeeded, Code: "ConsentRoleMissing", Op: "plan",
		Message: fmt.Sprintf("%s cannot grant admin consent for %s", upn, what),
		Remedy: "Sign in as a Global Administrator or Privileged Role Administrator, or ask one to run " +
			"`entrawiz setup` (or grant admin consent on the app's API permissions page), then enter the IDs with --manual."}
}

// DesiredApp is the app registration the profile asks for.
func DesiredApp(p *Profile, access graphapi.ResourceAccess) graphapi.ApplicationSpec {
	spec := graphapi.ApplicationSpec{
		DisplayName:              p.AppName,
		SignInAudience:           p.SignInAudience,
		WebRedirectURIs:          nonNil(p.RedirectURIs.Web),
		PublicClientRedirectURIs: nonNil(p.RedirectURIs.PublicClient),
		SPARedirectURIs:          nonNil(p.RedirectURIs.SPA),
		IsFallbackPublicClient:   p.AllowPublicClient,
		Tags:                     []string{graphapi.AppTag(p.Name)},
		Notes:                    AppNotes(p),
	}
	if len(access.RoleIDs)+len(access.ScopeIDs) > 0 {
		spec.RequiredResourceAccess = []graphapi.ResourceAccess{access}
	}
	return spec
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// appPatch returns what must change on an existing app to match spec, and
// the names of the changed fields; nil when nothing differs.
func appPatch(have graphapi.Application, want graphapi.ApplicationSpec) (*graphapi.ApplicationPatch, []string) {
	var patch graphapi.ApplicationPatch
	var changed []string
	if have.DisplayName != want.DisplayName {
		patch.DisplayName, changed = &want.DisplayName, append(changed, "name")
	}
	if have.SignInAudience != want.SignInAudience {
		patch.SignInAudience, changed = &want.SignInAudience, append(changed, "sign-in audience")
	}
	if !sameSet(have.WebRedirectURIs, want.WebRedirectURIs) {
		patch.WebRedirectURIs, changed = &want.WebRedirectURIs, append(changed, "web redirect URIs")
	}
	if !sameSet(have.PublicClientRedirectURIs, want.PublicClientRedirectURIs) {
		patch.PublicClientRedirectURIs, changed = &want.PublicClientRedirectURIs, append(changed, "public client redirect URIs")
	}
	if !sameSet(have.SPARedirectURIs, want.SPARedirectURIs) {
		patch.SPARedirectURIs, changed = &want.SPARedirectURIs, append(changed, "SPA redirect URIs")
	}
	if have.IsFallbackPublicClient != want.IsFallbackPublicClient {
		patch.IsFallbackPublicClient, changed = &want.IsFallbackPublicClient, append(changed, "allow public client flows")
	}
	if !sameAccess(have.RequiredResourceAccess, want.RequiredResourceAccess) {
		patch.RequiredResourceAccess, changed = &want.RequiredResourceAccess, append(changed, "API permissions")
	}
	if !containsAll(have.Tags, want.Tags) {
		tags := append(slices.Clone(have.Tags), want.Tags...)
		patch.Tags, changed = &tags, append(changed, "tags")
	}
	if len(changed) == 0 {
		return nil, nil
	}
	return &patch, changed
}

func sameSet(a, b []string) bool {
	return containsAll(a, b) && containsAll(b, a)
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

func sameAccess(a, b []graphapi.ResourceAccess) bool {
	key := func(list []graphapi.ResourceAccess) []string {
		var out []string
		for _, ra := range list {
			for _, id := range ra.RoleIDs {
				out = append(out, ra.ResourceAppID+"/Role/"+strings.ToLower(id))
			}
			for _, id := range ra.ScopeIDs {
				out = append(out, ra.ResourceAppID+"/Scope/"+strings.ToLower(id))
			}
		}
		return out
	}
	return sameSet(key(a), key(b))
}

func planItems(now time.Time, p *Profile, conn *store.Connection, plan *Plan, secretsPlace string) []PlanItem {
	var items []PlanItem
	want := DesiredApp(p, plan.Access)
	switch {
	case plan.Existing == nil:
		detail := fmt.Sprintf("%s, %s", audienceText(p.SignInAudience), redirectText(p))
		if p.AllowPublicClient {
			detail += ", public client flows allowed"
		}
		items = append(items, PlanItem{"create", "App registration \"" + p.AppName + "\"", detail},
			PlanItem{"create", "Enterprise app (service principal)", ""})
	default:
		if _, changed := appPatch(*plan.Existing, want); len(changed) > 0 {
			items = append(items, PlanItem{"update", "App registration \"" + plan.Existing.DisplayName + "\"", "change " + strings.Join(changed, ", ")})
		} else {
			items = append(items, PlanItem{"keep", "App registration \"" + plan.Existing.DisplayName + "\"", plan.Existing.AppID})
		}
		items = append(items, PlanItem{"keep", "Enterprise app (service principal)", "created if missing"})
	}
	// For an existing app, consent is checked when the step runs: only what
	// is missing is granted.
	consent, consentNote := "grant", ""
	if plan.Existing != nil {
		consent, consentNote = "keep", " (any missing are granted)"
	}
	if plan.ConsentPending {
		consent, consentNote = "pending", " (you cannot grant these: left, with the admin-consent URL, for a Global Administrator or Privileged Role Administrator)"
	}
	if p.GrantAdminConsent && len(p.ApplicationPermissions) > 0 {
		items = append(items, PlanItem{consent, "Admin consent: application permissions", strings.Join(p.ApplicationPermissions, ", ") + consentNote})
	}
	if p.GrantAdminConsent && len(p.DelegatedPermissions) > 0 {
		items = append(items, PlanItem{consent, "Admin consent: delegated permissions for all users", strings.Join(p.DelegatedPermissions, ", ") + consentNote})
	}
	items = append(items, planCredentialItems(now, p, conn, plan, secretsPlace)...)
	if p.Secret != nil && plan.Credential.Kind != CredentialCertificate {
		if s := ActiveSecret(conn); s != nil && plan.Existing != nil && hasPassword(plan.Existing, s.KeyID) && s.End.After(now) {
			items = append(items, PlanItem{"keep", "Client secret", fmt.Sprintf("expires %s", s.End.Format("2006-01-02"))})
		} else {
			days := p.Secret.LifetimeDays
			if plan.Credential.LifetimeDays > 0 {
				days = plan.Credential.LifetimeDays
			}
			end := now.AddDate(0, 0, days)
			items = append(items, PlanItem{"create", "Client secret", fmt.Sprintf("valid %d days, until %s; kept in %s", days, end.Format("2006-01-02"), secretsPlace)})
		}
	}
	if p.AssignmentRequired {
		// As for consent, an existing app's setting is checked when the step runs.
		if plan.Existing != nil {
			items = append(items, PlanItem{"keep", "Assignment required", "only assigned users and groups can sign in (set if it is not)"})
		} else {
			items = append(items, PlanItem{"set", "Assignment required", "only assigned users and groups can sign in"})
		}
	}
	if g := p.CreateGroup; g != nil {
		detail := "security group"
		if g.Assign {
			detail += ", assigned to the app"
		}
		if gs := conn.State.Group; plan.Existing != nil && gs != nil && gs.ID != "" {
			items = append(items, PlanItem{"keep", "Group \"" + gs.DisplayName + "\"", detail + " (made by an earlier run)"})
		} else {
			items = append(items, PlanItem{"create", "Group \"" + g.DisplayName + "\"", detail + " (kept if it exists)"})
		}
	}
	test := "app-only sign-in with the secret, roles and a Graph read per permission (no writes)"
	if plan.Credential.Kind == CredentialCertificate {
		test = "app-only sign-in with the certificate, roles and a Graph read per permission (no writes)"
	}
	if plan.ConsentPending {
		test += "; after admin consent is granted (`entrawiz test`)"
	}
	items = append(items, PlanItem{"check", "Test", test})
	return items
}

func audienceText(a string) string {
	switch a {
	case "AzureADMyOrg":
		return "single tenant"
	case "AzureADMultipleOrgs":
		return "any organization"
	}
	return "organizations and personal accounts"
}

func redirectText(p *Profile) string {
	n := len(p.RedirectURIs.Web) + len(p.RedirectURIs.SPA) + len(p.RedirectURIs.PublicClient)
	switch n {
	case 0:
		return "no redirect URIs"
	case 1:
		return "1 redirect URI"
	}
	return fmt.Sprintf("%d redirect URIs", n)
}

// ActiveSecret is the secret entrawiz last stored for the connection, or nil.
func ActiveSecret(conn *store.Connection) *store.Secret {
	for i := len(conn.Secrets) - 1; i >= 0; i-- {
		if conn.Secrets[i].Status == "active" {
			return &conn.Secrets[i]
		}
	}
	return nil
}

func hasPassword(app *graphapi.Application, keyID string) bool {
	for _, pw := range app.Passwords {
		if strings.EqualFold(pw.KeyID, keyID) {
			return true
		}
	}
	return false
}

// TenantReader reads what preflight needs of the tenant in one request.
// *graphapi.Client implements it; a Graph without it is read one call at a
// time.
type TenantReader interface {
	ReadTenant(ctx context.Context, created time.Time) graphapi.TenantReads
}

// readTenant reads the organization, the admin's roles and (where the
// Graph can) the app management policy.
func readTenant(ctx context.Context, env *Env) graphapi.TenantReads {
	if tr, ok := env.Graph.(TenantReader); ok {
		return tr.ReadTenant(ctx, env.now())
	}
	var out graphapi.TenantReads
	out.Org, out.OrgErr = env.Graph.Organization(ctx)
	if out.OrgErr != nil {
		return out
	}
	out.Roles, out.RolesErr = env.Graph.MyDirectoryRoles(ctx)
	if pg, ok := env.Graph.(PolicyGraph); ok {
		out.Policy, out.PolicyErr = pg.CredentialPolicy(ctx, env.now())
	} else {
		out.PolicyErr = errNoPolicyReader
	}
	return out
}
