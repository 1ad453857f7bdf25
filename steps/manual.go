package steps

import (
	"context"
	"fmt"
	"regexp"
	"strings"

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
	r.SetState("profile", p)
	res, err := Verify(ctx, r, p.ApplicationPermissions)
	if err != nil {
		return res, err
	}
	name := KeyringName(conn, "manual")
	if err := env.Secrets.Set(name, r.secret); err != nil {
		return res, fmt.Errorf("store the client secret in the keyring: %w", err)
	}
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
