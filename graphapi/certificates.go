package graphapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Certificate credentials: a key pair made on this machine, whose public
// certificate goes on the app registration and whose private key never
// leaves the machine (the OS keyring) except when handed to the product.
// RSA, because Entra's client assertions and MSAL Go's certificate
// credential take RSA keys.

// popAudience is the audience addKey and removeKey proofs must carry.
const popAudience = "00000002-0000-0000-c000-000000000000"

// Certificate is a self-signed certificate and its private key. String and
// GoString never print the key.
type Certificate struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// KeyCredential describes a certificate on an app registration.
type KeyCredential struct {
	KeyID       string
	DisplayName string
	Thumbprint  string // SHA-1, upper-case hex, as the portal shows it
	Start, End  time.Time
}

// NewCertificate makes an RSA-2048 key pair and a self-signed certificate
// for commonName valid from now until end.
func NewCertificate(commonName string, now, end time.Time) (*Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("make a key pair: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("make a key pair: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: commonName},
		// Whole seconds from now: the validity is never longer than asked,
		// which a tenant's lifetime cap compares exactly.
		NotBefore: now.UTC().Truncate(time.Second), NotAfter: end.UTC().Truncate(time.Second),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make a certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("make a certificate: %w", err)
	}
	return &Certificate{Cert: cert, Key: key}, nil
}

// String describes the certificate without its key.
func (c *Certificate) String() string {
	return fmt.Sprintf("certificate %s (%s, expires %s)", c.Thumbprint(), c.Cert.Subject.CommonName, c.Cert.NotAfter.Format(time.DateOnly))
}

// GoString keeps %#v from printing the key.
func (c *Certificate) GoString() string { return c.String() }

// Thumbprint is the certificate's SHA-1 thumbprint in upper-case hex.
func (c *Certificate) Thumbprint() string { return Thumbprint(c.Cert) }

// Thumbprint is a certificate's SHA-1 thumbprint in upper-case hex.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// CertDER is the public certificate, base64 DER (what config keeps).
func (c *Certificate) CertDER() string { return base64.StdEncoding.EncodeToString(c.Cert.Raw) }

