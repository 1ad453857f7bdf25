package graphapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// CredentialPolicy is what the tenant's default app management policy
// says about the credentials and audience of an app created now. Only new
// credentials are restricted.
type CredentialPolicy struct {
	// PolicyID is the policy's id (the tenant default's is all zeros).
	PolicyID string
	// SecretsForbidden: passwordAddition — no new client secrets.
	SecretsForbidden bool
	// SecretMaxLifetime (with SecretMaxISO as Graph gives it): 0 is none.
	SecretMaxLifetime time.Duration
	SecretMaxISO      string
	// CertMaxLifetime: asymmetricKeyLifetime; 0 is none.
	CertMaxLifetime time.Duration
	CertMaxISO      string
	// MultiTenantForbidden: multi-tenant sign-in audiences are refused.
	MultiTenantForbidden bool
	// PersonalForbidden: personal Microsoft account audiences are refused.
	PersonalForbidden bool
}

// Restricts reports whether the policy restricts anything entrawiz does.
func (p *CredentialPolicy) Restricts() bool {
	return p != nil && (p.SecretsForbidden || p.SecretMaxLifetime > 0 || p.CertMaxLifetime > 0 || p.MultiTenantForbidden || p.PersonalForbidden)
}

// AudienceAllowed reports whether an app may have the sign-in audience.
func (p *CredentialPolicy) AudienceAllowed(audience string) bool {
	if p == nil {
		return true
	}
	switch audience {
	case "AzureADMultipleOrgs":
		return !p.MultiTenantForbidden
	case "PersonalMicrosoftAccount":
		return !p.PersonalForbidden
	case "AzureADandPersonalMicrosoftAccount":
		return !p.MultiTenantForbidden && !p.PersonalForbidden
	}
	return true
}

func isoToDuration(d *absser.ISODuration) (time.Duration, string) {
	if d == nil {
		return 0, ""
	}
	v := time.Duration(d.GetYears())*365*24*time.Hour + time.Duration(d.GetWeeks())*7*24*time.Hour +
		time.Duration(d.GetDays())*24*time.Hour + time.Duration(d.GetHours())*time.Hour +
		time.Duration(d.GetMinutes())*time.Minute + time.Duration(d.GetSeconds())*time.Second
	iso := d.String()
	if day := 24 * time.Hour; v > 0 && v%day == 0 {
		iso = fmt.Sprintf("P%dD", v/day) // the SDK rewrites P180D as P25W5D
	}
	return v, iso
}

// applies says whether a restriction is in force for an app created at
// created: enabled, and the app created after its date.
func applies(state fmt.Stringer, after *time.Time, created time.Time) bool {
	if state != nil && strings.EqualFold(state.String(), "disabled") {
		return false
	}
	return after == nil || created.After(*after)
}

// CredentialPolicy reads the tenant default app management policy (GET
// /policies/defaultAppManagementPolicy, which needs Policy.Read.All) as it
// applies to an app created at created.
func (c *Client) CredentialPolicy(ctx context.Context, created time.Time) (*CredentialPolicy, error) {
	p, err := c.sdk.Policies().DefaultAppManagementPolicy().Get(ctx, nil)
	if err != nil {
		return nil, wrap("read the tenant's app management policy", err)
	}
	return credentialPolicyFrom(p, created), nil
}

// credentialPolicyFrom is the tenant default policy as it applies to an
// app created at created.
func credentialPolicyFrom(p models.TenantAppManagementPolicyable, created time.Time) *CredentialPolicy {
	out := &CredentialPolicy{PolicyID: deref(p.GetId())}
	if !deref(p.GetIsEnabled()) || p.GetApplicationRestrictions() == nil {
		return out
	}
	ar := p.GetApplicationRestrictions()
	for _, r := range ar.GetPasswordCredentials() {
		var st fmt.Stringer
		if r.GetState() != nil {
			st = r.GetState()
		}
		if r.GetRestrictionType() == nil || !applies(st, r.GetRestrictForAppsCreatedAfterDateTime(), created) {
			continue
		}
		switch r.GetRestrictionType().String() {
		case "passwordAddition":
			out.SecretsForbidden = true
		case "passwordLifetime":
			out.SecretMaxLifetime, out.SecretMaxISO = isoToDuration(r.GetMaxLifetime())
		}
	}
	for _, r := range ar.GetKeyCredentials() {
		var st fmt.Stringer
		if r.GetState() != nil {
			st = r.GetState()
		}
		if r.GetRestrictionType() == nil || !applies(st, r.GetRestrictForAppsCreatedAfterDateTime(), created) {
			continue
		}
		if r.GetRestrictionType().String() == "asymmetricKeyLifetime" {
			out.CertMaxLifetime, out.CertMaxISO = isoToDuration(r.GetMaxLifetime())
		}
	}
	// audiences is a beta property: v1.0's model keeps it as additional data.
	for name, fields := range untypedMap(ar.GetAdditionalData()["audiences"]) {
		m := untypedMap(fields)
		state, _ := untypedString(m["state"])
		if state == "" {
			state = "enabled"
		}
		var after *time.Time
		if s, ok := untypedString(m["restrictForAppsCreatedAfterDateTime"]); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				after = &t
			}
		}
		if strings.EqualFold(state, "disabled") || after != nil && !created.After(*after) {
			continue
		}
		switch name {
		case "azureAdMultipleOrgs":
			out.MultiTenantForbidden = true
		case "personalMicrosoftAccount":
			out.PersonalForbidden = true
		}
	}
	return out
}

