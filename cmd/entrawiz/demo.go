package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/ui"
)

type demoOptions struct {
	Users        int
	Groups       int
	ApproveAfter time.Duration
	Latency      time.Duration
	Replication  time.Duration
	Profiles     []string
}

func newDemoCmd(f *factory) *cobra.Command {
	opts := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole wizard against a simulated tenant (no Azure account needed)",
		Long: `Run the wizard end to end against a simulated Entra ID tenant started inside this
process, with a temporary config directory and an in-memory secret store: nothing
touches Azure, your keyring or your config.

The device-code screen works as in real life: open the verification page it shows
(the simulated tenant's own) and enter the code, or wait and it is approved for you.
A little latency and replication delay are injected so the waits are visible.`,
		Example: "  entrawiz demo\n  entrawiz demo --approve-after 30s --replication-delay 5s",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return demoRun(cmd, f, opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.Users, "users", 300, "users in the simulated tenant")
	fl.IntVar(&opts.Groups, "groups", 40, "groups in the simulated tenant")
	fl.DurationVar(&opts.ApproveAfter, "approve-after", 8*time.Second, "approve the device code automatically after this long")
	fl.DurationVar(&opts.Latency, "latency", 40*time.Millisecond, "latency of every simulated request")
	fl.DurationVar(&opts.Replication, "replication-delay", 2*time.Second, "how long new objects take to replicate")
	fl.StringArrayVar(&opts.Profiles, "profile", nil, "also offer this profile file (JSON or YAML); repeat for more")
	return cmd
}

// demoRun runs the wizard on a simulated tenant inside this process.
func demoRun(cmd *cobra.Command, f *factory, opts *demoOptions) error {
	files, err := loadProfileFiles(opts.Profiles)
	if err != nil {
		return err
	}
	base, err := f.app(cmd)
	if err != nil {
		return err
	}
	demo, err := app.StartDemo(app.DemoOptions{Users: opts.Users, Groups: opts.Groups, ApproveAfter: opts.ApproveAfter,
		Latency: opts.Latency, Replication: opts.Replication}, base.Options())
	if err != nil {
		return err
	}
	defer demo.Close()
	g := f.Global
	backend := &ui.AppBackend{App: demo.App, ProfileFiles: files, FixedTenant: demo.Tenant, IsSimulated: true}
	return ui.Run(cmd.Context(), backend, ui.Options{In: f.In, Out: ui.RawWriter(f.ErrOut), NoColor: g.NoColor, Accessible: g.Accessible})
}
