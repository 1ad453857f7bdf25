package steps

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidateGUID checks an ID the admin typed or pasted; field names it in the
// error as the portal does ("Application (client) ID").
func ValidateGUID(field, s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return fmt.Errorf("%s is required", field)
	}
	if !guidRe.MatchString(s) {
		return fmt.Errorf("%s must look like 00000000-0000-0000-0000-000000000000 (copy it from the app's Overview page)", field)
	}
	return nil
}

// ValidateSecretValue checks a pasted client secret. The portal shows a
// secret's Value once and its Secret ID beside it; the ID is a GUID and is
// refused, since it is the usual mistake.
func ValidateSecretValue(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return fmt.Errorf("the client secret is required")
	case guidRe.MatchString(s):
		return fmt.Errorf("that is the secret's ID, not its Value: copy the Value column (shown only right after the secret is created)")
	case len(s) < 16 || len(s) > 128 || strings.ContainsAny(s, " \t\r\n"):
		return fmt.Errorf("that does not look like a client secret Value (16 or more characters, no spaces)")
	}
	return nil
}

// ValidateTenant checks a tenant given as a GUID or a domain name.
func ValidateTenant(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return fmt.Errorf("the tenant is required (its ID or a verified domain such as contoso.onmicrosoft.com)")
	}
	if guidRe.MatchString(s) {
		return nil
	}
	if strings.ContainsAny(s, " /\\@:") || !strings.Contains(s, ".") {
		return fmt.Errorf("tenant %q is neither a tenant ID (GUID) nor a domain such as contoso.onmicrosoft.com", s)
	}
	return nil
}

// ManualConnection records a connection whose app was registered by hand
// (in the portal, or by another admin): the IDs and the secret the admin
// entered. The secret goes into the keyring, and the connection is tested
// as the product will use it; the tenant ID comes from the app-only token.
// A client ID the tenant does not know fails at once; a secret created in
// the portal moments ago is waited for, briefly (manualWait).
func ManualConnection(ctx context.Context, env *Env, p *Profile, conn *store.Connection, clientID, secret string) (*TestResult, error) {
	if err := ValidateGUID("Application (client) ID", clientID); err != nil {
		return nil, err
	}
	if err := ValidateSecretValue(secret); err != nil {
		return nil, err
	}
	conn.Profile = p.Name
	conn.App.AppID = strings.TrimSpace(clientID)
	r := &Run{Env: env, Profile: p, Conn: conn, secret: strings.TrimSpace(secret), step: "test"}
	RecordProfile(conn, p)
	res, err := verify(ctx, r, p.ApplicationPermissions, manualVerifyWait(env.Backoff, conn, p))
	if err != nil {
		return res, err
	}
	name := KeyringName(conn, "manual")
	if err := env.Secrets.Set(name, r.secret); err != nil {
		return res, fmt.Errorf("store the client secret in the keyring: %w", err)
	}
	// The keyring item of a secret entered by hand is overwritten: its
	// record goes with it. Other secrets are replaced.
	conn.Secrets = slices.DeleteFunc(conn.Secrets, func(s store.Secret) bool { return s.KeyringName == name })
	for i := range conn.Secrets {
		if conn.Secrets[i].Status == "active" {
			conn.Secrets[i].Status = "replaced"
		}
	}
	conn.Secrets = append(conn.Secrets, store.Secret{KeyID: "", Hint: r.secret[:3], DisplayName: "entered by hand",
		KeyringName: name, Status: "active"})
	conn.Enabled = true
	conn.Updated = env.now()
	return res, r.save()
}

// manualWait bounds the manual path's wait for Entra. The admin registered
// the app in the portal before copying its IDs, so the app is normally
// visible by now; only a secret (or a consent) added seconds ago may still
// be refused (AADSTS7000215) for a few seconds. Waiting the full 3-minute
// replication budget would only delay the news that a value entered is
// wrong.
const manualWait = 30 * time.Second

func manualVerifyWait(b graphapi.Backoff, conn *store.Connection, p *Profile) verifyWait {
	if b.Budget <= 0 || b.Budget > manualWait {
		b.Budget = manualWait
	}
	b.RetryInvalidSecret = true
	clientID, tenant := conn.App.AppID, manualTenant(conn, p)
	return verifyWait{fresh: true, backoff: b, final: func(err error) error {
		e := graphapi.Classify(err)
		if e == nil || e.Code != "AADSTS700016" {
			return err
		}
		// The app is not known to the tenant: most likely a mistyped or
		// mis-copied client ID (or the wrong tenant), which waiting
		// does not fix.
		return &graphapi.Error{Kind: graphapi.KindBadInput, Op: "check the client ID", Code: e.Code, OAuthError: e.OAuthError,
			Status: e.Status, RequestID: e.RequestID, CorrelationID: e.CorrelationID,
			Message: fmt.Sprintf("no app with client ID %s is registered in tenant %s", clientID, tenant),
			Remedy: "Copy the Application (client) ID from the app's Overview page (Entra admin center > App registrations > the app > Overview) " +
				"and enter it again, and check that the tenant is the app's; if the app was registered in the last few minutes, wait a minute and try again."}
	}}
}

// manualTenant names the tenant a manual connection is for, as the admin
// gave it: its ID when known, else the tenant part of the connection name.
func manualTenant(conn *store.Connection, p *Profile) string {
	for _, t := range []string{conn.Tenant.ID, conn.Tenant.PrimaryDomain, conn.Tenant.InitialDomain, strings.TrimSuffix(conn.Name, "/"+p.Name)} {
		if t != "" && ValidateTenant(t) == nil {
			return t
		}
	}
	return "(the tenant given)"
}
