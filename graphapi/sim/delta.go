package sim

import "net/http"

// delta serves /users/delta and /groups/delta. (Being written.)
func (c *gctx) delta(set string) {
	c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
}
