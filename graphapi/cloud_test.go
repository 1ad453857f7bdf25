package graphapi_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi"
)

func TestNewCloud(t *testing.T) {
	tests := []struct {
		name                        string
		cloud, login, graph         string
		wantLogin, wantGraph, wantR string
		wantErr                     bool
	}{
		{name: "default is public", wantLogin: "https://login.microsoftonline.com", wantGraph: "https://graph.microsoft.com/v1.0", wantR: "https://graph.microsoft.com"},
		{name: "usgov", cloud: "usgov", wantLogin: "https://login.microsoftonline.us", wantGraph: "https://graph.microsoft.us/v1.0", wantR: "https://graph.microsoft.us"},
		{name: "usgov-dod", cloud: "usgov-dod", wantLogin: "https://login.microsoftonline.us", wantGraph: "https://dod-graph.microsoft.us/v1.0", wantR: "https://dod-graph.microsoft.us"},
		{name: "china", cloud: "china", wantLogin: "https://login.chinacloudapi.cn", wantGraph: "https://microsoftgraph.chinacloudapi.cn/v1.0", wantR: "https://microsoftgraph.chinacloudapi.cn"},
		{name: "custom URLs", login: "https://127.0.0.1:8443/", graph: "https://127.0.0.1:9443/v1.0", wantLogin: "https://127.0.0.1:8443", wantGraph: "https://127.0.0.1:9443/v1.0", wantR: "https://127.0.0.1:9443"},
		{name: "graph URL without version", graph: "https://graph.example.test", wantLogin: "https://login.microsoftonline.com", wantGraph: "https://graph.example.test/v1.0", wantR: "https://graph.example.test"},
		{name: "unknown cloud", cloud: "mars", wantErr: true},
		{name: "http login URL", login: "http://127.0.0.1:8080", wantErr: true},
		{name: "relative graph URL", graph: "/v1.0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := graphapi.NewCloud(tt.cloud, tt.login, tt.graph, "")
			if tt.wantErr {
				wantKind(t, err, graphapi.KindBadInput, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.LoginURL != tt.wantLogin || c.GraphURL != tt.wantGraph || c.GraphResource() != tt.wantR {
				t.Fatalf("cloud %+v resource %s", c, c.GraphResource())
			}
			if got := c.DelegatedScopes([]string{"User.Read"}); !slices.Equal(got, []string{tt.wantR + "/User.Read"}) {
				t.Errorf("scopes %v", got)
			}
			if c.AppOnlyScope() != tt.wantR+"/.default" {
				t.Errorf("app-only scope %s", c.AppOnlyScope())
			}
			if c.Authority("contoso.onmicrosoft.com") != tt.wantLogin+"/contoso.onmicrosoft.com" || c.Authority("") != tt.wantLogin+"/organizations" {
				t.Errorf("authority %s", c.Authority("contoso.onmicrosoft.com"))
			}
		})
	}
}

func TestCloudCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := graphapi.NewCloud("", "", "", filepath.Join(dir, "missing.pem")); err == nil {
		t.Fatal("missing CA file accepted")
	}
	c, err := graphapi.NewCloud("", "", "", notPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.HTTPClient()
	wantKind(t, err, graphapi.KindBadInput, "")
}
