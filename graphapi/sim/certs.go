package sim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Certificate credentials of applications (keyCredentials): the first by
// PATCH /applications/{id} {keyCredentials}, later ones by addKey and
// removeKey with a proof-of-possession JWT signed by a certificate already
// on the app; and app-only sign-in with a client assertion signed by one.

// popAudience is the audience of addKey/removeKey proofs: the Azure AD
// Graph app ID, as documented.
const popAudience = "00000002-0000-0000-c000-000000000000"

// keyCred is one certificate on an application (only the public part).
type keyCred struct {
	KeyID, DisplayName, Type, Usage string
	Start, End                      time.Time
	cert                            *x509.Certificate
	replica
}

func (k *keyCred) json() map[string]any {
	thumb := sha1.Sum(k.cert.Raw)
	return map[string]any{
		"customKeyIdentifier": base64.StdEncoding.EncodeToString(thumb[:]), "displayName": k.DisplayName,
		"endDateTime": k.End.UTC().Format(time.RFC3339), "key": nil, "keyId": k.KeyID,
		"startDateTime": k.Start.UTC().Format(time.RFC3339), "type": k.Type, "usage": k.Usage,
	}
}

func (d *directory) syncKeyProps(app *object) {
	list := []any{}
	for _, k := range app.keys {
		list = append(list, k.json())
	}
	app.Props["keyCredentials"] = list
}

// newKeyCred reads one keyCredential of a request body; msg is the 400
// text when it is not valid.
func newKeyCred(m map[string]any) (*keyCred, string) {
	typ, _ := m["type"].(string)
	usage, _ := m["usage"].(string)
	if typ != "AsymmetricX509Cert" || !strings.EqualFold(usage, "Verify") {
		// X509CertAndPassword (usage Sign) is for SAML token signing, which
		// the sim does not model.
		return nil, "Invalid value specified for property 'type' of resource 'KeyCredential'."
	}
	raw, _ := m["key"].(string)
	der, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || raw == "" {
		return nil, "Invalid certificate: Key value is invalid certificate"
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "Invalid certificate: Key value is invalid certificate"
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, "Invalid certificate: Key value is invalid certificate"
	}
	k := &keyCred{KeyID: newUUID(), Type: typ, Usage: "Verify", Start: cert.NotBefore, End: cert.NotAfter, cert: cert,
		DisplayName: "CN=" + cert.Subject.CommonName}
	if s, ok := m["keyId"].(string); ok && s != "" {
		k.KeyID = s
	}
	if s, ok := m["displayName"].(string); ok && s != "" {
		k.DisplayName = s
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"startDateTime", &k.Start}, {"endDateTime", &k.End}} {
		if s, ok := m[f.name].(string); ok && s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Sprintf("Invalid value specified for property '%s' of resource 'KeyCredential'.", f.name)
			}
			*f.dst = t
		}
	}
	if !k.End.After(k.Start) || k.End.After(cert.NotAfter.Add(time.Second)) || k.Start.Before(cert.NotBefore.Add(-time.Second)) {
		return nil, "Key credential end date is invalid."
	}
	return k, ""
}

// patchKeyCredentials applies a PATCH's keyCredentials, which replaces the
// collection: an entry with the keyId of a certificate on the app and no
// key keeps it; others are new certificates, checked against the app
// management policy. False after answering with an error.
func (c *gctx) patchKeyCredentials(app *object, v any) bool {
	list, ok := v.([]any)
	if !ok {
		c.badRequest("Invalid value specified for property 'keyCredentials' of resource 'Application'.")
		return false
	}
	d := c.s.dir
	d.mu.RLock()
	existing := append([]*keyCred(nil), app.keys...)
	d.mu.RUnlock()
	var next []*keyCred
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["keyId"].(string)
		key, _ := m["key"].(string)
		if key == "" && id != "" {
			var kept *keyCred
			for _, k := range existing {
				if strings.EqualFold(k.KeyID, id) {
					kept = k
				}
			}
			if kept == nil {
				c.badRequest("Invalid certificate: Key value is invalid certificate")
				return false
			}
			next = append(next, kept)
			continue
		}
		k, msg := newKeyCred(m)
		if msg != "" {
			c.badRequest(msg)
			return false
		}
		if c.refuseKeyLifetime(app, k.Start, k.End) {
			return false
		}
		d.stamp(&k.replica, c.s.CurrentFaults())
		next = append(next, k)
	}
	d.mu.Lock()
	app.keys = next
	d.syncKeyProps(app)
	d.mu.Unlock()
	return true
}

