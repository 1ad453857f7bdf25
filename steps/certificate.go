package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// KeyGraph adds and removes an app's certificates. *graphapi.Client
// implements it.
type KeyGraph interface {
	AddFirstCertificate(ctx context.Context, objectID string, cert *graphapi.Certificate, displayName string, keep []graphapi.KeyCredential) (*graphapi.KeyCredential, error)
	AddKey(ctx context.Context, objectID string, cert *graphapi.Certificate, displayName string, proofBy *graphapi.Certificate, now time.Time) (*graphapi.KeyCredential, error)
	RemoveKey(ctx context.Context, objectID, keyID string, proofBy *graphapi.Certificate, now time.Time) error
	ListKeys(ctx context.Context, objectID string) ([]graphapi.KeyCredential, error)
}

// CertKeyringName is the keyring item that holds a certificate's private key.
func CertKeyringName(conn *store.Connection, keyID string) string {
	return "client-cert-key/" + conn.Name + "/" + keyID
}

// ActiveCertificate is the certificate the connection signs in with, or nil.
func ActiveCertificate(conn *store.Connection) *store.CertificateRecord {
	for i := len(conn.State.Certificates) - 1; i >= 0; i-- {
		if conn.State.Certificates[i].Status == "active" {
			return &conn.State.Certificates[i]
		}
	}
	return nil
}

// UsesCertificate reports whether the connection signs in with a
// certificate rather than a client secret.
func UsesCertificate(conn *store.Connection) bool {
	return ActiveCertificate(conn) != nil && ActiveSecret(conn) == nil
}

// StoredCertificate loads a certificate record's key pair: the public part
// from the config, the private key from the keyring.
func StoredCertificate(secrets store.Secrets, rec *store.CertificateRecord) (*graphapi.Certificate, error) {
	key, err := secrets.Get(rec.KeyringName)
	if err != nil {
		return nil, fmt.Errorf("read the certificate's private key from the keyring: %w", err)
	}
	return graphapi.LoadCertificate(rec.Cert, key)
}

// CreateCertificate makes a key pair on this computer, uploads only the
// public certificate and keeps the private key in the OS keyring, when the
// plan chose a certificate.
func CreateCertificate() Step {
	return Step{Name: "create-certificate", Title: "Create the certificate", Check: checkCertificate, Apply: applyCertificate}
}

func checkCertificate(ctx context.Context, r *Run) (bool, string, error) {
	if r.Plan.Credential.Kind != CredentialCertificate {
		return true, "the plan uses no certificate", nil
	}
	c := ActiveCertificate(r.Conn)
	if c == nil || r.freshApp || r.Plan.Existing == nil || !hasKey(r.Plan.Existing, c.KeyID) || !c.End.After(r.Env.now()) {
		return false, "", nil
	}
	if _, err := r.Env.Secrets.Get(c.KeyringName); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			r.Progress("the certificate's private key is gone from the keyring: a new certificate is made")
			return false, "", nil
		}
		return false, "", err
	}
	return true, fmt.Sprintf("certificate %s kept, expires %s", c.Thumbprint, c.End.Format("2006-01-02")), nil
}

func applyCertificate(ctx context.Context, r *Run) (string, error) {
	kg, ok := r.Env.Graph.(KeyGraph)
	if !ok {
		return "", fmt.Errorf("this Graph client cannot add certificates")
	}
	now := r.Env.now()
	days := r.Plan.Credential.LifetimeDays
	if days <= 0 {
		days = 365
	}
	r.Progress("making an RSA-2048 key pair on this computer")
	cert, err := graphapi.NewCertificate(r.Conn.App.DisplayName+" (entrawiz)", now, now.AddDate(0, 0, days))
	if err != nil {
		return "", err
	}
	name := "entrawiz " + now.UTC().Format("2006-01-02")
	var keep []graphapi.KeyCredential
	if r.Plan.Existing != nil && !r.freshApp {
		keep = r.Plan.Existing.Keys
	}
	rec, err := addCertificate(ctx, r, kg, cert, name, keep, nil)
	if err != nil {
		return "", fmt.Errorf("create the certificate: %w", err)
	}
	for i := range r.Conn.State.Certificates {
		if r.Conn.State.Certificates[i].Status == "active" {
			r.Conn.State.Certificates[i].Status = "replaced"
		}
	}
	r.Conn.State.Certificates = append(r.Conn.State.Certificates, *rec)
	r.cert = cert
	return fmt.Sprintf("certificate %s uploaded (public part only), expires %s; private key kept in %s",
		rec.Thumbprint, rec.End.Format("2006-01-02"), store.SecretsPlace(r.Env.Secrets)), nil
}

