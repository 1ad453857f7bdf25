package graphapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Kind says what sort of failure an Error is, in terms of what the admin can
// do about it.
type Kind int

// The kinds of failure graphapi reports.
const (
	KindUnknown           Kind = iota
	KindSignIn                 // the sign-in failed (declined, code expired, MFA, user not found)
	KindSignInRequired         // no usable saved sign-in: sign in again
	KindConditionalAccess      // a Conditional Access policy blocked the sign-in
	KindConsentNeeded          // the app lacks consent for the permissions it asked for
	KindForbidden              // the caller lacks a role or permission
	KindNotFoundYet            // not visible yet: Entra is still replicating a new object
	KindNotFound               // the object does not exist (or not yet, right after a create)
	KindThrottled              // Graph or the token service is throttling
	KindAlreadyExists          // the object or assignment exists already (a conflict)
	KindNetwork                // the service could not be reached, or TLS failed
	KindBadInput               // the request or a value the admin gave is not valid
	KindInvalidSecret          // the client secret is wrong
	KindSecretExpired          // the client secret has expired
	KindDeltaExpired           // a saved delta link is no longer valid: do a full sync
	KindServer                 // the service failed (5xx)
	KindCanceled               // the caller canceled or timed out
)

var kindNames = [...]string{
	KindUnknown:           "unknown error",
	KindSignIn:            "sign-in failed",
	KindSignInRequired:    "sign-in required",
	KindConditionalAccess: "blocked by Conditional Access",
	KindConsentNeeded:     "consent needed",
	KindForbidden:         "forbidden",
	KindNotFoundYet:       "not found yet (replication)",
	KindNotFound:          "not found",
	KindThrottled:         "throttled",
	KindAlreadyExists:     "already exists",
	KindNetwork:           "network error",
	KindBadInput:          "bad input",
	KindInvalidSecret:     "invalid client secret",
	KindSecretExpired:     "client secret expired",
	KindDeltaExpired:      "delta token expired",
	KindServer:            "service error",
	KindCanceled:          "canceled",
}

// String names the kind in the admin's words.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is a classified failure of an identity or Graph call. Its text never
// holds a token or a secret: it is built from the fields below only.
type Error struct {
	Kind          Kind
	Op            string // what was being done, e.g. "create application"
	Code          string // AADSTS code ("AADSTS7000215"), Graph error code, or OAuth error
	OAuthError    string // the token endpoint's "error" value, if any
	Status        int    // HTTP status, 0 if there was no response
	RequestID     string // Graph request-id, or the token endpoint's trace ID
	CorrelationID string // the token endpoint's correlation ID, if any
	Message       string // the service's message, first line only
	Remedy        string // one sentence for the admin: what to do about it
	Err           error  // the underlying error when it is safe to keep (context, network, Graph)
}

// Error formats the failure as "op: kind: message (code, HTTP status, request-id id)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var details []string
	if e.Code != "" {
		details = append(details, e.Code)
	}
	if e.Status != 0 {
		details = append(details, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.RequestID != "" {
		details = append(details, "request-id "+e.RequestID)
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying error, so errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Kind: k}) match any Error of kind k.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == "" && t.Op == ""
}

// IsKind reports whether err classifies as one of kinds.
func IsKind(err error, kinds ...Kind) bool {
	if err == nil {
		return false
	}
	k := Classify(err).Kind
	for _, want := range kinds {
		if k == want {
			return true
		}
	}
	return false
}

// Classify turns any error from this package, MSAL, the Graph SDK, the
// network or a context into an *Error; nil stays nil.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindCanceled, Code: "canceled", Message: "the operation was canceled", Err: context.Canceled,
			Remedy: "Nothing to do: it was stopped on request; run it again to continue."}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindCanceled, Code: "deadline_exceeded", Message: "the operation timed out", Err: context.DeadlineExceeded,
			Remedy: "Check the network and run it again; use --debug to see which call was slow."}
	}
	if e := classifyMSAL(err); e != nil {
		return e
	}
	if e := classifyGraph(err); e != nil {
		return e
	}
	if e := classifyNetwork(err); e != nil {
		return e
	}
	return &Error{Kind: KindUnknown, Message: firstLine(err.Error()), Remedy: "Run again with --debug and report the trace if it keeps failing."}
}

// wrap classifies err and records op; it returns nil for nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	c := *Classify(err)
	if c.Op == "" {
		c.Op = op
	} else if op != "" && !strings.HasPrefix(c.Op, op) {
		c.Op = op + ": " + c.Op
	}
	return &c
}

func badInput(field, msg, remedy string) *Error {
	return &Error{Kind: KindBadInput, Code: "BadInput", Op: field, Message: msg, Remedy: remedy}
}

func classifyNetwork(err error) *Error {
	var (
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		certErr    x509.CertificateInvalidError
		verifyErr  *tls.CertificateVerificationError
		dnsErr     *net.DNSError
		urlErr     *url.Error
		netErr     net.Error
		recordErr  tls.RecordHeaderError
		opErr      *net.OpError
		host       string
		isTLSError bool
	)
	if errors.As(err, &urlErr) {
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			host = u.Host
		}
	}
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr), errors.As(err, &verifyErr), errors.As(err, &recordErr):
		isTLSError = true
	}
	where := "the service"
	if host != "" {
		where = host
	}
	switch {
	case isTLSError:
		return &Error{Kind: KindNetwork, Code: "tls", Message: "the TLS certificate of " + where + " is not trusted", Err: err,
			Remedy: "Pass the issuing CA with --ca-file (the simulator prints its ca_file), or check for a TLS-inspecting proxy."}
	case errors.As(err, &dnsErr):
		return &Error{Kind: KindNetwork, Code: "dns", Message: "cannot resolve " + dnsErr.Name, Err: err,
			Remedy: "Check the network and DNS, and that --cloud, --login-url and --graph-url are right."}
	case errors.As(err, &opErr), errors.As(err, &netErr), urlErr != nil:
		return &Error{Kind: KindNetwork, Code: "network", Message: "cannot reach " + where, Err: err,
			Remedy: "Check the network and proxy settings (HTTPS_PROXY), and that --cloud, --login-url and --graph-url are right."}
	}
	return nil
}

// firstLine returns the first line of s, trimmed, for messages that must
// not carry trace blocks or bodies.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// redact removes every occurrence of secret from the text fields of e; it is
// belt and braces, as no service echoes a secret back.
func redact(e *Error, secret string) *Error {
	if e == nil || len(secret) < 4 {
		return e
	}
	c := *e
	c.Message = strings.ReplaceAll(c.Message, secret, "[redacted]")
	c.Op = strings.ReplaceAll(c.Op, secret, "[redacted]")
	if c.Err != nil && !errors.Is(c.Err, context.Canceled) && !errors.Is(c.Err, context.DeadlineExceeded) {
		c.Err = nil // its text is not ours to vouch for
	}
	return &c
}