// mayRollKeys: an application may roll its own keys with no permission;
// anyone else needs to be allowed to change the app.
func (c *gctx) mayRollKeys(app *object, owners []string) bool {
	if c.p.app && c.p.appID == app.Props["appId"] {
		return true
	}
	return c.allowed(writeApps) && c.ownsOrAdmin(owners)
}

// addKey answers POST /applications/{id}/addKey.
func (c *gctx) addKey(app *object) {
	var body struct {
		KeyCredential      map[string]any `json:"keyCredential"`
		PasswordCredential map[string]any `json:"passwordCredential"`
		Proof              string         `json:"proof"`
	}
	if !c.body(&body) {
		return
	}
	if !c.checkProof(app, body.Proof) {
		return
	}
	if body.KeyCredential == nil {
		c.badRequest("Invalid value specified for property 'keyCredential'.")
		return
	}
	k, msg := newKeyCred(body.KeyCredential)
	if msg != "" {
		c.badRequest(msg)
		return
	}
	if c.refuseKeyLifetime(app, k.Start, k.End) {
		return
	}
	d := c.s.dir
	d.mu.Lock()
	d.stamp(&k.replica, c.s.CurrentFaults())
	app.keys = append(app.keys, k)
	d.syncKeyProps(app)
	out := k.json()
	d.mu.Unlock()
	out["@odata.context"] = c.base() + "/$metadata#microsoft.graph.keyCredential"
	writeGraphJSON(c.w, http.StatusOK, out)
}

// removeKey answers POST /applications/{id}/removeKey.
func (c *gctx) removeKey(app *object) {
	var body struct {
		KeyID string `json:"keyId"`
		Proof string `json:"proof"`
	}
	if !c.body(&body) {
		return
	}
	if !c.checkProof(app, body.Proof) {
		return
	}
	d := c.s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, k := range app.keys {
		if strings.EqualFold(k.KeyID, body.KeyID) {
			app.keys = append(app.keys[:i], app.keys[i+1:]...)
			d.syncKeyProps(app)
			c.noContent()
			return
		}
	}
	c.badRequest(fmt.Sprintf("No key credential found with keyId '%s'.", body.KeyID))
}

// checkProof validates an addKey/removeKey proof of possession: a JWT
// signed with the private key of one of the app's valid certificates, aud
// 00000002-0000-0000-c000-000000000000, iss the application's object id,
// and at most 10 minutes between nbf and exp. The error text is the sim's
// own [unconfirmed]: Graph's exact message was not found documented.
func (c *gctx) checkProof(app *object, proof string) bool {
	now := c.now()
	c.s.dir.mu.RLock()
	var valid []*keyCred
	for _, k := range app.keys {
		if now.Before(k.End) && !now.Before(k.Start) {
			valid = append(valid, k)
		}
	}
	c.s.dir.mu.RUnlock()
	if len(valid) == 0 {
		c.badRequest("The application has no valid certificate to prove possession with: add the first certificate with PATCH keyCredentials.")
		return false
	}
	claims, _, err := verifyCertJWT(proof, valid)
	if err != nil {
		c.fail(http.StatusBadRequest, "Request_BadRequest", "Proof of possession is not valid: "+err.Error())
		return false
	}
	aud, _ := claims["aud"].(string)
	iss, _ := claims["iss"].(string)
	nbf, _ := claims["nbf"].(float64)
	exp, _ := claims["exp"].(float64)
	switch {
	case aud != popAudience:
		err = fmt.Errorf("audience must be %s", popAudience)
	case !strings.EqualFold(iss, app.ID):
		err = fmt.Errorf("issuer must be the application's object id")
	case nbf == 0 || exp == 0 || exp-nbf > 600:
		err = fmt.Errorf("exp must be at most 10 minutes after nbf")
	case now.Add(5*time.Minute).Before(time.Unix(int64(nbf), 0)) || !now.Before(time.Unix(int64(exp), 0)):
		err = fmt.Errorf("the token is not within its valid time range")
	}
	if err != nil {
		c.fail(http.StatusBadRequest, "Request_BadRequest", "Proof of possession is not valid: "+err.Error())
		return false
	}
	return true
}

