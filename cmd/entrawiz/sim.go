package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// simOptions are the flags of `entrawiz sim`.
type simOptions struct {
	Out  io.Writer
	Sim  sim.Options
	Wait bool // serve until ctx is done; tests turn it off
}

// newSimCmd builds `entrawiz sim`. runF replaces the run function in tests.
func newSimCmd(ctx context.Context, runF func(context.Context, *simOptions) error) *cobra.Command {
	opts := &simOptions{Wait: true}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a simulated Entra ID tenant (identity + Microsoft Graph) over HTTPS",
		Long: `Run a simulated Microsoft Entra ID tenant on this machine: the sign-in endpoints
(OpenID configuration, device code, token, keys) and the Microsoft Graph v1.0 calls
entrawiz makes, over HTTPS with a certificate authority written to a file.

It prints one JSON line — login_url, graph_url, tenant_id, tenant_domain, ca_file,
admin_upn, user_upn, control_url — and serves until interrupted. Point entrawiz (or
any program's tests) at it with --login-url, --graph-url and --ca-file.

Device codes are approved on the verification page (open verification_uri), through
the control API (POST control_url/approve {"UserCode": "..."}), or automatically
with --approve auto. Faults can be injected with the flags below or changed while it
runs with PUT control_url/faults.`,
		Example: `  entrawiz sim --users 1000 --groups 50
  entrawiz sim --approve auto --replication-delay 5s
  entrawiz sim --users 100000 --groups 500 --latency 50ms`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Out = cmd.OutOrStdout()
			if runF != nil {
				return runF(ctx, opts)
			}
			return simRun(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Sim.Users, "users", 1000, "number of generated users")
	f.IntVar(&opts.Sim.Groups, "groups", 50, "number of generated groups (besides \"All Users\")")
	f.Int64Var(&opts.Sim.Seed, "seed", 1, "data generator seed: the same seed and sizes give the same tenant")
	f.StringVar(&opts.Sim.TenantName, "tenant-name", "contoso", "tenant name: <name>.onmicrosoft.com")
	f.StringVar(&opts.Sim.Approve, "approve", "manual", "device-code approval: manual (verification page or control API) or auto")
	f.DurationVar(&opts.Sim.ApproveAfter, "approve-after", 0, "with --approve auto, approve this long after the code is issued")
	f.StringVar(&opts.Sim.Addr, "addr", "127.0.0.1", "address to listen on (ports are chosen freely)")
	f.StringVar(&opts.Sim.CADir, "ca-dir", "", "directory to write ca.pem to (default: a new temporary directory)")
	f.DurationVar(&opts.Sim.Faults.Latency, "latency", 0, "latency added to every request")
	f.IntVar(&opts.Sim.Faults.ThrottleEvery, "throttle-every", 0, "answer every Nth Graph request with 429 Too Many Requests")
	f.DurationVar(&opts.Sim.Faults.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429 and 503")
	f.IntVar(&opts.Sim.Faults.ServerErrorEvery, "server-error-every", 0, "answer every Nth Graph request with 503")
	f.DurationVar(&opts.Sim.Faults.ReplicationDelay, "replication-delay", 0, "how long new objects and secrets stay invisible to reads, lists and sign-in")
	f.DurationVar(&opts.Sim.Faults.ReferenceDelay, "reference-delay", 0, "how long writes that name a new object (its service principal, a role assignment) fail")
	f.BoolVar(&opts.Sim.Faults.BlockDeviceCode, "block-device-code", false, "Conditional Access blocks device-code sign-in (AADSTS53003)")
	f.DurationVar(&opts.Sim.Faults.DeltaTokenTTL, "delta-token-ttl", 0, "delta tokens older than this are expired (default 7 days)")
	f.DurationVar(&opts.Sim.Faults.TokenLifetime, "token-lifetime", 0, "access token lifetime (default 3599s)")
	f.BoolVar(&opts.Sim.ForbidSecrets, "forbid-secrets", false, "app management policy: no new client secrets (CredentialTypeNotAllowedAsPerAppPolicy)")
	f.DurationVar(&opts.Sim.SecretMaxLifetime, "secret-max-lifetime", 0, "app management policy: longest a new client secret may live, e.g. 2160h (90 days)")
	f.DurationVar(&opts.Sim.CertMaxLifetime, "cert-max-lifetime", 0, "app management policy: longest a new certificate may be valid")
	f.BoolVar(&opts.Sim.ForbidMultiTenant, "forbid-multi-tenant", false, "app management policy: no multi-tenant sign-in audience (SignInAudienceNotAllowedAsPerAppPolicy)")
	f.StringSliceVar(&opts.Sim.AdminRoles, "admin-role", nil, "directory role(s) the admin holds instead of Global Administrator, e.g. \"Cloud Application Administrator\"")
	return cmd
}

func simRun(ctx context.Context, opts *simOptions) error {
	if opts.Sim.Approve != "auto" && opts.Sim.Approve != "manual" {
		return &app.InputError{Err: fmt.Errorf("--approve must be auto or manual, not %q", opts.Sim.Approve)}
	}
	if opts.Sim.Users < 0 || opts.Sim.Groups < 0 {
		return &app.InputError{Err: fmt.Errorf("--users and --groups must not be negative")}
	}
	srv, err := sim.Start(opts.Sim)
	if err != nil {
		return fmt.Errorf("start simulated tenant: %w", err)
	}
	defer srv.Close()
	line, err := json.Marshal(srv.Info())
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.Out, string(line))
	if opts.Wait {
		<-ctx.Done()
	}
	return nil
}
