package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
)

type assignOptions struct {
	Connection string
	JSON       bool
	Members    bool
	Who        []string
}

func newAssignCmd(f *factory, runF func(*assignOptions) error) *cobra.Command {
	opts := &assignOptions{}
	cmd := &cobra.Command{
		Use:   "assign USER|GROUP...",
		Short: "Give users and groups access: assign them to the app, or add them to its group",
		Long: `Assign existing users and groups to the connection's enterprise app, as the portal's
Enterprise applications > Users and groups > Add assignment does, with the default
access role. Where the profile sets "assignment required", only assigned users — and
the direct members of assigned groups — can sign in: the members of a group nested in
an assigned group are not let in by it (assign that group too).

With --members, the users and groups are added instead as members of the group the
profile creates (for example the password manager's sync group).

Name each user by user principal name or object ID, each group by object ID or its
exact display name. Every name is looked up before anything is written. The admin
signs in with a device code. Running it again changes nothing that is already in
place, and one stopped half way is finished by the next run.`,
		Example: `  entrawiz assign megan@contoso.com "Legal AI Users"
  entrawiz assign 3f2b0c1e-9a4d-4e7b-8c55-0d1e2f3a4b5c --connection contoso.onmicrosoft.com/legal-ai
  entrawiz assign --members joni@contoso.com "Sales Team" --json`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Who = args
			if runF != nil {
				return runF(opts)
			}
			return f.jsonErrors(opts.JSON, assignRun(cmd, f, opts))
		},
	}
	connectionFlags(cmd.Flags(), &opts.Connection, &opts.JSON)
	cmd.Flags().BoolVar(&opts.Members, "members", false, "add them as members of the group the profile creates, instead of assigning them to the app")
	return cmd
}

func assignRun(cmd *cobra.Command, f *factory, opts *assignOptions) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	req := steps.PeopleRequest{Assign: opts.Who}
	if opts.Members {
		req = steps.PeopleRequest{Members: opts.Who}
	}
	rep := ui.NewLines(f.ErrOut)
	conn, err := a.GiveAccess(cmd.Context(), opts.Connection, req, f.showDeviceCode, rep.Report)
	if err != nil {
		return err
	}
	if opts.JSON {
		return f.writeJSON(map[string]any{"connection": conn.Name, "assigned": nonNilPrincipals(conn.State.Assigned),
			"members": nonNilPrincipals(conn.State.Members), "steps": rep.Steps})
	}
	what, list := "Assigned to the app", conn.State.Assigned
	if opts.Members {
		what, list = "Members added by entrawiz", conn.State.Members
	}
	fmt.Fprintf(f.Out, "%s (%s):\n", what, conn.Name)
	for _, p := range list {
		fmt.Fprintf(f.Out, "  %-5s %s  %s\n", p.Type, p.ID, store.EscapeControls(p.DisplayName))
	}
	return nil
}

func nonNilPrincipals(list []store.Principal) []store.Principal {
	if list == nil {
		return []store.Principal{}
	}
	return list
}
