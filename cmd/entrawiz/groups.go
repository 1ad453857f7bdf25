package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// The groups commands run app-only with the connection's stored secret, as
// sync does: the permissions that let sync read the picked groups let the
// admin list and pick them, headless, with no device code to approve.

type groupsOptions struct {
	Connection string
	Search     string
	Top        int
	Next       string
	JSON       bool
	AllowEmpty bool
}

func newGroupsCmd(f *factory, runF func(opts *groupsOptions, pick []string) error) *cobra.Command {
	opts := &groupsOptions{}
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List and pick the groups whose users are synced",
		Long: `List the tenant's groups (searched on the server, one page at a time) and pick the
groups whose users — members at any depth of nesting — sync reads. Both run as the app,
with the client secret from the OS keyring.`,
		Args: usageArgs(cobra.NoArgs),
	}
	connectionFlags(cmd.PersistentFlags(), &opts.Connection, &opts.JSON)
	list := &cobra.Command{
		Use:     "list",
		Short:   "List groups, with their member counts",
		Example: "  entrawiz groups list --search sales\n  entrawiz groups list --json --top 50",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts, nil)
			}
			return f.jsonErrors(opts.JSON, groupsListRun(cmd, f, opts))
		},
	}
	list.Flags().StringVar(&opts.Search, "search", "", "only groups whose display name contains these words")
	list.Flags().IntVar(&opts.Top, "top", 25, "groups a page (1-999)")
	list.Flags().StringVar(&opts.Next, "next", "", "the next page: the nextLink of the previous --json output")
	pick := &cobra.Command{
		Use:   "pick ID...",
		Short: "Pick the groups to sync (replaces the previous pick)",
		Long: `Pick the groups whose users are synced; the pick replaces the previous one.

A group with no users is refused unless --allow-empty: a sync of it gives the
product no one and disables everyone synced from it before.

Where the profile allows extra groups (sync.extraGroups, as the password
manager's connector does), the groups after the sync group are extra groups:
they sync only members who are also in the sync group, and an empty one is not
synced. With a profile that syncs the group it creates, that group stays the
sync group and the IDs given are extra groups.`,
		Example: `  entrawiz groups pick 1b5e0c3f-...
  entrawiz groups pick 1b5e0c3f-... 9e84...          # the second is an extra group where the profile allows them
  entrawiz groups pick 1b5e0c3f-... --allow-empty    # the group is empty on purpose (filled later)`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts, args)
			}
			return f.jsonErrors(opts.JSON, groupsPickRun(cmd, f, opts, args))
		},
	}
	pick.Flags().BoolVar(&opts.AllowEmpty, "allow-empty", false, "pick a group that has no users yet")
	cmd.AddCommand(list, pick)
	return cmd
}

func groupsListRun(cmd *cobra.Command, f *factory, opts *groupsOptions) error {
	if opts.Top < 1 || opts.Top > 999 {
		return &app.InputError{Err: errors.New("--top must be between 1 and 999")}
	}
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	page, lines, err := a.ListGroups(cmd.Context(), opts.Connection, graphapi.GroupQuery{Search: opts.Search, Top: opts.Top, NextLink: opts.Next})
	if err != nil {
		return err
	}
	if opts.JSON {
		return f.writeJSON(map[string]any{"groups": lines, "count": page.Count, "nextLink": page.NextLink})
	}
	for _, l := range lines {
		mark := " "
		if l.Picked {
			mark = "*"
		}
		fmt.Fprintf(f.Out, "%s %s  %-40s %d users\n", mark, l.ID, store.EscapeControls(l.DisplayName), l.Users)
	}
	if page.NextLink != "" {
		fmt.Fprintf(f.ErrOut, "More groups: run again with --next '%s'\n", page.NextLink)
	}
	return nil
}

func groupsPickRun(cmd *cobra.Command, f *factory, opts *groupsOptions, ids []string) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	conn, picked, err := a.PickGroups(cmd.Context(), opts.Connection, ids, opts.AllowEmpty)
	if err != nil {
		return err
	}
	if opts.JSON {
		return f.writeJSON(map[string]any{"connection": conn.Name, "groups": picked})
	}
	for _, p := range picked {
		kind := ""
		if p.Extra {
			kind = "  (extra group: only members who are also in the sync group)"
		}
		fmt.Fprintf(f.Out, "picked %s  %s%s\n", p.ID, store.EscapeControls(p.DisplayName), kind)
	}
	return nil
}
