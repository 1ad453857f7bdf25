// Package steps is the procedure entrawiz performs in a tenant: profiles
// (what a product needs), the plan, one file per step, and the runner that
// reports events. It has no terminal code; the TUI and the headless commands
// call the same steps and differ only in how they report.
package steps

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Profile says what a product needs from the tenant. The procedure is the
// same for every profile; a vendor's guide becomes a profile file.
type Profile struct {
	Name                   string       `json:"name"`
	Description            string       `json:"description,omitempty"`
	AppName                string       `json:"appName"`
	SignInAudience         string       `json:"signInAudience,omitempty"`
	RedirectURIs           RedirectURIs `json:"redirectUris,omitempty"`
	AllowPublicClient      bool         `json:"allowPublicClient,omitempty"`
	ApplicationPermissions []string     `json:"applicationPermissions,omitempty"`
	DelegatedPermissions   []string     `json:"delegatedPermissions,omitempty"`
	GrantAdminConsent      bool         `json:"grantAdminConsent"`
	Secret                 *SecretSpec  `json:"secret,omitempty"`
	// Credential is what the product accepts: "secret" (the default),
	// "certificate", or "either". secret.lifetimeDays is the credential's
	// lifetime either way.
	Credential         string     `json:"credential,omitempty"`
	AssignmentRequired bool       `json:"assignmentRequired,omitempty"`
	CreateGroup        *GroupSpec `json:"createGroup,omitempty"`
	Sync               *SyncSpec  `json:"sync,omitempty"`
	Handoff            []string   `json:"handoff,omitempty"`
}

// RedirectURIs are the app's reply URLs by platform.
type RedirectURIs struct {
	Web          []string `json:"web,omitempty"`
	PublicClient []string `json:"publicClient,omitempty"`
	SPA          []string `json:"spa,omitempty"`
}

// SecretSpec is the client secret the product needs.
type SecretSpec struct {
	LifetimeDays int `json:"lifetimeDays"`
}

// GroupSpec is a security group to create, whose members get access or are
// synced.
type GroupSpec struct {
	DisplayName  string `json:"displayName"`
	Description  string `json:"description,omitempty"`
	MailNickname string `json:"mailNickname,omitempty"`
	// Assign assigns the group to the app (with assignmentRequired, only
	// assigned users can sign in).
	Assign bool `json:"assign,omitempty"`
}

// SyncSpec is how users are synced into the product.
type SyncSpec struct {
	// Groups is "pick" (the admin picks groups), or "created" (the group
	// the profile creates).
	Groups    string `json:"groups"`
	MaxGroups int    `json:"maxGroups,omitempty"` // 0: no limit
	// ExtraGroups allows more groups beside the sync group(s): they sync
	// only members who are also in a sync group, and an empty one is not
	// synced (the password manager's rule).
	ExtraGroups     bool     `json:"extraGroups,omitempty"`
	OnRemoval       string   `json:"onRemoval,omitempty"` // disable (default) or delete
	DeleteAfterDays int      `json:"deleteAfterDays,omitempty"`
	Interval        Duration `json:"interval,omitempty"`
	Attributes      []string `json:"attributes,omitempty"`
}

// Duration is a time.Duration spelled as in "5m" or "7d" in profile files.
type Duration time.Duration

// UnmarshalJSON parses "90s", "5m", "12h", "7d".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"5m\" or \"7d\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// ParseDuration is time.ParseDuration plus whole days ("7d", "30d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && fmt.Sprint(n) == days && n >= 0 && n <= 36500 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
		return 0, fmt.Errorf("bad duration %q: days must be a whole number such as \"30d\"", s)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad duration %q: use a number with a unit, such as \"90s\", \"5m\", \"12h\" or \"7d\"", s)
	}
	return v, nil
}

// FormatDuration writes whole days as "7d", anything else as Go does.
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// FieldError is a profile problem, naming the field as the file spells it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// HandoffValues are the values a profile may ask to hand to the product.
var HandoffValues = []string{"tenantId", "clientId", "clientSecret", "primaryDomain", "initialDomain",
	"redirectUri", "authority", "openidConfig", "groupId"}

