package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The wire side of app management policies: rendering, parsing, routes.

func isoDuration(d time.Duration) string {
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	out := "P"
	if days > 0 {
		out += fmt.Sprintf("%dD", days)
	}
	if rest > 0 {
		out += "T"
		if h := rest / time.Hour; h > 0 {
			out += fmt.Sprintf("%dH", h)
		}
		if m := (rest % time.Hour) / time.Minute; m > 0 {
			out += fmt.Sprintf("%dM", m)
		}
		if sec := (rest % time.Minute) / time.Second; sec > 0 {
			out += fmt.Sprintf("%dS", sec)
		}
	}
	if out == "P" {
		out = "PT0S"
	}
	return out
}

var isoRe = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseISODuration reads an ISO 8601 duration as Graph's maxLifetime
// takes it (years as 365 days, months as 30).
func parseISODuration(s string) (time.Duration, bool) {
	m := isoRe.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, false
	}
	units := []time.Duration{365 * 24 * time.Hour, 30 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, u := range units {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * u
		}
	}
	return d, true
}

func credJSON(list []credRestriction) []any {
	out := []any{}
	for _, r := range list {
		var max any
		if r.MaxISO != "" {
			max = r.MaxISO
		}
		out = append(out, map[string]any{"restrictionType": r.Type, "state": r.State, "maxLifetime": max,
			"restrictForAppsCreatedAfterDateTime": r.After.UTC().Format(time.RFC3339)})
	}
	return out
}

func (a appConfig) json() map[string]any {
	out := map[string]any{"passwordCredentials": credJSON(a.Password), "keyCredentials": credJSON(a.Key)}
	// audiences is a beta property: v1.0 carries it only once it is set.
	if len(a.Audiences) > 0 {
		aud := map[string]any{}
		for k, r := range a.Audiences {
			aud[k] = map[string]any{"state": r.State, "restrictForAppsCreatedAfterDateTime": r.After.UTC().Format(time.RFC3339)}
		}
		out["audiences"] = aud
	}
	return out
}

func (p *mgmtPolicy) json(custom bool) map[string]any {
	out := map[string]any{"id": p.ID, "displayName": p.DisplayName, "description": p.Description, "isEnabled": p.Enabled}
	if custom {
		out["deletedDateTime"] = nil
		out["restrictions"] = p.App.json()
	} else {
		out["applicationRestrictions"] = p.App.json()
		out["servicePrincipalRestrictions"] = p.SP.json()
	}
	return out
}

var passwordTypes = map[string]bool{"passwordAddition": true, "passwordLifetime": true, "symmetricKeyAddition": true,
	"symmetricKeyLifetime": true, "customPasswordAddition": true}
var keyTypes = map[string]bool{"asymmetricKeyLifetime": true, "trustedCertificateAuthority": true}

// parseCreds reads a list of credential restrictions; msg is the 400 text
// when it is not valid.
func parseCreds(v any, types map[string]bool, resource string) ([]credRestriction, string) {
	list, ok := v.([]any)
	if v != nil && !ok {
		return nil, fmt.Sprintf("Invalid value specified for property '%s'.", resource)
	}
	var out []credRestriction
	seen := map[string]bool{}
	for _, item := range list {
		m, _ := item.(map[string]any)
		typ, _ := m["restrictionType"].(string)
		if !types[typ] {
			return nil, fmt.Sprintf("Invalid value specified for property 'restrictionType' of resource '%s'.", resource)
		}
		if seen[typ] {
			return nil, fmt.Sprintf("Each value of restrictionType can be used only once per policy; '%s' is repeated.", typ)
		}
		seen[typ] = true
		r := credRestriction{Type: typ, State: "enabled", After: time.Time{}}
		if st, ok := m["state"].(string); ok {
			if st != "enabled" && st != "disabled" {
				return nil, fmt.Sprintf("Invalid value specified for property 'state' of resource '%s'.", resource)
			}
			r.State = st
		}
		if s, ok := m["maxLifetime"].(string); ok && s != "" {
			d, ok := parseISODuration(s)
			if !ok || d <= 0 {
				return nil, fmt.Sprintf("Invalid value specified for property 'maxLifetime' of resource '%s'.", resource)
			}
			r.Max, r.MaxISO = d, s
		}
		if strings.HasSuffix(typ, "Lifetime") && r.Max == 0 {
			return nil, fmt.Sprintf("Property 'maxLifetime' is required when restrictionType is '%s'.", typ)
		}
		if s, ok := m["restrictForAppsCreatedAfterDateTime"].(string); ok && s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Sprintf("Invalid value specified for property 'restrictForAppsCreatedAfterDateTime' of resource '%s'.", resource)
			}
			r.After = t
		}
		out = append(out, r)
	}
	return out, ""
}

