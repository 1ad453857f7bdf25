package sim

// permission is one Microsoft Graph permission as the Microsoft Graph service
// principal publishes it. IDs are the real ones from the Microsoft Graph
// permissions reference, so a client that hard-codes nothing and resolves
// names at run time gets the same answer here as in a real tenant.
type permission struct {
	value, id, display string
	adminOnly          bool // delegated scopes only: needs admin consent
}

// graphAppRoles are application permissions (appRoles, allowedMemberTypes
// Application).
var graphAppRoles = []permission{
	{"AccessReview.Read.All", "d07a8cc0-3d51-4b77-b3b0-32704d1f69fa", "Read all access reviews", true},
	{"Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Read all applications", true},
	{"Application.ReadWrite.All", "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Read and write all applications", true},
	{"Application.ReadWrite.OwnedBy", "18a4783c-866b-4cc7-a460-3d5e5662c884", "Manage apps that this app creates or owns", true},
	{"AppRoleAssignment.ReadWrite.All", "06b708a9-e830-4db3-a914-8e69da51d44f", "Manage app permission grants and app role assignments", true},
	{"Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Read directory data", true},
	{"Directory.ReadWrite.All", "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Read and write directory data", true},
	{"Domain.Read.All", "dbb9058a-0e50-45d7-ae91-66909b5d4664", "Read domains", true},
	{"Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b", "Read all groups", true},
	{"Group.ReadWrite.All", "62a82d76-70ea-41e2-9197-370581804d09", "Read and write all groups", true},
	{"GroupMember.Read.All", "98830695-27a2-44f7-8c18-0c3ebc9698f6", "Read all group memberships", true},
	{"GroupMember.ReadWrite.All", "dbaae8cf-10b5-4b86-a4a1-f871c94c6695", "Read and write all group memberships", true},
	{"Organization.Read.All", "498476ce-e0fe-48b0-b801-37ba7e2685c6", "Read organization information", true},
	{"Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68", "Read your organization's policies", true},
	{"Policy.ReadWrite.ApplicationConfiguration", "be74164b-cff1-491c-8741-e671cb536e13", "Read and write your organization's application configuration policies", true},
	{"RoleManagement.Read.Directory", "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", "Read all directory RBAC settings", true},
	{"User.Read.All", "df021288-bdef-4463-88db-98f22de89214", "Read all users' full profiles", true},
	{"User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca", "Read and write all users' full profiles", true},
}