var (
	profileName    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	permissionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$`)
	oidcScopes     = []string{"openid", "profile", "email", "offline_access"}
)

// Validate checks the profile and fills in defaults. Permission names are
// checked for shape here and resolved against Microsoft Graph at run time.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !profileName.MatchString(p.Name) {
		bad("name", "%q must be lower-case letters, digits and dashes (at most 63)", p.Name)
	}
	if strings.TrimSpace(p.AppName) == "" {
		bad("appName", "required: the app's display name in Entra")
	} else if len(p.AppName) > 120 {
		bad("appName", "at most 120 characters")
	}
	if p.SignInAudience == "" {
		p.SignInAudience = "AzureADMyOrg"
	}
	if !slices.Contains([]string{"AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"}, p.SignInAudience) {
		bad("signInAudience", "%q is not one of AzureADMyOrg (single tenant), AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount", p.SignInAudience)
	}
	for i, u := range p.RedirectURIs.Web {
		if msg := checkRedirectURI(u, false); msg != "" {
			bad(fmt.Sprintf("redirectUris.web[%d]", i), "%s", msg)
		}
	}
	for i, u := range p.RedirectURIs.SPA {
		if msg := checkRedirectURI(u, false); msg != "" {
			bad(fmt.Sprintf("redirectUris.spa[%d]", i), "%s", msg)
		}
	}
	for i, u := range p.RedirectURIs.PublicClient {
		if msg := checkRedirectURI(u, true); msg != "" {
			bad(fmt.Sprintf("redirectUris.publicClient[%d]", i), "%s", msg)
		}
	}
	checkPerms := func(field string, names []string, delegated bool) {
		seen := map[string]bool{}
		for i, n := range names {
			isOIDC := delegated && slices.Contains(oidcScopes, n)
			if !isOIDC && !permissionName.MatchString(n) {
				bad(fmt.Sprintf("%s[%d]", field, i), "%q is not a Microsoft Graph permission name (such as User.Read.All)", n)
			}
			if seen[strings.ToLower(n)] {
				bad(fmt.Sprintf("%s[%d]", field, i), "%q is listed twice", n)
			}
			seen[strings.ToLower(n)] = true
		}
	}
	checkPerms("applicationPermissions", p.ApplicationPermissions, false)
	checkPerms("delegatedPermissions", p.DelegatedPermissions, true)
	if p.GrantAdminConsent && len(p.ApplicationPermissions) == 0 && len(p.DelegatedPermissions) == 0 {
		bad("grantAdminConsent", "there are no permissions to consent to")
	}
	if p.Secret != nil && (p.Secret.LifetimeDays < 1 || p.Secret.LifetimeDays > 730) {
		bad("secret.lifetimeDays", "%d is outside 1..730 (Entra's portal allows at most 2 years; tenant policy may allow less)", p.Secret.LifetimeDays)
	}
	switch p.Credential {
	case "", CredentialSecret, CredentialEither, CredentialCertificate:
		if p.Credential != "" && p.Secret == nil {
			bad("credential", "a credential needs its lifetime: add \"secret\": {\"lifetimeDays\": 365}")
		}
	default:
		bad("credential", "%q is not secret, certificate or either", p.Credential)
	}
	if len(p.ApplicationPermissions) > 0 && p.Secret == nil {
		bad("secret", "application permissions are used with a client secret: add \"secret\": {\"lifetimeDays\": 365}")
	}
	if g := p.CreateGroup; g != nil {
		if strings.TrimSpace(g.DisplayName) == "" || len(g.DisplayName) > 256 {
			bad("createGroup.displayName", "required, at most 256 characters")
		}
		if g.MailNickname == "" {
			g.MailNickname = mailNickname(g.DisplayName)
		}
		if len(g.MailNickname) > 64 || strings.ContainsAny(g.MailNickname, "@()\\[]\";:.<>, ") || !isASCII(g.MailNickname) {
			bad("createGroup.mailNickname", "%q: at most 64 ASCII characters, none of @ ( ) \\ [ ] \" ; : . < > , or space", g.MailNickname)
		}
	}
	if s := p.Sync; s != nil {
		switch s.Groups {
		case "pick":
		case "created":
			if p.CreateGroup == nil {
				bad("sync.groups", "\"created\" needs a createGroup")
			}
		default:
			bad("sync.groups", "%q is not pick or created", s.Groups)
		}
		if s.MaxGroups < 0 {
			bad("sync.maxGroups", "must not be negative (0 means no limit)")
		}
		if s.OnRemoval == "" {
			s.OnRemoval = "disable"
		}
		if s.OnRemoval != "disable" && s.OnRemoval != "delete" {
			bad("sync.onRemoval", "%q is not disable or delete", s.OnRemoval)
		}
		if s.OnRemoval == "delete" && s.DeleteAfterDays < 0 {
			bad("sync.deleteAfterDays", "must not be negative")
		}
		if s.Interval == 0 {
			s.Interval = Duration(5 * time.Minute)
		}
		if time.Duration(s.Interval) < time.Minute {
			bad("sync.interval", "%s is too often: at least 1m", FormatDuration(time.Duration(s.Interval)))
		}
		if !p.canReadMembers() {
			bad("sync", "syncing users needs application permissions to read them: User.Read.All and GroupMember.Read.All (or Group.Read.All, or Directory.Read.All)")
		}
	}
	for i, h := range p.Handoff {
		if !slices.Contains(HandoffValues, h) {
			bad(fmt.Sprintf("handoff[%d]", i), "%q is not one of %s", h, strings.Join(HandoffValues, ", "))
		}
		if h == "clientSecret" && p.Secret == nil {
			bad(fmt.Sprintf("handoff[%d]", i), "clientSecret is handed off but the profile has no secret")
		}
		if h == "redirectUri" && len(p.RedirectURIs.Web)+len(p.RedirectURIs.SPA)+len(p.RedirectURIs.PublicClient) == 0 {
			bad(fmt.Sprintf("handoff[%d]", i), "redirectUri is handed off but the profile has no redirect URIs")
		}
	}
	return errors.Join(errs...)
}

// ReadsGroups reports whether the profile lets the app read groups.
func (p *Profile) ReadsGroups() bool {
	return slices.ContainsFunc(p.ApplicationPermissions, func(x string) bool {
		return slices.ContainsFunc([]string{"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
			"Directory.Read.All", "Directory.ReadWrite.All"}, func(n string) bool { return strings.EqualFold(x, n) })
	})
}

func (p *Profile) canReadMembers() bool {
	has := func(n string) bool {
		return slices.ContainsFunc(p.ApplicationPermissions, func(x string) bool { return strings.EqualFold(x, n) })
	}
	if has("Directory.Read.All") || has("Directory.ReadWrite.All") {
		return true
	}
	return (has("User.Read.All") || has("User.ReadWrite.All")) &&
		(has("GroupMember.Read.All") || has("Group.Read.All") || has("Group.ReadWrite.All"))
}

func checkRedirectURI(s string, publicClient bool) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "":
		return fmt.Sprintf("%q is not an absolute URI", s)
	case len(s) > 256:
		return fmt.Sprintf("%q is longer than 256 characters", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Sprintf("%q must not contain a fragment (#)", s)
	case strings.Contains(u.Host, "*"):
		return fmt.Sprintf("%q: wildcards are not allowed", s)
	}
	if publicClient {
		return ""
	}
	local := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"
	if u.Scheme != "https" && !(u.Scheme == "http" && local) {
		return fmt.Sprintf("%q must use https (http only for localhost)", s)
	}
	if u.Host == "" {
		return fmt.Sprintf("%q has no host", s)
	}
	return ""
}

// PlaceholderError lists a profile's redirect URIs that are placeholders:
// registered in a real tenant they would send the product's users nowhere.
type PlaceholderError struct {
	Profile string
	URIs    []string
}

func (e *PlaceholderError) Error() string {
	return fmt.Sprintf("the profile %s has placeholder redirect URIs (%s): give the vendor's callback URL with --redirect-uri (repeat it for each), as the vendor's setup page shows it",
		e.Profile, strings.Join(e.URIs, ", "))
}

// CheckVendorValues refuses redirect URIs whose host is a placeholder:
// example.com, example.org and example.net and their subdomains, names
// under .example, .invalid and .test (RFC 2606 / RFC 6761), and for a web
// or single-page app in production localhost, which only the developer's
// own machine answers.
func (p *Profile) CheckVendorValues() error {
	var bad []string
	check := func(list []string, web bool) {
		for _, s := range list {
			if u, err := url.Parse(s); err == nil && IsPlaceholderHost(u.Hostname(), web) {
				bad = append(bad, s)
			}
		}
	}
	check(p.RedirectURIs.Web, true)
	check(p.RedirectURIs.SPA, true)
	check(p.RedirectURIs.PublicClient, false)
	if len(bad) == 0 {
		return nil
	}
	return &PlaceholderError{Profile: p.Name, URIs: bad}
}

// IsPlaceholderHost reports whether host is reserved for examples and
// tests, or (web) a loopback host.
func IsPlaceholderHost(host string, web bool) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, d := range []string{"example.com", "example.org", "example.net"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	for _, tld := range []string{".example", ".invalid", ".test"} {
		if strings.HasSuffix(h, tld) || h == tld[1:] {
			return true
		}
	}
	if web && (h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "127.0.0.1" || h == "::1") {
		return true
	}
	return false
}

func mailNickname(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '_':
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 127 {
			return false
		}
	}
	return true
}

// ParseProfile reads a profile from JSON or YAML; unknown fields are errors
// that name the field.
func ParseProfile(data []byte) (*Profile, error) {
	js := data
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		var err error
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, fmt.Errorf("profile is neither JSON nor YAML: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("read profile: %s", describeJSONErr(err))
	}
	if dec.More() {
		return nil, errors.New("read profile: more than one profile in the file")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return &p, nil
}

func describeJSONErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: expected %s, got %s", te.Field, te.Type, te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + msg
	}
	return err.Error()
}

//go:embed profiles/*.json
var builtinFS embed.FS

// BuiltinProfiles returns the profiles that ship with entrawiz, by name.
func BuiltinProfiles() ([]*Profile, error) {
	entries, err := fs.ReadDir(builtinFS, "profiles")
	if err != nil {
		return nil, err
	}
	var out []*Profile
	for _, e := range entries {
		b, err := builtinFS.ReadFile("profiles/" + e.Name())
		if err != nil {
			return nil, err
		}
		p, err := ParseProfile(b)
		if err != nil {
			return nil, fmt.Errorf("built-in %s: %w", e.Name(), err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// BuiltinProfileSource returns a built-in profile's file, for `profiles show`.
func BuiltinProfileSource(name string) ([]byte, bool) {
	b, err := builtinFS.ReadFile("profiles/" + name + ".json")
	return b, err == nil
}

// LoadProfile returns the built-in profile called nameOrFile, or reads the
// file of that path.
func LoadProfile(nameOrFile string) (*Profile, error) {
	if b, ok := BuiltinProfileSource(nameOrFile); ok {
		return ParseProfile(b)
	}
	if !strings.ContainsAny(nameOrFile, `/\.`) {
		names := []string{}
		if all, err := BuiltinProfiles(); err == nil {
			for _, p := range all {
				names = append(names, p.Name)
			}
		}
		return nil, fmt.Errorf("no built-in profile %q (built-ins: %s; or give a profile file's path)", nameOrFile, strings.Join(names, ", "))
	}
	b, err := os.ReadFile(nameOrFile)
	if err != nil {
		return nil, fmt.Errorf("read profile file: %w", err)
	}
	p, err := ParseProfile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(nameOrFile), err)
	}
	return p, nil
}
