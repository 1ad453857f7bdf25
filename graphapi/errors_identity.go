package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// tokenError is the identity platform's error body.
type tokenError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// aadsts (read only) maps AADSTS codes to a kind and remedy. Codes from the identity
// platform's error reference.
var aadsts = map[int]struct {
	kind   Kind
	remedy string
}{
	7000215: {KindInvalidSecret, "The client secret is not valid for this app: give the secret's Value (not its Secret ID), or create a new one with `entrawiz rotate`."},
	70002:   {KindInvalidSecret, "The client credentials were refused: give the secret's Value (not its Secret ID), or create a new one with `entrawiz rotate`."},
	700027:  {KindInvalidSecret, "The certificate is not (or no longer) on the app, or the signature does not match it: if it was just added, wait a minute; otherwise run `entrawiz rotate` to make a new one."},
	700024:  {KindBadInput, "The client assertion is outside its valid time: check this computer's clock."},
	700021:  {KindBadInput, "The client assertion names another app: check the client ID."},
	7000222: {KindSecretExpired, "The client secret has expired: create a new one with `entrawiz rotate` and give it to the product."},
	7000218: {KindBadInput, "No client secret was sent: store the secret first (`entrawiz rotate` creates one)."},
	700016:  {KindNotFoundYet, "The app is not known to the tenant's sign-in service yet: if it was just created, wait a minute; otherwise check the client ID and tenant."},
	7000229: {KindNotFoundYet, "The app has no service principal in this tenant yet: run setup again (it creates one), or wait a minute if it was just created."},
	53000:   {KindConditionalAccess, "A Conditional Access policy requires a compliant device: sign in with the browser from a managed device."},
	53001:   {KindConditionalAccess, "A Conditional Access policy requires a domain-joined device: sign in with the browser from a managed device."},
	53003:   {KindConditionalAccess, "A Conditional Access policy blocks the device-code sign-in: sign in with the browser instead, or ask for an exclusion for this tool."},
	50097:   {KindConditionalAccess, "Conditional Access requires device authentication: sign in with the browser from a registered device."},
	50158:   {KindConditionalAccess, "An external security challenge is required: sign in with the browser."},
	70019:   {KindSignIn, "The sign-in code expired before it was used: start the sign-in again and enter the code within 15 minutes."},
	70018:   {KindSignIn, "The sign-in code was not accepted: start the sign-in again and type the code exactly as shown."},
	70016:   {KindSignIn, "The sign-in has not been approved yet: finish it in the browser."},
	90002:   {KindBadInput, "The tenant was not found: check --tenant (a tenant ID or verified domain) and --cloud."},
	90120:   {KindSignIn, "This sign-in code was already used or declined: start the sign-in again."},
	65001:   {KindConsentNeeded, "The app has no consent for these permissions: grant admin consent (setup does it) or ask a Global Administrator to."},
	50076:   {KindSignIn, "Multi-factor authentication is required: complete it in the browser when signing in."},
	50079:   {KindSignIn, "Multi-factor authentication registration is required: register at https://aka.ms/mfasetup and sign in again."},
	50034:   {KindSignIn, "The account does not exist in this tenant: sign in with an account of the tenant."},
	50126:   {KindSignIn, "The user name or password is wrong: sign in again."},
	50020:   {KindSignIn, "The account is from another tenant: sign in with an account of this tenant, or check --tenant."},
	50105:   {KindForbidden, "The account is not assigned to this app: ask an administrator to assign it."},
	70000:   {KindSignInRequired, "The saved sign-in is no longer valid: sign in again."},
	70008:   {KindSignInRequired, "The saved sign-in expired: sign in again."},
	700082:  {KindSignInRequired, "The saved sign-in expired after inactivity: sign in again."},
	50173:   {KindSignInRequired, "The saved sign-in was revoked (password change): sign in again."},
	700084:  {KindSignInRequired, "The saved sign-in expired: sign in again."},
	70011:   {KindBadInput, "A requested permission is not valid: check the profile's permission names."},
	1002012: {KindBadInput, "An app-only token needs a scope ending in /.default: this is a bug, please report it."},
	700022:  {KindBadInput, "Permissions for more than one API were requested in one token: this is a bug, please report it."},
	500011:  {KindNotFound, "Microsoft Graph is not available as a resource in this tenant: check --cloud and --graph-url."},
	90055:   {KindThrottled, "The sign-in service is throttling this tenant: wait a few minutes and try again."},
}