// graphScopes are delegated permissions (oauth2PermissionScopes).
var graphScopes = []permission{
	{"AccessReview.Read.All", "ebfcd32b-babb-40f4-a14b-42706e83bd28", "Read all access reviews that user can access", true},
	{"Application.Read.All", "c79f8feb-a9db-4090-85f9-90d820caa0eb", "Read applications", true},
	{"Application.ReadWrite.All", "bdfbf15f-ee85-4955-8675-146e8e5296b5", "Read and write all applications", true},
	{"AppRoleAssignment.ReadWrite.All", "84bccea3-f856-4a8a-967b-dbe0a3d53a64", "Manage app permission grants and app role assignments", true},
	{"DelegatedPermissionGrant.ReadWrite.All", "41ce6ca6-6826-4807-84f1-1c82854f7ee5", "Manage all delegated permission grants", true},
	{"Directory.AccessAsUser.All", "0e263e50-5827-48a4-b97c-d940288653c7", "Access directory as the signed in user", true},
	{"Directory.Read.All", "06da0dbc-49e2-44d2-8312-53f166ab848a", "Read directory data", true},
	{"Directory.ReadWrite.All", "c5366453-9fb0-48a5-a156-24f0c49a4b84", "Read and write directory data", true},
	{"Domain.Read.All", "2f9ee017-59c1-4f1d-9472-bd5529a7b311", "Read domains.", true},
	{"email", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "View users' email address", false},
	{"Group.Read.All", "5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Read all groups", true},
	{"Group.ReadWrite.All", "4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "Read and write all groups", true},
	{"GroupMember.Read.All", "bc024368-1153-4739-b217-4326f2e966d0", "Read group memberships", true},
	{"GroupMember.ReadWrite.All", "f81125ac-d3b7-4573-a3b2-7099cc39df9e", "Read and write group memberships", true},
	{"offline_access", "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "Maintain access to data you have given it access to", false},
	{"openid", "37f7f235-527c-4136-accd-4a02d197296e", "Sign users in", false},
	{"Organization.Read.All", "4908d5b9-3fb2-4b1e-9336-1888b7937185", "Read organization information", true},
	{"Policy.Read.All", "572fea84-0151-49b2-9301-11cb16974376", "Read your organization's policies", true},
	{"Policy.ReadWrite.ApplicationConfiguration", "b27add92-efb2-4f16-84f5-8108ba77985c", "Read and write your organization's application configuration policies", true},
	{"profile", "14dad69e-099b-42c9-810b-d002981feec1", "View users' basic profile", false},
	{"RoleManagement.Read.Directory", "741c54c3-0c1e-44a1-818b-3f97ab4e8c83", "Read directory RBAC settings", true},
	{"User.Read", "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "Sign in and read user profile", false},
	{"User.Read.All", "a154be20-db9c-4678-8ab7-66f6cc099a59", "Read all users' full profiles", true},
	{"User.ReadBasic.All", "b340eb25-3456-403f-be2f-af7a0d370277", "Read all users' basic profiles", false},
	{"User.ReadWrite.All", "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "Read and write all users' full profiles", true},
}

func (d *directory) seedFirstPartyApps() {
	var roles, scopes []any
	for _, p := range graphAppRoles {
		roles = append(roles, map[string]any{
			"allowedMemberTypes": []any{"Application"},
			"description":        "Allows the app to " + lowerFirst(p.display) + " without a signed-in user.",
			"displayName":        p.display,
			"id":                 p.id,
			"isEnabled":          true,
			"origin":             "Application",
			"value":              p.value,
		})
	}
	for _, p := range graphScopes {
		typ := "User"
		if p.adminOnly {
			typ = "Admin"
		}
		scopes = append(scopes, map[string]any{
			"adminConsentDescription": "Allows the app to " + lowerFirst(p.display) + ".",
			"adminConsentDisplayName": p.display,
			"id":                      p.id,
			"isEnabled":               true,
			"type":                    typ,
			"userConsentDescription":  "Allows the app to " + lowerFirst(p.display) + " on your behalf.",
			"userConsentDisplayName":  p.display,
			"value":                   p.value,
		})
	}
	graph := d.newServicePrincipal(GraphAppID, "Microsoft Graph", "f8cdef31-a31e-4b4a-93e4-5f571e91255a")
	graph.Props["appRoles"] = roles
	graph.Props["oauth2PermissionScopes"] = scopes
	graph.Props["servicePrincipalNames"] = []any{GraphAppID, GraphResource, "https://graph.microsoft.com/", "https://canary.graph.microsoft.com"}
	d.graphSPID = graph.ID
	cli := d.newServicePrincipal(GraphCLIToolsID, "Microsoft Graph Command Line Tools", "f8cdef31-a31e-4b4a-93e4-5f571e91255a")
	d.cliToolsID = cli.ID
}

// newServicePrincipal makes a service principal with the properties Graph
// returns by default, visible at once.
func (d *directory) newServicePrincipal(appID, name, ownerTenant string) *object {
	sp := &object{ID: d.newID()}
	sp.Props = map[string]any{
		"id":                         sp.ID,
		"deletedDateTime":            nil,
		"accountEnabled":             true,
		"alternativeNames":           []any{},
		"appDisplayName":             name,
		"appDescription":             nil,
		"appId":                      appID,
		"applicationTemplateId":      nil,
		"appOwnerOrganizationId":     ownerTenant,
		"appRoleAssignmentRequired":  false,
		"description":                nil,
		"disabledByMicrosoftStatus":  nil,
		"displayName":                name,
		"homepage":                   nil,
		"loginUrl":                   nil,
		"logoutUrl":                  nil,
		"notes":                      nil,
		"notificationEmailAddresses": []any{},
		"preferredSingleSignOnMode":  nil,
		"replyUrls":                  []any{},
		"servicePrincipalNames":      []any{appID},
		"servicePrincipalType":       "Application",
		"signInAudience":             "AzureADMultipleOrgs",
		"tags":                       []any{},
		"tokenEncryptionKeyId":       nil,
		"info": map[string]any{"logoUrl": nil, "marketingUrl": nil, "privacyStatementUrl": nil,
			"supportUrl": nil, "termsOfServiceUrl": nil},
		"addIns":                                 []any{},
		"endpoints":                              []any{},
		"publisherName":                          "Microsoft Services",
		"appRoles":                               []any{},
		"keyCredentials":                         []any{},
		"oauth2PermissionScopes":                 []any{},
		"passwordCredentials":                    []any{},
		"resourceSpecificApplicationPermissions": []any{},
		"verifiedPublisher":                      map[string]any{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil},
	}
	d.sps = append(d.sps, sp)
	d.spByID[sp.ID] = sp
	return sp
}

func (d *directory) spByAppID(appID string) *object {
	for _, sp := range d.sps {
		if sp.Props["appId"] == appID {
			return sp
		}
	}
	return nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

// scopeByValue finds a delegated Graph permission by name, case-insensitively
// as Entra matches scope names.
func scopeByValue(v string) (permission, bool) {
	for _, p := range graphScopes {
		if equalFold(p.value, v) {
			return p, true
		}
	}
	return permission{}, false
}

func appRoleByID(id string) (permission, bool) {
	for _, p := range graphAppRoles {
		if p.id == id {
			return p, true
		}
	}
	return permission{}, false
}
