// Package graphapi is entrawiz's layer over the Microsoft identity platform
// and Microsoft Graph: cloud endpoints, the admin's device-code sign-in,
// app-only tokens, a msgraph-sdk-go client with retry and tracing, the typed
// Graph operations the steps need, error classes with remedies, and a
// replication-aware retry helper.
package graphapi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// GraphAppID is the application ID of the Microsoft Graph resource, the same
// in every tenant and cloud.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// GraphCLIToolsClientID is the Microsoft Graph Command Line Tools public
// client, the default client for the admin's sign-in.
const GraphCLIToolsClientID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

// Cloud is where the identity platform and Microsoft Graph are served: one
// of the national clouds, or custom URLs such as the simulator's.
type Cloud struct {
	Name     string // public, usgov, usgov-dod, china, or custom
	LoginURL string // identity platform origin, e.g. https://login.microsoftonline.com
	GraphURL string // Graph v1.0 base, e.g. https://graph.microsoft.com/v1.0
	CAFile   string // extra trusted root certificates (PEM); empty for none
}

// nationalClouds is the national-cloud table of the Graph documentation
// (read only).
var nationalClouds = map[string]Cloud{
	"public":    {Name: "public", LoginURL: "https://login.microsoftonline.com", GraphURL: "https://graph.microsoft.com/v1.0"},
	"usgov":     {Name: "usgov", LoginURL: "https://login.microsoftonline.us", GraphURL: "https://graph.microsoft.us/v1.0"},
	"usgov-dod": {Name: "usgov-dod", LoginURL: "https://login.microsoftonline.us", GraphURL: "https://dod-graph.microsoft.us/v1.0"},
	"china":     {Name: "china", LoginURL: "https://login.chinacloudapi.cn", GraphURL: "https://microsoftgraph.chinacloudapi.cn/v1.0"},
}

// CloudNames lists the names NewCloud accepts, in the order help text shows them.
func CloudNames() []string { return []string{"public", "usgov", "usgov-dod", "china"} }

// NewCloud returns the named national cloud ("" means public) with loginURL,
// graphURL and caFile overriding its endpoints when not empty. A graphURL
// without a path gets /v1.0. URLs must be https.
func NewCloud(name, loginURL, graphURL, caFile string) (Cloud, error) {
	if name == "" {
		name = "public"
	}
	c, ok := nationalClouds[name]
	if !ok {
		return Cloud{}, badInput("cloud", fmt.Sprintf("unknown cloud %q (want one of %s)", name, strings.Join(CloudNames(), ", ")),
			"Use --cloud public, usgov, usgov-dod or china, or give --login-url and --graph-url.")
	}
	if loginURL != "" {
		u, err := httpsURL("--login-url", loginURL)
		if err != nil {
			return Cloud{}, err
		}
		c.LoginURL = u.Scheme + "://" + u.Host
		c.Name = "custom"
	}
	if graphURL != "" {
		u, err := httpsURL("--graph-url", graphURL)
		if err != nil {
			return Cloud{}, err
		}
		p := strings.TrimSuffix(u.Path, "/")
		if p == "" {
			p = "/v1.0"
		}
		c.GraphURL = u.Scheme + "://" + u.Host + p
		c.Name = "custom"
	}
	if caFile != "" {
		if _, err := os.Stat(caFile); err != nil {
			return Cloud{}, badInput("ca file", fmt.Sprintf("cannot read --ca-file %s", caFile), "Give the path of a PEM file with the CA certificate.")
		}
		c.CAFile = caFile
	}
	return c, nil
}

func httpsURL(flag, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, badInput(flag, fmt.Sprintf("%s %q is not a URL", flag, raw), "Give an absolute https:// URL.")
	}
	if u.Scheme != "https" {
		return nil, badInput(flag, fmt.Sprintf("%s %q must use https", flag, raw), "Tokens are only ever sent over https.")
	}
	return u, nil
}

// GraphResource is the resource tokens for Graph are requested for: the
// origin of GraphURL (https://graph.microsoft.com in the public cloud).
func (c Cloud) GraphResource() string {
	u, err := url.Parse(c.GraphURL)
	if err != nil {
		return c.GraphURL
	}
	return u.Scheme + "://" + u.Host
}

// GraphHost is the host name of GraphURL, the only host Graph tokens go to.
func (c Cloud) GraphHost() string {
	u, err := url.Parse(c.GraphURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Authority is the MSAL authority URL for tenant (a GUID, a domain, or
// "organizations").
func (c Cloud) Authority(tenant string) string {
	if tenant == "" {
		tenant = "organizations"
	}
	return strings.TrimSuffix(c.LoginURL, "/") + "/" + tenant
}

// DelegatedScopes turns Graph permission names into scopes on this cloud's
// Graph resource ("User.Read" becomes "https://graph.microsoft.com/User.Read").
func (c Cloud) DelegatedScopes(names []string) []string {
	res := c.GraphResource()
	out := make([]string, 0, len(names))
	for _, n := range names {
		if strings.Contains(n, "://") {
			out = append(out, n)
			continue
		}
		out = append(out, res+"/"+n)
	}
	return out
}

// AppOnlyScope is the client-credentials scope for Graph: "<resource>/.default".
func (c Cloud) AppOnlyScope() string { return c.GraphResource() + "/.default" }

// instanceDiscovery reports whether MSAL may run instance discovery: only for
// the identity hosts Microsoft runs; a custom login URL has no discovery
// endpoint MSAL would trust.
func (c Cloud) instanceDiscovery() bool {
	u, err := url.Parse(c.LoginURL)
	if err != nil {
		return false
	}
	for _, nc := range nationalClouds {
		if strings.EqualFold(strings.TrimPrefix(nc.LoginURL, "https://"), u.Host) {
			return true
		}
	}
	return false
}

// HTTPClient returns an HTTP client that trusts the system roots plus
// CAFile, with no overall timeout (callers bound requests with contexts; MSAL
// and the Graph client set their own per-request limits).
func (c Cloud) HTTPClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, badInput("ca file", fmt.Sprintf("no PEM certificates in %s", c.CAFile), "Give a PEM file with the CA certificate.")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 0, CheckRedirect: noRedirects}, nil
}

// noRedirects keeps bearer tokens and form bodies from following a redirect.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// requestTimeout bounds one Graph request, its throttling retries included.
const requestTimeout = 100 * time.Second