// parseAppConfig reads restrictions into cfg, replacing the lists the body
// names and keeping the others.
func parseAppConfig(v any, cfg *appConfig) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "Invalid value specified for property 'restrictions'."
	}
	for k, val := range m {
		switch k {
		case "passwordCredentials":
			list, msg := parseCreds(val, passwordTypes, "PasswordCredentialConfiguration")
			if msg != "" {
				return msg
			}
			cfg.Password = list
		case "keyCredentials":
			list, msg := parseCreds(val, keyTypes, "KeyCredentialConfiguration")
			if msg != "" {
				return msg
			}
			cfg.Key = list
		case "audiences":
			am, _ := val.(map[string]any)
			cfg.Audiences = map[string]audienceRestriction{}
			for name, rv := range am {
				if name != "azureAdMultipleOrgs" && name != "personalMicrosoftAccount" {
					return fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", name)
				}
				rm, _ := rv.(map[string]any)
				r := audienceRestriction{State: "enabled"}
				if st, ok := rm["state"].(string); ok {
					r.State = st
				}
				if s, ok := rm["restrictForAppsCreatedAfterDateTime"].(string); ok && s != "" {
					t, err := time.Parse(time.RFC3339Nano, s)
					if err != nil {
						return "Invalid value specified for property 'restrictForAppsCreatedAfterDateTime' of resource 'AudienceRestriction'."
					}
					r.After = t
				}
				cfg.Audiences[name] = r
			}
		case "identifierUris", "@odata.type":
			// Served by Graph but not modelled: accepted and ignored.
		default:
			return fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", k)
		}
	}
	return ""
}

