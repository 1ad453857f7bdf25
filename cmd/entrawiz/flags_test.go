package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/store"
)

// TestFlagsMakeOptions parses each command's flags into its options, with
// the run function replaced (no tenant, no keyring), the cli/cli way.
func TestFlagsMakeOptions(t *testing.T) {
	var got any
	capture := func(o any) error { got = o; return nil }
	f := &factory{Global: &globalOptions{}, In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{},
		Secrets: func() store.Secrets { return store.NewMemKeyring() }, Now: time.Now}
	for _, tc := range []struct {
		cmd  *cobra.Command
		args []string
		want any
	}{
		{newSetupCmd(f, func(o *setupOptions) error { return capture(o) }),
			[]string{"--profile", "sso", "--tenant", "contoso.com", "--redirect-uri", "https://a.contoso.com/cb,https://b.contoso.com/cb", "--yes", "--json", "--deliver-cmd", "vendorctl set"},
			&setupOptions{Profile: "sso", Tenant: "contoso.com", RedirectURIs: []string{"https://a.contoso.com/cb", "https://b.contoso.com/cb"},
				Yes: true, JSON: true, DeliverCmd: "vendorctl set"}},
		{newRotateCmd(f, func(o *rotateOptions) error { return capture(o) }),
			[]string{"--connection", "c/p", "--if-expiring-within", "30d", "--remove-old-after", "7d", "--clean-up", "--remove", "a", "--remove", "b"},
			&rotateOptions{Connection: "c/p", IfExpiringWithin: "30d", RemoveOldAfter: "7d", CleanUp: true, Remove: []string{"a", "b"}}},
		{newSyncCmd(f, func(o *syncOptions) error { return capture(o) }),
			[]string{"--dry-run", "--full", "--every", "5m", "--allow-mass-disable", "--json"},
			&syncOptions{DryRun: true, Full: true, Every: 5 * time.Minute, AllowMassDisable: true, JSON: true}},
		{newStatusCmd(f, func(o *statusOptions) error { return capture(o) }), []string{"--json", "--connection", "x"},
			&statusOptions{Connection: "x", JSON: true, Within: "30d"}},
		{newTestCmd(f, func(o *testOptions) error { return capture(o) }), []string{"--json"}, &testOptions{JSON: true}},
		{newExportCmd(f, func(o *exportOptions) error { return capture(o) }), []string{"--format", "json"}, &exportOptions{Format: "json"}},
		{newResetCmd(f, func(o *resetOptions) error { return capture(o) }), []string{"--delete-app", "--yes"}, &resetOptions{DeleteApp: true, Yes: true}},
	} {
		got = nil
		tc.cmd.SetArgs(tc.args)
		tc.cmd.SetOut(&bytes.Buffer{})
		tc.cmd.SetErr(&bytes.Buffer{})
		if err := tc.cmd.Execute(); err != nil {
			t.Errorf("%s %v: %v", tc.cmd.Name(), tc.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v:\n got %+v\nwant %+v", tc.cmd.Name(), tc.args, got, tc.want)
		}
	}

	// groups pick gives its IDs; groups list its paging.
	var ids []string
	var gopts *groupsOptions
	g := newGroupsCmd(f, func(o *groupsOptions, pick []string) error { gopts, ids = o, pick; return nil })
	g.SetArgs([]string{"pick", "g1", "g2", "--connection", "c"})
	if err := g.Execute(); err != nil || !reflect.DeepEqual(ids, []string{"g1", "g2"}) || gopts.Connection != "c" {
		t.Errorf("groups pick: %v %v %+v", err, ids, gopts)
	}
	g.SetArgs([]string{"list", "--search", "sales", "--top", "50"})
	if err := g.Execute(); err != nil || ids != nil || gopts.Search != "sales" || gopts.Top != 50 {
		t.Errorf("groups list: %v %+v", err, gopts)
	}
}

// TestHeadlessNeedsItsFlags: without a terminal, a missing input is a usage
// error that names the flag, before anything runs.
func TestHeadlessNeedsItsFlags(t *testing.T) {
	f := &factory{Global: &globalOptions{}, In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	ran := false
	for _, tc := range []struct {
		cmd  *cobra.Command
		args []string
		flag string
	}{
		{newSetupCmd(f, func(*setupOptions) error { ran = true; return nil }), []string{"--tenant", "contoso.com", "--yes"}, "--profile"},
		{newSetupCmd(f, func(*setupOptions) error { ran = true; return nil }), []string{"--profile", "sso", "--tenant", "contoso.com"}, "--yes"},
		{newSetupCmd(f, func(*setupOptions) error { ran = true; return nil }), []string{"--profile", "sso", "--tenant", "contoso.com", "--manual"}, "--client-id"},
		{newResetCmd(f, func(*resetOptions) error { ran = true; return nil }), nil, "--yes"},
	} {
		tc.cmd.SetArgs(tc.args)
		tc.cmd.SetOut(&bytes.Buffer{})
		tc.cmd.SetErr(&bytes.Buffer{})
		err := tc.cmd.Execute()
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tc.flag) || ran {
			t.Errorf("%s %v: %v (exit %d, ran %v), want a usage error naming %s", tc.cmd.Name(), tc.args, err, exitCode(err), ran, tc.flag)
		}
	}
}
