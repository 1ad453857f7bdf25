package steps

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/store"
)

func TestBuiltinAndExampleProfilesAreValid(t *testing.T) {
	builtins, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range builtins {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "directory-sync,sso,sso-sync" {
		t.Errorf("built-ins = %s", got)
	}
	files, _ := filepath.Glob("../docs/profiles/*.json")
	if len(files) != 5 {
		t.Fatalf("want one example profile per vendor procedure (5), found %d", len(files))
	}
	for _, f := range files {
		p, err := LoadProfile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if p.Name+".json" != filepath.Base(f) {
			t.Errorf("%s: name %q does not match the file", f, p.Name)
		}
	}
}

func TestProfileErrorsNameTheField(t *testing.T) {
	base := `"name":"x","appName":"X","grantAdminConsent":true,"secret":{"lifetimeDays":365},"applicationPermissions":["User.Read.All","GroupMember.Read.All"]`
	for _, tc := range []struct{ name, json, field string }{
		{"unknown field", `{` + base + `,"colour":"red"}`, `unknown field "colour"`},
		{"bad name", `{"name":"X Y","appName":"X"}`, "name:"},
		{"no app name", `{"name":"x"}`, "appName:"},
		{"bad audience", `{` + base + `,"signInAudience":"Everyone"}`, "signInAudience:"},
		{"http redirect", `{` + base + `,"redirectUris":{"web":["http://app.example.com/cb"]}}`, "redirectUris.web[0]:"},
		{"relative redirect", `{` + base + `,"redirectUris":{"spa":["/cb"]}}`, "redirectUris.spa[0]:"},
		{"fragment redirect", `{` + base + `,"redirectUris":{"web":["https://a.example.com/cb#x"]}}`, "redirectUris.web[0]:"},
		{"bad permission", `{"name":"x","appName":"X","secret":{"lifetimeDays":1},"applicationPermissions":["read users"]}`, "applicationPermissions[0]:"},
		{"duplicate permission", `{"name":"x","appName":"X","secret":{"lifetimeDays":1},"applicationPermissions":["User.Read.All","user.read.all"]}`, "applicationPermissions[1]:"},
		{"lifetime", `{"name":"x","appName":"X","secret":{"lifetimeDays":1000}}`, "secret.lifetimeDays:"},
		{"app perms without secret", `{"name":"x","appName":"X","applicationPermissions":["User.Read.All"]}`, "secret:"},
		{"bad duration", `{` + base + `,"sync":{"groups":"pick","interval":"often"}}`, "bad duration"},
		{"too frequent", `{` + base + `,"sync":{"groups":"pick","interval":"10s"}}`, "sync.interval:"},
		{"bad removal", `{` + base + `,"sync":{"groups":"pick","onRemoval":"archive"}}`, "sync.onRemoval:"},
		{"created without group", `{` + base + `,"sync":{"groups":"created"}}`, "sync.groups:"},
		{"sync without read perms", `{"name":"x","appName":"X","secret":{"lifetimeDays":1},"applicationPermissions":["User.Read.All"],"sync":{"groups":"pick"}}`, "sync:"},
		{"bad nickname", `{` + base + `,"createGroup":{"displayName":"G","mailNickname":"a b"}}`, "createGroup.mailNickname:"},
		{"bad handoff", `{` + base + `,"handoff":["password"]}`, "handoff[0]:"},
		{"redirect handoff without uris", `{` + base + `,"handoff":["redirectUri"]}`, "handoff[0]:"},
		{"type", `{"name":"x","appName":"X","grantAdminConsent":"yes"}`, "grantAdminConsent: expected bool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error = %v, want it to name %q", err, tc.field)
			}
		})
	}
}

