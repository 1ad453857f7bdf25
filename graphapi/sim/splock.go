package sim

import (
	"fmt"
	"net/http"
)

// Credentials belong on the application object, never on its service
// principal: an app whose servicePrincipalLockConfiguration locks them
// (App instance property lock) makes Graph refuse credential writes on the
// service principal with 400 CannotUpdateLockedServicePrincipalProperty.
// The sim models no service principal credentials otherwise.

// spCredentialsLocked reports whether the app behind sp locks its service
// principal's credentials of the given property.
func (d *directory) spCredentialsLocked(sp *object, property string) bool {
	app := d.appByKey(fmt.Sprint(sp.Props["appId"]), true, d.now(), false)
	if app == nil {
		return false
	}
	lc, _ := app.Props["servicePrincipalLockConfiguration"].(map[string]any)
	if on, _ := lc["isEnabled"].(bool); !on {
		return false
	}
	if all, _ := lc["allProperties"].(bool); all {
		return true
	}
	verify, _ := lc["credentialsWithUsageVerify"].(bool)
	sign, _ := lc["credentialsWithUsageSign"].(bool)
	return property == "passwordCredentials" && (verify || sign) || property == "keyCredentials" && (verify || sign)
}

// spCredentialWrite answers addPassword/addKey on a service principal.
func (c *gctx) spCredentialWrite(sp *object, property string, owners []string) {
	if !c.allowed(writeApps) || !c.ownsOrAdmin(owners) {
		return
	}
	c.s.dir.mu.RLock()
	locked := c.s.dir.spCredentialsLocked(sp, property)
	c.s.dir.mu.RUnlock()
	if locked {
		c.fail(http.StatusBadRequest, "CannotUpdateLockedServicePrincipalProperty", fmt.Sprintf("Property %s is invalid.", property))
		return
	}
	c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
}
