package graphapi

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SecretLifetimePolicy is the tenant's limit on client secret lifetimes,
// from the default app management policy's passwordLifetime restriction.
type SecretLifetimePolicy struct {
	// Enforced is false when the policy is off or sets no lifetime limit.
	Enforced bool
	// MaxLifetime is the longest a new client secret may live.
	MaxLifetime time.Duration
	// MaxLifetimeISO is the limit as Graph gives it, e.g. P90D.
	MaxLifetimeISO string
	// AppliesAfter: apps created before it are not restricted.
	AppliesAfter time.Time
}

// SecretLifetimePolicy reads the tenant default app management policy
// (GET /policies/defaultAppManagementPolicy, which needs Policy.Read.All).
func (c *Client) SecretLifetimePolicy(ctx context.Context) (*SecretLifetimePolicy, error) {
	p, err := c.sdk.Policies().DefaultAppManagementPolicy().Get(ctx, nil)
	if err != nil {
		return nil, wrap("read the tenant's app management policy", err)
	}
	out := &SecretLifetimePolicy{}
	if !deref(p.GetIsEnabled()) || p.GetApplicationRestrictions() == nil {
		return out, nil
	}
	for _, r := range p.GetApplicationRestrictions().GetPasswordCredentials() {
		if r.GetRestrictionType() == nil || r.GetRestrictionType().String() != "passwordLifetime" {
			continue
		}
		if st := r.GetState(); st != nil && strings.EqualFold(st.String(), "disabled") {
			continue
		}
		d := r.GetMaxLifetime()
		if d == nil {
			continue
		}
		out.Enforced = true
		out.MaxLifetime = time.Duration(d.GetYears())*365*24*time.Hour + time.Duration(d.GetWeeks())*7*24*time.Hour +
			time.Duration(d.GetDays())*24*time.Hour + time.Duration(d.GetHours())*time.Hour +
			time.Duration(d.GetMinutes())*time.Minute + time.Duration(d.GetSeconds())*time.Second
		// The SDK re-writes P180D as P25W5D; say it as the portal does.
		out.MaxLifetimeISO = d.String()
		if day := 24 * time.Hour; out.MaxLifetime%day == 0 {
			out.MaxLifetimeISO = fmt.Sprintf("P%dD", out.MaxLifetime/day)
		}
		if t := r.GetRestrictForAppsCreatedAfterDateTime(); t != nil {
			out.AppliesAfter = *t
		}
	}
	return out, nil
}