// KeyText is the private key as base64 PKCS#8 DER: about 1,620 characters
// for RSA-2048, inside Windows Credential Manager's 2,560-byte limit.
func (c *Certificate) KeyText() (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return "", fmt.Errorf("encode the private key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// LoadCertificate rebuilds a certificate from its base64 DER and its
// private key as KeyText gave it, checking that they belong together.
func LoadCertificate(certDER, keyText string) (*Certificate, error) {
	raw, err := base64.StdEncoding.DecodeString(certDER)
	if err != nil {
		return nil, fmt.Errorf("read the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		return nil, fmt.Errorf("read the certificate: %w", err)
	}
	kd, err := base64.StdEncoding.DecodeString(keyText)
	if err != nil {
		return nil, fmt.Errorf("read the private key: not base64")
	}
	k, err := x509.ParsePKCS8PrivateKey(kd)
	if err != nil {
		return nil, fmt.Errorf("read the private key: not PKCS#8")
	}
	key, ok := k.(*rsa.PrivateKey)
	pub, ok2 := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !ok2 || key.N.Cmp(pub.N) != 0 || key.E != pub.E {
		return nil, fmt.Errorf("the private key in the keyring does not belong to certificate %s", Thumbprint(cert))
	}
	return &Certificate{Cert: cert, Key: key}, nil
}

// PEM is the certificate followed by its PKCS#8 private key, PEM encoded:
// the file most products take.
func (c *Certificate) PEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("encode the private key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...), nil
}

// PKCS12 is the certificate and key as a password-protected PKCS#12 (.pfx)
// file, with modern encryption (AES-256, PBKDF2).
func (c *Certificate) PKCS12(password string) ([]byte, error) {
	b, err := pkcs12.Modern.Encode(c.Key, c.Cert, nil, password)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#12: %w", err)
	}
	return b, nil
}

// ProofOfPossession is the JWT addKey and removeKey require: signed with
// the private key of a certificate already on the app, aud
// 00000002-0000-0000-c000-000000000000, iss the app's object ID, valid
// for 10 minutes.
func ProofOfPossession(objectID string, by *Certificate, now time.Time) (string, error) {
	sum := sha1.Sum(by.Cert.Raw)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud": popAudience, "iss": objectID, "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	tok.Header["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
	s, err := tok.SignedString(by.Key)
	if err != nil {
		return "", fmt.Errorf("sign the proof of possession: %w", err)
	}
	return s, nil
}

func keyCredentialModel(c *Certificate, keyID uuid.UUID, displayName string) models.KeyCredentialable {
	k := models.NewKeyCredential()
	typ, usage := "AsymmetricX509Cert", "Verify"
	k.SetTypeEscaped(&typ)
	k.SetUsage(&usage)
	k.SetKey(c.Cert.Raw)
	k.SetKeyId(&keyID)
	if displayName != "" {
		k.SetDisplayName(&displayName)
	}
	start, end := c.Cert.NotBefore, c.Cert.NotAfter
	k.SetStartDateTime(&start)
	k.SetEndDateTime(&end)
	return k
}

func toKeyCredential(k models.KeyCredentialable) KeyCredential {
	out := KeyCredential{DisplayName: deref(k.GetDisplayName()), Start: deref(k.GetStartDateTime()), End: deref(k.GetEndDateTime())}
	if id := k.GetKeyId(); id != nil {
		out.KeyID = id.String()
	}
	if b := k.GetCustomKeyIdentifier(); len(b) > 0 {
		out.Thumbprint = strings.ToUpper(hex.EncodeToString(b))
	}
	return out
}

// AddFirstCertificate puts a certificate on an app that has no valid one
// (so addKey, which needs a proof, cannot be used) by PATCHing its
// keyCredentials; keep are the certificates already on it, which the
// PATCH keeps (it replaces the whole collection).
func (c *Client) AddFirstCertificate(ctx context.Context, objectID string, cert *Certificate, displayName string, keep []KeyCredential) (*KeyCredential, error) {
	var list []models.KeyCredentialable
	for _, k := range keep {
		id, err := uuid.Parse(k.KeyID)
		if err != nil {
			continue
		}
		m := models.NewKeyCredential()
		m.SetKeyId(&id)
		list = append(list, m)
	}
	keyID := uuid.New()
	list = append(list, keyCredentialModel(cert, keyID, displayName))
	body := models.NewApplication()
	body.SetKeyCredentials(list)
	if _, err := c.sdk.Applications().ByApplicationId(objectID).Patch(ctx, body, nil); err != nil {
		return nil, wrap("add the certificate", err)
	}
	return &KeyCredential{KeyID: keyID.String(), DisplayName: displayName, Thumbprint: cert.Thumbprint(),
		Start: cert.Cert.NotBefore, End: cert.Cert.NotAfter}, nil
}

// AddKey adds a certificate with POST /applications/{id}/addKey, proving
// possession of proofBy, a valid certificate already on the app.
func (c *Client) AddKey(ctx context.Context, objectID string, cert *Certificate, displayName string, proofBy *Certificate, now time.Time) (*KeyCredential, error) {
	proof, err := ProofOfPossession(objectID, proofBy, now)
	if err != nil {
		return nil, err
	}
	body := applications.NewItemAddKeyPostRequestBody()
	body.SetKeyCredential(keyCredentialModel(cert, uuid.New(), displayName))
	body.SetProof(&proof)
	res, err := c.sdk.Applications().ByApplicationId(objectID).AddKey().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("add the certificate", err)
	}
	k := toKeyCredential(res)
	if k.Thumbprint == "" {
		k.Thumbprint = cert.Thumbprint()
	}
	return &k, nil
}

// RemoveKey removes the certificate keyID with POST
// /applications/{id}/removeKey, proving possession of proofBy.
func (c *Client) RemoveKey(ctx context.Context, objectID, keyID string, proofBy *Certificate, now time.Time) error {
	id, err := uuid.Parse(keyID)
	if err != nil {
		return badInput("remove certificate", "certificate key ID "+keyID+" is not a GUID", "Give the certificate's key ID as shown by `entrawiz status`.")
	}
	proof, err := ProofOfPossession(objectID, proofBy, now)
	if err != nil {
		return err
	}
	body := applications.NewItemRemoveKeyPostRequestBody()
	body.SetKeyId(&id)
	body.SetProof(&proof)
	return wrap("remove the certificate", c.sdk.Applications().ByApplicationId(objectID).RemoveKey().Post(ctx, body, nil))
}

// ListKeys returns the certificates on an app registration.
func (c *Client) ListKeys(ctx context.Context, objectID string) ([]KeyCredential, error) {
	app, err := c.sdk.Applications().ByApplicationId(objectID).Get(ctx, &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: []string{"id", "keyCredentials"}},
	})
	if err != nil {
		return nil, wrap("read the app's certificates", err)
	}
	var out []KeyCredential
	for _, k := range app.GetKeyCredentials() {
		out = append(out, toKeyCredential(k))
	}
	return out, nil
}
