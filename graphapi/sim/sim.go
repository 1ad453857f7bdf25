// Package sim is a simulated Microsoft Entra ID tenant: the identity platform
// (OpenID configuration, device code, token endpoint, JWKS) and the parts of
// Microsoft Graph v1.0 that entrawiz calls, served over real TLS.
//
// It is written from the documented wire format alone and imports nothing of
// the product, so that a bug in the client cannot agree with itself here.
package sim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Well-known identifiers of Microsoft first-party apps and roles.
const (
	GraphAppID        = "00000003-0000-0000-c000-000000000000"
	GraphResource     = "https://graph.microsoft.com"
	GraphCLIToolsID   = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	rolePrivRoleAdmin = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	roleAppAdmin      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	roleCloudAppAdmin = "158c047a-c907-4556-b7ef-446551a6b5f7"
	roleGroupsAdmin   = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	roleUserAdmin     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// Options configures a simulated tenant.
type Options struct {
	Seed       int64  // data generator seed; same seed and sizes give the same tenant
	Users      int    // generated member users besides the admin and the plain user
	Groups     int    // generated groups besides "All Users"
	TenantName string // becomes <name>.onmicrosoft.com; default "contoso"
	// Approve is how device codes are approved: "manual" (the verification
	// page or the control API) or "auto" (approved as the admin after
	// ApproveAfter).
	Approve      string
	ApproveAfter time.Duration
	Addr         string // host to listen on; default 127.0.0.1
	CADir        string // where ca.pem is written; default a new temporary directory
	Faults       Faults
	// SecretMaxLifetime sets the tenant's client secret lifetime policy
	// (the default app management policy's passwordLifetime); 0: none.
	SecretMaxLifetime time.Duration
	// ForbidSecrets, CertMaxLifetime and ForbidMultiTenant set the tenant
	// default app management policy's passwordAddition,
	// asymmetricKeyLifetime and multi-tenant audience restrictions.
	ForbidSecrets     bool
	CertMaxLifetime   time.Duration
	ForbidMultiTenant bool
	// AdminRoles are the directory roles the administrator holds, by
	// display name (default: Global Administrator).
	AdminRoles []string
}

// Faults are the injected misbehaviours. The zero value is a healthy tenant.
type Faults struct {
	Latency          time.Duration // added to every request
	ThrottleEvery    int           // every Nth Graph request answers 429
	RetryAfter       time.Duration // Retry-After sent with a 429 (default 1s)
	ServerErrorEvery int           // every Nth Graph request answers 503
	ReplicationDelay time.Duration // new objects and secrets stay invisible to reads, lists and the token service this long
	ReferenceDelay   time.Duration // writes that name a new object (e.g. its service principal) fail this long
	BlockDeviceCode  bool          // Conditional Access blocks the device-code flow (AADSTS53003)
	DeltaTokenTTL    time.Duration // delta tokens older than this are expired (0: 7 days)
	TokenLifetime    time.Duration // access token lifetime (0: 3599s)
	// UserConsentBlocked is the tenant setting "Do not allow user consent":
	// only an administrator can consent, so a user gets "Need admin approval".
	UserConsentBlocked bool
}

// Info is what `entrawiz sim` prints: where the tenant is and how to trust it.
type Info struct {
	LoginURL     string `json:"login_url"`
	GraphURL     string `json:"graph_url"`
	TenantID     string `json:"tenant_id"`
	TenantDomain string `json:"tenant_domain"`
	CAFile       string `json:"ca_file"`
	AdminUPN     string `json:"admin_upn"`
	UserUPN      string `json:"user_upn"`
	ControlURL   string `json:"control_url"`
}

// Server is a running simulated tenant.
type Server struct {
	opts  Options
	info  Info
	pki   *pki
	keys  *signer
	dir   *directory
	log   *requestLog
	clock func() time.Time

	mu       sync.Mutex
	faults   Faults
	pol      *policyStore
	devCodes map[string]*deviceCode // by device_code
	refresh  map[string]refreshGrant
	// consented remembers the delegated scopes a user granted a client, by
	// "clientID/userID", which is what a later .default request gets.
	consented map[string][]string
	seq       uint64    // request counter for fault schedules
	auth      authState // browser sign-ins in progress and authorization codes

	login, graph *http.Server
	tmpDir       string
}

// Start generates the tenant and serves it until Close.
func Start(opts Options) (*Server, error) {
	if opts.TenantName == "" {
		opts.TenantName = "contoso"
	}
	if opts.Approve == "" {
		opts.Approve = "manual"
	}
	if opts.Approve != "manual" && opts.Approve != "auto" {
		return nil, fmt.Errorf("sim: approve must be auto or manual, not %q", opts.Approve)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1"
	}
	s := &Server{
		opts:      opts,
		faults:    opts.Faults,
		pol:       newPolicyStore(opts),
		clock:     time.Now,
		devCodes:  map[string]*deviceCode{},
		refresh:   map[string]refreshGrant{},
		consented: map[string][]string{},
		log:       newRequestLog(),
	}
	var err error
	if s.keys, err = newSigner(); err != nil {
		return nil, err
	}
	if opts.CADir == "" {
		if s.tmpDir, err = os.MkdirTemp("", "entrawiz-sim-"); err != nil {
			return nil, err
		}
		opts.CADir = s.tmpDir
	}
	loginLn, err := net.Listen("tcp", net.JoinHostPort(opts.Addr, "0"))
	if err != nil {
		return nil, err
	}
	graphLn, err := net.Listen("tcp", net.JoinHostPort(opts.Addr, "0"))
	if err != nil {
		loginLn.Close()
		return nil, err
	}
	if s.pki, err = newPKI(opts.Addr); err != nil {
		loginLn.Close()
		graphLn.Close()
		return nil, err
	}
	caFile := filepath.Join(opts.CADir, "ca.pem")
	if err := os.WriteFile(caFile, s.pki.caPEM, 0o644); err != nil {
		loginLn.Close()
		graphLn.Close()
		return nil, err
	}
	s.dir = newDirectory(opts, s.now)
	if len(opts.AdminRoles) > 0 {
		if err := s.SetAdminRoles(opts.AdminRoles...); err != nil {
			loginLn.Close()
			graphLn.Close()
			return nil, err
		}
	}
	loginBase := "https://" + loginLn.Addr().String()
	graphBase := "https://" + graphLn.Addr().String()
	s.info = Info{
		LoginURL:     loginBase,
		GraphURL:     graphBase + "/v1.0",
		TenantID:     s.dir.tenantID,
		TenantDomain: s.dir.initialDomain,
		CAFile:       caFile,
		AdminUPN:     s.dir.adminUPN,
		UserUPN:      s.dir.userUPN,
		ControlURL:   loginBase + "/_sim",
	}
	// Each server gets its own copy: ServeTLS adds its HTTP/2 protocols to it.
	tlsConf := &tls.Config{Certificates: []tls.Certificate{s.pki.leaf}, MinVersion: tls.VersionTLS12}
	s.login = &http.Server{Handler: s.withCommon("login", s.loginMux()), TLSConfig: tlsConf.Clone(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	s.graph = &http.Server{Handler: s.withCommon("graph", s.graphMux()), TLSConfig: tlsConf.Clone(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	go s.login.ServeTLS(loginLn, "", "")
	go s.graph.ServeTLS(graphLn, "", "")
	return s, nil
}

// Info says where the tenant is served.
func (s *Server) Info() Info { return s.info }

// Close stops serving and removes the temporary CA directory, if Start made one.
func (s *Server) Close() error {
	// Close, not Shutdown: a simulator has no request worth finishing, and a
	// graceful HTTP/2 shutdown waits out idle clients' connections.
	err := errors.Join(s.login.Close(), s.graph.Close())
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
	return err
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// CurrentFaults returns the injected faults in force.
func (s *Server) CurrentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func (s *Server) now() time.Time { return s.clock() }

// quietLog drops the HTTP server's own messages (TLS handshakes refused by
// clients that do not trust the CA, which tests do on purpose).
var quietLog = log.New(io.Discard, "", 0)