func TestProfileYAMLAndDefaults(t *testing.T) {
	p, err := ParseProfile([]byte(`
name: print-server
appName: Print Server Sync
allowPublicClient: true
applicationPermissions: [User.Read.All, Group.Read.All]
grantAdminConsent: true
secret: {lifetimeDays: 180}
createGroup: {displayName: "Print Server Users"}
sync: {groups: pick}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.SignInAudience != "AzureADMyOrg" || p.Sync.OnRemoval != "disable" || time.Duration(p.Sync.Interval) != 5*time.Minute {
		t.Errorf("defaults not applied: %+v %+v", p, p.Sync)
	}
	if p.CreateGroup.MailNickname != "print-server-users" {
		t.Errorf("mailNickname = %q", p.CreateGroup.MailNickname)
	}
}

func TestLoadProfileUnknownBuiltin(t *testing.T) {
	_, err := LoadProfile("directory")
	if err == nil || !strings.Contains(err.Error(), "directory-sync") {
		t.Fatalf("err = %v, want the list of built-ins", err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "p.yaml")
	os.WriteFile(f, []byte("name: p\nappName: P\n"), 0o600)
	if p, err := LoadProfile(f); err != nil || p.AppName != "P" {
		t.Fatalf("LoadProfile(file) = %+v, %v", p, err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true}, {"7d", 7 * 24 * time.Hour, true}, {"30d", 720 * time.Hour, true},
		{"90s", 90 * time.Second, true}, {"1h30m", 90 * time.Minute, true},
		{"d", 0, false}, {"-1d", 0, false}, {"1.5d", 0, false}, {"soon", 0, false}, {"-5m", 0, false}, {"", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
	if FormatDuration(30*24*time.Hour) != "30d" || FormatDuration(5*time.Minute) != "5m0s" {
		t.Error("FormatDuration")
	}
}

func FuzzParseProfile(f *testing.F) {
	for _, name := range []string{"directory-sync", "sso", "sso-sync"} {
		b, _ := BuiltinProfileSource(name)
		f.Add(b)
	}
	f.Add([]byte("name: x\nappName: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data)
		if err == nil && (p.Validate() != nil || p.Name == "" || p.AppName == "") {
			t.Fatalf("accepted an invalid profile: %+v", p)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"5m", "7d", "", "1h2m3s", "99999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}

func TestPlaceholderRedirectURIsRefused(t *testing.T) {
	for _, tc := range []struct {
		web, public []string
		bad         bool
	}{
		{web: []string{"https://app.example.com/auth/callback"}, bad: true},
		{web: []string{"https://example.org/cb"}, bad: true},
		{web: []string{"https://sso.example.net/cb"}, bad: true},
		{web: []string{"https://portal.vendor.example/cb"}, bad: true},
		{web: []string{"https://login.nowhere.invalid/cb"}, bad: true},
		{web: []string{"https://app.dev.test/cb"}, bad: true},
		{web: []string{"http://localhost:3000/cb"}, bad: true},
		{web: []string{"https://login.vendor.com/azure/callback"}},
		{web: []string{"https://myexample.com/cb"}},
		{public: []string{"http://localhost"}},
		{web: []string{"https://login.vendor.com/cb", "https://app.example.com/cb"}, bad: true},
	} {
		p := &Profile{Name: "t", RedirectURIs: RedirectURIs{Web: tc.web, PublicClient: tc.public}}
		err := p.CheckVendorValues()
		var pe *PlaceholderError
		if got := errors.As(err, &pe); got != tc.bad {
			t.Errorf("%v %v: err = %v, want refused %v", tc.web, tc.public, err, tc.bad)
		}
		if tc.bad && !strings.Contains(err.Error(), "--redirect-uri") {
			t.Errorf("%v: %v does not say how to give the vendor's callback", tc.web, err)
		}
	}
}

func TestHandoffOfASignInProfileHasTheAuthorityAndMetadata(t *testing.T) {
	for _, tc := range []struct {
		profile  string
		loginURL string
		signsIn  bool
	}{
		{"sso", "https://login.microsoftonline.us", true},
		{"directory-sync", "https://login.microsoftonline.com", false},
	} {
		p, err := LoadProfile(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		conn := &store.Connection{Tenant: store.Tenant{ID: "4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f"}}
		values, err := Handoff(nil, conn, p, tc.loginURL, false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, v := range values {
			got[v.Name] = v.Value
		}
		authority := tc.loginURL + "/4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f/v2.0"
		if tc.signsIn && (got["authority"] != authority || got["openidConfig"] != authority+"/.well-known/openid-configuration") {
			t.Errorf("%s: hand-off %v lacks the authority and metadata URL of the chosen cloud", tc.profile, got)
		}
		if _, ok := got["openidConfig"]; !tc.signsIn && ok {
			t.Errorf("%s hands off a metadata URL but signs no one in", tc.profile)
		}
	}
}