// policies serves /policies/defaultAppManagementPolicy and
// /policies/appManagementPolicies[/{id}[/appliesTo]].
func (c *gctx) policies() {
	if len(c.seg) < 2 {
		c.fail(http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'policies'.")
		return
	}
	switch c.seg[1] {
	case "defaultAppManagementPolicy":
		if len(c.seg) == 2 {
			c.defaultPolicy()
			return
		}
	case "appManagementPolicies":
		c.customPolicies()
		return
	}
	c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", strings.Join(c.seg[1:], "/")))
}

func (c *gctx) defaultPolicy() {
	ps := c.s.pol
	switch c.r.Method {
	case http.MethodGet:
		if !c.allowed(readPolicies) {
			return
		}
		ps.mu.Lock()
		props := ps.def.json(false)
		ps.mu.Unlock()
		out := map[string]any{"@odata.context": c.base() + "/$metadata#policies/defaultAppManagementPolicy/$entity"}
		for k, v := range props {
			out[k] = v
		}
		writeGraphJSON(c.w, http.StatusOK, out)
	case http.MethodPatch:
		if !c.allowed(writeDefaultPolicy) {
			return
		}
		var body map[string]any
		if !c.body(&body) {
			return
		}
		ps.mu.Lock()
		next := ps.def
		msg := ""
		for k, v := range body {
			switch k {
			case "isEnabled":
				b, ok := v.(bool)
				if !ok {
					msg = "Invalid value specified for property 'isEnabled' of resource 'TenantAppManagementPolicy'."
				}
				next.Enabled = b
			case "displayName", "description":
				s, _ := v.(string)
				if k == "displayName" {
					next.DisplayName = s
				} else {
					next.Description = s
				}
			case "applicationRestrictions":
				msg = parseAppConfig(v, &next.App)
			case "servicePrincipalRestrictions":
				msg = parseAppConfig(v, &next.SP)
			default:
				if !strings.HasPrefix(k, "@odata") {
					msg = fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", k)
				}
			}
			if msg != "" {
				break
			}
		}
		if msg == "" {
			ps.def = next
		}
		ps.mu.Unlock()
		if msg != "" {
			c.badRequest(msg)
			return
		}
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

func (c *gctx) customPolicies() {
	ps := c.s.pol
	switch {
	case len(c.seg) == 2 && c.r.Method == http.MethodGet:
		if !c.allowed(readPolicies) {
			return
		}
		ps.mu.Lock()
		var list []map[string]any
		for _, p := range ps.custom {
			list = append(list, p.json(true))
		}
		ps.mu.Unlock()
		c.page("policies/appManagementPolicies", len(list), func(i int) map[string]any { return list[i] })
	case len(c.seg) == 2 && c.r.Method == http.MethodPost:
		if !c.allowed(writeAppPolicies) {
			return
		}
		var body map[string]any
		if !c.body(&body) {
			return
		}
		p := &mgmtPolicy{ID: newUUID(), Enabled: true}
		p.DisplayName, _ = body["displayName"].(string)
		p.Description, _ = body["description"].(string)
		if strings.TrimSpace(p.DisplayName) == "" {
			c.badRequest("Invalid value specified for property 'displayName' of resource 'AppManagementPolicy'.")
			return
		}
		if strings.TrimSpace(p.Description) == "" {
			c.badRequest("Invalid value specified for property 'description' of resource 'AppManagementPolicy'.")
			return
		}
		if v, ok := body["isEnabled"].(bool); ok {
			p.Enabled = v
		}
		if r, ok := body["restrictions"]; ok {
			if msg := parseAppConfig(r, &p.App); msg != "" {
				c.badRequest(msg)
				return
			}
		}
		ps.mu.Lock()
		ps.custom = append(ps.custom, p)
		props := p.json(true)
		ps.mu.Unlock()
		c.entity(http.StatusCreated, "policies/appManagementPolicies", props)
	case len(c.seg) >= 3:
		ps.mu.Lock()
		var p *mgmtPolicy
		for _, cp := range ps.custom {
			if strings.EqualFold(cp.ID, c.seg[2]) {
				p = cp
			}
		}
		var props map[string]any
		var applies []string
		if p != nil {
			props, applies = p.json(true), append([]string(nil), p.AppliesTo...)
		}
		ps.mu.Unlock()
		if p == nil {
			c.notFound(c.seg[2])
			return
		}
		switch {
		case len(c.seg) == 3 && c.r.Method == http.MethodGet:
			if c.allowed(readPolicies) {
				c.entity(http.StatusOK, "policies/appManagementPolicies", props)
			}
		case len(c.seg) == 4 && c.seg[3] == "appliesTo" && c.r.Method == http.MethodGet:
			if !c.allowed(readPolicies) {
				return
			}
			d := c.s.dir
			d.mu.RLock()
			var list []map[string]any
			for _, id := range applies {
				for _, a := range d.apps {
					if a.ID == id {
						m := copyProps(a.Props)
						m["@odata.type"] = "#microsoft.graph.application"
						list = append(list, m)
					}
				}
			}
			d.mu.RUnlock()
			c.page("directoryObjects", len(list), func(i int) map[string]any { return list[i] })
		default:
			c.methodNotAllowed()
		}
	default:
		c.methodNotAllowed()
	}
}

// assignPolicy answers POST /applications/{id}/appManagementPolicies/$ref
// with {"@odata.id": ".../policies/appManagementPolicies/{policyId}"}.
func (c *gctx) assignPolicy(app *object) {
	// Documented: Policy.ReadWrite.ApplicationConfiguration and
	// Application.Read.All; delegated, an app administrator role.
	if !c.allowed(writeAppPolicies) || !c.allowed(readApps) {
		return
	}
	var body map[string]any
	if !c.body(&body) {
		return
	}
	ref, _ := body["@odata.id"].(string)
	i := strings.LastIndex(ref, "/appManagementPolicies/")
	if i < 0 {
		c.badRequest("Invalid value specified for property '@odata.id'.")
		return
	}
	pid := ref[i+len("/appManagementPolicies/"):]
	ps := c.s.pol
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var target *mgmtPolicy
	for _, p := range ps.custom {
		if strings.EqualFold(p.ID, pid) {
			target = p
		}
		for _, id := range p.AppliesTo {
			if id == app.ID && !strings.EqualFold(p.ID, pid) {
				c.badRequest("An app management policy is already assigned to this application; only one can be assigned.")
				return
			}
		}
	}
	if target == nil {
		c.notFound(pid)
		return
	}
	for _, id := range target.AppliesTo {
		if id == app.ID {
			c.fail(http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'appliesTo'.")
			return
		}
	}
	target.AppliesTo = append(target.AppliesTo, app.ID)
	c.noContent()
}

// appPolicies answers GET /applications/{id}/appManagementPolicies.
func (c *gctx) appPolicies(app *object) {
	if !c.allowed(readPolicies) {
		return
	}
	ps := c.s.pol
	ps.mu.Lock()
	var list []map[string]any
	for _, p := range ps.custom {
		for _, id := range p.AppliesTo {
			if id == app.ID {
				list = append(list, p.json(true))
			}
		}
	}
	ps.mu.Unlock()
	c.page("appManagementPolicies", len(list), func(i int) map[string]any { return list[i] })
}