// oauthErrors (read only) maps the token endpoint's "error" value when no AADSTS code
// is more specific.
var oauthErrors = map[string]struct {
	kind   Kind
	remedy string
}{
	"authorization_declined":  {KindSignIn, "The sign-in was declined in the browser: start again and approve it."},
	"expired_token":           {KindSignIn, "The sign-in code expired before it was used: start the sign-in again and enter the code within 15 minutes."},
	"bad_verification_code":   {KindSignIn, "The sign-in code was not accepted: start the sign-in again."},
	"access_denied":           {KindSignIn, "The sign-in was refused: start again and approve it."},
	"invalid_client":          {KindInvalidSecret, "The client credentials were refused: give the secret's Value (not its Secret ID), or create a new one with `entrawiz rotate`."},
	"unauthorized_client":     {KindNotFoundYet, "The app is not known to the sign-in service yet: if it was just created, wait a minute; otherwise check the client ID and tenant."},
	"invalid_grant":           {KindSignIn, "The sign-in was refused: sign in again."},
	"interaction_required":    {KindSignInRequired, "The service needs you to sign in again interactively."},
	"consent_required":        {KindConsentNeeded, "The app has no consent for these permissions: grant admin consent or ask a Global Administrator to."},
	"invalid_scope":           {KindBadInput, "A requested permission is not valid: check the profile's permission names."},
	"invalid_request":         {KindBadInput, "The sign-in request was not valid: check --tenant, --cloud and --admin-client-id."},
	"invalid_tenant":          {KindBadInput, "The tenant was not found: check --tenant (a tenant ID or verified domain) and --cloud."},
	"temporarily_unavailable": {KindServer, "The sign-in service is temporarily unavailable: try again in a few minutes."},
	"unsupported_grant_type":  {KindBadInput, "The sign-in service refused the grant type: this is a bug, please report it."},
}

// classifyMSAL handles MSAL's CallErr, whose response body is the token
// endpoint's JSON error. MSAL's device-code poller may already have read the
// body, so the copy in the error's text is used as a fallback.
func classifyMSAL(err error) *Error {
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		return nil
	}
	status := 0
	var body []byte
	if ce.Resp != nil {
		status = ce.Resp.StatusCode
		if ce.Resp.Body != nil {
			body, _ = io.ReadAll(ce.Resp.Body)
			ce.Resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	var te tokenError
	if len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &te) != nil {
		if ce.Err != nil {
			txt := ce.Err.Error()
			if i := strings.Index(txt, "{"); i >= 0 {
				_ = json.Unmarshal([]byte(txt[i:]), &te)
			}
		}
	}
	return fromTokenError(te, status)
}

func fromTokenError(te tokenError, status int) *Error {
	e := &Error{
		Kind:          KindUnknown,
		OAuthError:    te.Error,
		Status:        status,
		RequestID:     te.TraceID,
		CorrelationID: te.CorrelationID,
		Code:          te.Error,
	}
	msg := firstLine(te.Description)
	if len(te.Codes) > 0 {
		e.Code = fmt.Sprintf("AADSTS%d", te.Codes[0])
		msg = strings.TrimSpace(strings.TrimPrefix(msg, e.Code+":"))
	}
	e.Message = msg
	if e.Message == "" {
		e.Message = "the token service refused the request"
	}
	// Device-flow errors are identified by "error"; elsewhere the AADSTS
	// code is the more specific.
	if m, ok := oauthErrors[te.Error]; ok && (te.Error == "authorization_declined" || te.Error == "expired_token" || te.Error == "bad_verification_code") {
		e.Kind, e.Remedy = m.kind, m.remedy
		return e
	}
	for _, c := range te.Codes {
		if m, ok := aadsts[c]; ok {
			e.Kind, e.Remedy = m.kind, m.remedy
			return e
		}
	}
	if m, ok := oauthErrors[te.Error]; ok {
		e.Kind, e.Remedy = m.kind, m.remedy
		return e
	}
	switch {
	case status == 429:
		e.Kind, e.Remedy = KindThrottled, "The sign-in service is throttling: wait a few minutes and try again."
	case status >= 500:
		e.Kind, e.Remedy = KindServer, "The sign-in service failed: try again in a few minutes."
	default:
		e.Remedy = "Run again with --debug and check the sign-in logs in the Entra admin center for this request ID."
	}
	return e
}