// addCertificate puts cert on the app — by PATCH when proofBy is nil (no
// valid certificate to prove possession with), else by addKey — and stores
// its private key in the keyring first, so a run killed after the upload
// leaves a certificate whose key is held.
func addCertificate(ctx context.Context, r *Run, kg KeyGraph, cert *graphapi.Certificate, name string, keep []graphapi.KeyCredential, proofBy *graphapi.Certificate) (*store.CertificateRecord, error) {
	keyText, err := cert.KeyText()
	if err != nil {
		return nil, err
	}
	// The key ID is Graph's; the keyring item is named by thumbprint first
	// and the record points at it.
	rec := &store.CertificateRecord{Thumbprint: cert.Thumbprint(), DisplayName: name, Start: cert.Cert.NotBefore,
		End: cert.Cert.NotAfter, Cert: cert.CertDER(), Status: "active"}
	rec.KeyringName = CertKeyringName(r.Conn, strings.ToLower(rec.Thumbprint))
	if err := r.Env.Secrets.Set(rec.KeyringName, keyText); err != nil {
		return nil, fmt.Errorf("store the private key in the keyring (nothing was uploaded): %w", err)
	}
	var made *graphapi.KeyCredential
	err = r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
		var err error
		if proofBy == nil {
			made, err = kg.AddFirstCertificate(ctx, r.Conn.App.ObjectID, cert, name, keep)
		} else {
			made, err = kg.AddKey(ctx, r.Conn.App.ObjectID, cert, name, proofBy, r.Env.now())
		}
		return err
	})
	if err != nil {
		if derr := r.Env.Secrets.Delete(rec.KeyringName); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			return nil, fmt.Errorf("%w (and the unused private key could not be removed from the keyring: %v)", err, derr)
		}
		return nil, err
	}
	rec.KeyID = made.KeyID
	return rec, nil
}

// RotateCertificate adds a new certificate by overlap: addKey with a proof
// signed by the current certificate, the new private key into the keyring,
// an app-only sign-in with the new certificate (waiting out replication);
// the old one is kept, retiring, until FinishCertificateRotation.
func RotateCertificate(ctx context.Context, r *Run, lifetimeDays int) (*store.CertificateRecord, error) {
	kg, ok := r.Env.Graph.(KeyGraph)
	if !ok {
		return nil, fmt.Errorf("this Graph client cannot add certificates")
	}
	old := ActiveCertificate(r.Conn)
	if old == nil {
		return nil, errors.New("this connection has no certificate made by entrawiz: run `entrawiz setup` to make one")
	}
	oldCert, err := StoredCertificate(r.Env.Secrets, old)
	if err != nil {
		return nil, err
	}
	now := r.Env.now()
	if lifetimeDays <= 0 {
		lifetimeDays = 365
	}
	cert, err := graphapi.NewCertificate(r.Conn.App.DisplayName+" (entrawiz)", now, now.AddDate(0, 0, lifetimeDays))
	if err != nil {
		return nil, err
	}
	var proofBy *graphapi.Certificate
	if old.End.After(now) {
		proofBy = oldCert // addKey proves possession of the current certificate
	}
	var keep []graphapi.KeyCredential
	if proofBy == nil {
		// The old certificate has expired: no proof is possible, so PATCH,
		// keeping what is on the app.
		if keep, err = kg.ListKeys(ctx, r.Conn.App.ObjectID); err != nil {
			return nil, err
		}
	}
	rec, err := addCertificate(ctx, r, kg, cert, "entrawiz "+now.UTC().Format("2006-01-02"), keep, proofBy)
	if err != nil {
		return nil, fmt.Errorf("add the new certificate: %w", err)
	}
	rec.Status = "next"
	r.Conn.State.Certificates = append(r.Conn.State.Certificates, *rec)
	r.wrote = true
	if err := r.save(); err != nil {
		return nil, fmt.Errorf("save the connection: %w", err)
	}
	r.cert = cert
	if _, err := Verify(ctx, r, r.Profile.ApplicationPermissions); err != nil {
		return rec, fmt.Errorf("test the new certificate (it is on the app and in the keyring; the old one still works): %w", err)
	}
	for i := range r.Conn.State.Certificates {
		c := &r.Conn.State.Certificates[i]
		switch {
		case c.KeyID == old.KeyID:
			c.Status = "retiring"
		case c.KeyID == rec.KeyID:
			c.Status = "active"
		}
	}
	rec.Status = "active"
	return rec, r.save()
}

// FinishCertificateRotation removes the retiring certificates from the app
// with removeKey, proving possession of the active one, and forgets their
// private keys.
func FinishCertificateRotation(ctx context.Context, r *Run) ([]string, error) {
	kg, ok := r.Env.Graph.(KeyGraph)
	if !ok {
		return nil, fmt.Errorf("this Graph client cannot remove certificates")
	}
	active := ActiveCertificate(r.Conn)
	if active == nil {
		return nil, errors.New("this connection has no active certificate to prove possession with")
	}
	cert, err := StoredCertificate(r.Env.Secrets, active)
	if err != nil {
		return nil, err
	}
	var removed []string
	var kept []store.CertificateRecord
	for _, c := range r.Conn.State.Certificates {
		if c.Status != "retiring" && c.Status != "replaced" {
			kept = append(kept, c)
			continue
		}
		err := kg.RemoveKey(ctx, r.Conn.App.ObjectID, c.KeyID, cert, r.Env.now())
		if err != nil && !strings.Contains(err.Error(), "No key credential found") {
			return removed, fmt.Errorf("remove certificate %s: %w", c.Thumbprint, err)
		}
		if err := r.Env.Secrets.Delete(c.KeyringName); err != nil && !errors.Is(err, store.ErrNotFound) {
			return removed, fmt.Errorf("forget the private key of certificate %s: %w", c.Thumbprint, err)
		}
		removed = append(removed, c.Thumbprint)
	}
	r.Conn.State.Certificates = kept
	return removed, r.save()
}
