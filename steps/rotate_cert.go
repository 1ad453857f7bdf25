package steps

import (
	"context"
	"fmt"
)

// RotateCertificateOp is `entrawiz rotate` for a connection that signs in
// with a certificate: overlap rotation (addKey with a proof signed by the
// current certificate, verify, keep the old one retiring), or with Finish
// the retiring certificates removed with removeKey.
func RotateCertificateOp(ctx context.Context, r *Run, o RotateOptions) (*RotateResult, error) {
	res := &RotateResult{Connection: r.Conn.Name, Credentials: []Credential{}}
	if o.Finish {
		removed, err := FinishCertificateRotation(ctx, r)
		res.Removed = removed
		if len(removed) == 0 && err == nil {
			res.Notes = append(res.Notes, "no retiring certificate to remove")
		}
		return res, err
	}
	active := ActiveCertificate(r.Conn)
	if active != nil && o.IfExpiringWithin > 0 && active.End.Sub(r.Env.now()) > o.IfExpiringWithin {
		res.Skipped = fmt.Sprintf("certificate %s expires %s, not within %s", active.Thumbprint, active.End.Format("2006-01-02"), FormatDuration(o.IfExpiringWithin))
		return res, nil
	}
	days := 365
	if r.Profile.Secret != nil {
		days = r.Profile.Secret.LifetimeDays
	}
	if pg, ok := r.Env.Graph.(PolicyGraph); ok {
		if pol, err := pg.CredentialPolicy(ctx, r.Env.now()); err == nil && pol.CertMaxLifetime > 0 {
			if capDays := int(pol.CertMaxLifetime.Hours() / 24); capDays < days {
				days = capDays
				res.Notes = append(res.Notes, fmt.Sprintf("the tenant allows certificates at most %d days", capDays))
			}
		}
	}
	rec, err := RotateCertificate(ctx, r, days)
	if err != nil {
		return res, err
	}
	res.Rotated = true
	res.Notes = append(res.Notes, fmt.Sprintf("new certificate %s is active, expires %s; the old one stays on the app until `entrawiz rotate --finish`, once the product has the new one",
		rec.Thumbprint, rec.End.Format("2006-01-02")))
	if r.Deliver != nil {
		pemText, err := r.cert.PEM()
		if err != nil {
			return res, err
		}
		if err := r.Deliver(ctx, string(pemText)); err != nil {
			return res, fmt.Errorf("deliver the new certificate: %w", err)
		}
	}
	return res, nil
}
