package graphapi

import (
	"errors"
	"fmt"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Remedies shared by several Graph codes.
const (
	remedyForbidden = "The signed-in account lacks the rights for this: granting application permissions (app-role consent) needs Privileged Role Administrator or Global Administrator, registering apps needs Application Administrator, Cloud Application Administrator or Global Administrator. Ask one to run it, or do this step in the portal."
	remedyNotFound  = "The object was not found: if it was created moments ago Entra may still be replicating it; otherwise check the ID."
	remedyReplicate = "Entra has not finished replicating a new object: waiting usually fixes this within a minute."
	remedyThrottled = "Microsoft Graph is throttling requests: wait a few minutes and run again."
	remedyServer    = "Microsoft Graph failed: try again in a few minutes; if it persists, quote the request-id to Microsoft support."
	remedyBadInput  = "Graph refused the request as invalid: check the values given; run with --debug and report it if it looks like a bug."
)

// replicationMarkers are messages Graph returns when a just-created object
// is not visible yet to the endpoint that was called (documented in the
// Entra troubleshooting articles).
var replicationMarkers = []string{
	"does not reference a valid application object",
	"queried reference-property objects are not present",
	"the identity of the calling application could not be established",
}

// classifyGraph handles msgraph-sdk-go's ODataError and kiota's ApiError.
func classifyGraph(err error) *Error {
	var oe odataerrors.ODataErrorable
	if errors.As(err, &oe) {
		e := &Error{Err: err}
		if me := oe.GetErrorEscaped(); me != nil {
			e.Code = deref(me.GetCode())
			e.Message = firstLine(deref(me.GetMessage()))
			if ie := me.GetInnerError(); ie != nil {
				e.RequestID = deref(ie.GetRequestId())
			}
		}
		if ae, ok := oe.(abs.ApiErrorable); ok {
			e.Status = ae.GetStatusCode()
			if e.RequestID == "" {
				e.RequestID = headerValue(ae.GetResponseHeaders(), "request-id")
			}
		}
		classifyGraphCode(e)
		return e
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		e := &Error{Status: ae.ResponseStatusCode, Message: fmt.Sprintf("Microsoft Graph answered HTTP %d", ae.ResponseStatusCode), Err: err}
		e.RequestID = headerValue(ae.ResponseHeaders, "request-id")
		classifyGraphCode(e)
		return e
	}
	return nil
}

func classifyGraphCode(e *Error) {
	code := strings.ToLower(e.Code)
	msg := strings.ToLower(e.Message)
	// Graph's generic 404 text is "Resource 'x' does not exist or one of its
	// queried reference-property objects are not present", so on a 404 the
	// markers say nothing more than the status: it stays KindNotFound (which
	// Retry also waits out after a create).
	if e.Status != 404 {
		for _, m := range replicationMarkers {
			if strings.Contains(msg, m) {
				e.Kind, e.Remedy = KindNotFoundYet, remedyReplicate
				return
			}
		}
	}
	switch {
	case code == "authorization_identitynotfound":
		e.Kind, e.Remedy = KindNotFoundYet, remedyReplicate
	case e.Status == 429 || code == "toomanyrequests" || code == "activitylimitreached":
		e.Kind, e.Remedy = KindThrottled, remedyThrottled
	case code == "syncstatenotfound" || code == "resyncrequired" || e.Status == 410 ||
		(strings.Contains(msg, "delta") && (strings.Contains(msg, "expired") || strings.Contains(msg, "token"))):
		e.Kind, e.Remedy = KindDeltaExpired, "The saved sync position expired: a full sync runs instead."
	case e.Status == 409 || code == "request_multipleobjectswithsamekeyvalue" || strings.Contains(msg, "already exist"):
		e.Kind, e.Remedy = KindAlreadyExists, "It exists already: nothing to do."
	case code == "credentialinvalidlifetimeasperapppolicy":
		e.Kind, e.Remedy = KindBadInput, "The tenant's app management policy limits how long a client secret may live: ask for a shorter lifetime (the profile's secret.lifetimeDays), or have the policy changed."
	case code == "credentialtypenotallowedasperapppolicy":
		e.Kind, e.Remedy = KindForbidden, "The tenant's app management policy forbids new client secrets: use a certificate (a profile with \"credential\": \"certificate\" or \"either\", if the product accepts one), or exempt this app with `entrawiz setup --allow-secret-exemption` (needs an app administrator role and Policy.ReadWrite.ApplicationConfiguration)."
	case code == "signinaudiencenotallowedasperapppolicy":
		e.Kind, e.Remedy = KindForbidden, "The tenant's app management policy forbids this sign-in audience: use \"signInAudience\": \"AzureADMyOrg\" in the profile if the product works with a single-tenant app, or have the policy changed."
	case code == "insufficient_claims":
		e.Kind, e.Remedy = KindConditionalAccess, "A Conditional Access policy requires a fresh sign-in: sign in again (with the browser if device code is blocked)."
	case e.Status == 403 || code == "authorization_requestdenied" || code == "accessdenied" || code == "forbidden":
		e.Kind, e.Remedy = KindForbidden, remedyForbidden
	case e.Status == 401 || code == "invalidauthenticationtoken" || code == "unauthenticated":
		e.Kind, e.Remedy = KindSignInRequired, "Microsoft Graph refused the access token: sign in again (and check the computer's clock)."
	case e.Status == 404 || code == "request_resourcenotfound" || code == "resourcenotfound" || code == "itemnotfound" || code == "resource_notfound":
		e.Kind, e.Remedy = KindNotFound, remedyNotFound
	case e.Status >= 500 && e.Status != 501:
		e.Kind, e.Remedy = KindServer, remedyServer
	case e.Status == 400 || e.Status == 501 || code == "request_badrequest" || code == "request_unsupportedquery" || code == "badrequest" || code == "invalidrequest":
		e.Kind, e.Remedy = KindBadInput, remedyBadInput
	default:
		e.Kind, e.Remedy = KindUnknown, "Run again with --debug and quote the request-id if you report it."
	}
}

func headerValue(h *abs.ResponseHeaders, name string) string {
	if h == nil {
		return ""
	}
	if v := h.Get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
