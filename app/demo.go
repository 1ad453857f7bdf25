package app

import (
	"fmt"
	"os"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/store"
)

// DemoOptions shape the simulated tenant of `entrawiz demo`.
type DemoOptions struct {
	Users, Groups int
	// ApproveAfter approves the device code by itself after this long.
	ApproveAfter time.Duration
	Latency      time.Duration // on every request
	Replication  time.Duration // how long new objects take to replicate
}

// Demo is an App on a simulated tenant started in this process, with a
// temporary config directory and an in-memory secret store: nothing
// touches Azure, the OS keyring or the admin's config.
type Demo struct {
	*App
	Tenant string // the simulated tenant's domain
	srv    *sim.Server
	dir    string
}

// StartDemo starts the simulated tenant and the App on it; o gives what
// the demo does not replace (backoff, trace, clock).
func StartDemo(d DemoOptions, o Options) (*Demo, error) {
	dir, err := os.MkdirTemp("", "entrawiz-demo-")
	if err != nil {
		return nil, err
	}
	srv, err := sim.Start(sim.Options{Seed: 1, Users: d.Users, Groups: d.Groups, TenantName: "contoso",
		Approve: "auto", ApproveAfter: d.ApproveAfter, CADir: dir,
		Faults: sim.Faults{Latency: d.Latency, ReplicationDelay: d.Replication, ReferenceDelay: d.Replication / 2}})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start the simulated tenant: %w", err)
	}
	info := srv.Info()
	o.ConfigDir, o.Secrets = dir, store.NewMemKeyring()
	o.AllowPlaceholders = true // the demo's profiles keep their placeholder callbacks
	o.Cloud, o.LoginURL, o.GraphURL, o.CAFile = "public", info.LoginURL, info.GraphURL, info.CAFile
	a, err := New(o)
	if err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &Demo{App: a, Tenant: info.TenantDomain, srv: srv, dir: dir}, nil
}

// Close stops the simulated tenant and removes the demo's files.
func (d *Demo) Close() {
	d.srv.Close()
	os.RemoveAll(d.dir)
}
