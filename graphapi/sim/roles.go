package sim

import (
	"fmt"
	"strings"
)

// roleSecurityAdmin is Security Administrator, which may change the tenant
// default app management policy.
const roleSecurityAdmin = "194ae4cb-b126-40b2-bd5b-6091b380977d"

// SetAdminRoles makes the tenant's administrator hold exactly the named
// directory roles (display names, case-insensitive: "Global
// Administrator", "Cloud Application Administrator", ...), so a test or
// demo can sign the admin in with a chosen role. Granting Microsoft Graph
// application permissions needs Global Administrator or Privileged Role
// Administrator; Cloud Application Administrator and Application
// Administrator may create and manage apps and grant delegated permissions.
func (s *Server) SetAdminRoles(names ...string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	want := map[*dirRole]bool{}
	for _, n := range names {
		var found *dirRole
		for _, r := range d.roles {
			if strings.EqualFold(r.DisplayName, strings.TrimSpace(n)) {
				found = r
			}
		}
		if found == nil {
			var known []string
			for _, r := range d.roles {
				known = append(known, r.DisplayName)
			}
			return fmt.Errorf("%w: directory role %q (known: %s)", ErrNotFound, n, strings.Join(known, ", "))
		}
		want[found] = true
	}
	for _, r := range d.roles {
		var members []string
		for _, m := range r.members {
			if m != d.adminID {
				members = append(members, m)
			}
		}
		if want[r] {
			members = append(members, d.adminID)
		}
		r.members = members
	}
	return nil
}