// untypedMap reads a JSON object the SDK kept as additional data, which
// comes as a map or as an untyped node depending on the serializer.
func untypedMap(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case *absser.UntypedObject:
		out := map[string]any{}
		for k, n := range x.GetValue() {
			out[k] = n
		}
		return out
	}
	return nil
}

func untypedString(v any) (string, bool) {
	switch x := v.(type) {
	case *string:
		if x != nil {
			return *x, true
		}
	case string:
		return x, true
	case *absser.UntypedString:
		if x.GetValue() != nil {
			return *x.GetValue(), true
		}
	}
	return "", false
}

// ExemptFromSecretBan creates a custom app management policy that allows
// client secrets (passwordAddition disabled) while keeping the tenant's
// lifetime limits, and assigns it to the app with objectID (POST
// /policies/appManagementPolicies, then POST
// /applications/{id}/appManagementPolicies/$ref). It needs
// Policy.ReadWrite.ApplicationConfiguration and, delegated, Cloud
// Application Administrator, Application Administrator or Global
// Administrator. It returns the new policy's id.
func (c *Client) ExemptFromSecretBan(ctx context.Context, objectID, appName string, keep *CredentialPolicy) (string, error) {
	pol := models.NewAppManagementPolicy()
	name := "entrawiz: client secrets allowed for " + appName
	desc := "Made by entrawiz at the admin's explicit request (--allow-secret-exemption): the product needs a client secret and the tenant forbids new ones."
	enabled := true
	pol.SetDisplayName(&name)
	pol.SetDescription(&desc)
	pol.SetIsEnabled(&enabled)
	cfg := models.NewAppManagementConfiguration()
	disabled := models.DISABLED_APPMANAGEMENTRESTRICTIONSTATE
	on := models.ENABLED_APPMANAGEMENTRESTRICTIONSTATE
	add := models.PASSWORDADDITION_APPCREDENTIALRESTRICTIONTYPE
	allow := models.NewPasswordCredentialConfiguration()
	allow.SetRestrictionType(&add)
	allow.SetState(&disabled)
	pw := []models.PasswordCredentialConfigurationable{allow}
	if keep != nil && keep.SecretMaxLifetime > 0 {
		life := models.PASSWORDLIFETIME_APPCREDENTIALRESTRICTIONTYPE
		r := models.NewPasswordCredentialConfiguration()
		r.SetRestrictionType(&life)
		r.SetState(&on)
		if d, err := absser.ParseISODuration(keep.SecretMaxISO); err == nil {
			r.SetMaxLifetime(d)
		}
		pw = append(pw, r)
	}
	cfg.SetPasswordCredentials(pw)
	var keys []models.KeyCredentialConfigurationable
	if keep != nil && keep.CertMaxLifetime > 0 {
		life := models.ASYMMETRICKEYLIFETIME_APPKEYCREDENTIALRESTRICTIONTYPE
		r := models.NewKeyCredentialConfiguration()
		r.SetRestrictionType(&life)
		r.SetState(&on)
		if d, err := absser.ParseISODuration(keep.CertMaxISO); err == nil {
			r.SetMaxLifetime(d)
		}
		keys = append(keys, r)
	}
	cfg.SetKeyCredentials(nonNil(keys))
	pol.SetRestrictions(cfg)
	made, err := c.sdk.Policies().AppManagementPolicies().Post(ctx, pol, nil)
	if err != nil {
		return "", wrap("create the app management policy that allows client secrets", err)
	}
	id := deref(made.GetId())
	ref := models.NewReferenceCreate()
	odataID := strings.TrimSuffix(c.cloud.GraphURL, "/") + "/policies/appManagementPolicies/" + id
	ref.SetOdataId(&odataID)
	if err := c.sdk.Applications().ByApplicationId(objectID).AppManagementPolicies().Ref().Post(ctx, ref, nil); err != nil {
		return id, wrap("assign the app management policy that allows client secrets", err)
	}
	return id, nil
}