// verifyCertJWT checks a JWT's RS256 or PS256 signature against the
// certificate its x5t or x5t#S256 header names (standard or URL base64, as
// clients send both), or any of keys when it names none. It returns the
// claims and the thumbprint the client gave.
func verifyCertJWT(token string, keys []*keyCred) (map[string]any, string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, "", fmt.Errorf("not a JWT")
	}
	var header map[string]any
	var claims map[string]any
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return nil, "", fmt.Errorf("not a JWT")
	}
	alg, _ := header["alg"].(string)
	if alg != "RS256" && alg != "PS256" {
		return nil, "", fmt.Errorf("unsupported algorithm %q", alg)
	}
	decode := func(s string) []byte {
		if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
			return b
		}
		b, _ := base64.StdEncoding.DecodeString(s)
		return b
	}
	var want []byte
	var sha256Thumb bool
	thumb := ""
	if s, ok := header["x5t#S256"].(string); ok {
		want, sha256Thumb, thumb = decode(s), true, s
	} else if s, ok := header["x5t"].(string); ok {
		want, thumb = decode(s), s
	}
	candidates := keys
	if want != nil {
		candidates = nil
		for _, k := range keys {
			var t []byte
			if sha256Thumb {
				h := sha256.Sum256(k.cert.Raw)
				t = h[:]
			} else {
				h := sha1.Sum(k.cert.Raw)
				t = h[:]
			}
			if string(t) == string(want) {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) == 0 {
			return nil, thumb, errKeyNotFound
		}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	for _, k := range candidates {
		pub := k.cert.PublicKey.(*rsa.PublicKey)
		var err error
		if alg == "RS256" {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		} else {
			err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		if err == nil {
			return claims, thumb, nil
		}
	}
	return nil, thumb, errBadSignature
}

var (
	errKeyNotFound  = fmt.Errorf("the key was not found")
	errBadSignature = fmt.Errorf("the signature is not valid")
)

// tokenFailure is a token endpoint error to write.
type tokenFailure struct {
	status  int
	code    string
	aadsts  int
	message string
}

// checkAssertion validates a client_assertion (private_key_jwt) for app,
// as the token endpoint does: type jwt-bearer, signed by one of the app's
// certificates named by x5t or x5t#S256, iss and sub the client ID, aud
// this tenant's token endpoint, within its time range. Called with the
// directory read lock held.
func (s *Server) checkAssertion(app *object, r *http.Request, clientID string, now time.Time) *tokenFailure {
	if t := r.PostForm.Get("client_assertion_type"); t != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return &tokenFailure{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	}
	var keys []*keyCred
	for _, k := range app.keys {
		if k.visible(now) {
			keys = append(keys, k)
		}
	}
	claims, thumb, err := verifyCertJWT(r.PostForm.Get("client_assertion"), keys)
	switch {
	case err == errKeyNotFound:
		return &tokenFailure{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", thumb, clientID)}
	case err == errBadSignature:
		return &tokenFailure{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation."}
	case err != nil:
		return &tokenFailure{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	aud, _ := claims["aud"].(string)
	nbf, _ := claims["nbf"].(float64)
	exp, _ := claims["exp"].(float64)
	if iss != clientID || sub != clientID {
		return &tokenFailure{http.StatusUnauthorized, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."}
	}
	if !strings.HasPrefix(aud, s.info.LoginURL+"/") || !strings.HasSuffix(aud, "/oauth2/v2.0/token") {
		return &tokenFailure{http.StatusUnauthorized, "invalid_client", 700016, fmt.Sprintf(
			"The client assertion audience %s is not this tenant's token endpoint.", aud)}
	}
	if time.Unix(int64(exp), 0).Before(now) || now.Add(5*time.Minute).Before(time.Unix(int64(nbf), 0)) {
		return &tokenFailure{http.StatusUnauthorized, "invalid_client", 700024, fmt.Sprintf(
			"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), time.Unix(int64(nbf), 0).UTC().Format(time.RFC3339), time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))}
	}
	for _, k := range keys {
		if thumbMatches(k, thumb) && now.After(k.End) {
			return &tokenFailure{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
				"Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s']",
				thumb, k.Start.UTC().Format("01/02/2006 15:04:05"), k.End.UTC().Format("01/02/2006 15:04:05"))}
		}
	}
	return nil
}

func thumbMatches(k *keyCred, thumb string) bool {
	s1 := sha1.Sum(k.cert.Raw)
	s2 := sha256.Sum256(k.cert.Raw)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding} {
		if thumb == enc.EncodeToString(s1[:]) || thumb == enc.EncodeToString(s2[:]) {
			return true
		}
	}
	return false
}

// KeyCredentialCount returns how many certificates the application with
// appID has.
func (s *Server) KeyCredentialCount(appID string) int {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	for _, a := range s.dir.apps {
		if a.Props["appId"] == appID {
			return len(a.keys)
		}
	}
	return 0
}
