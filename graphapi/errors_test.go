package graphapi_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// tokenFunc is a TokenSource from a function.
type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) AccessToken(ctx context.Context) (string, error) { return f(ctx) }

func TestClassifyRealFailures(t *testing.T) {
	srv := startSim(t, sim.Options{})
	info := srv.Info()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()

	startWith := func(t *testing.T, c graphapi.Cloud, ctx context.Context) error {
		a, err := graphapi.NewAdmin(graphapi.AdminOptions{Cloud: c, Tenant: info.TenantID})
		if err != nil {
			return err
		}
		_, err = a.StartDeviceCode(ctx)
		return err
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name     string
		run      func(t *testing.T) error
		kind     graphapi.Kind
		code     string
		contains string // in the remedy
	}{
		{name: "untrusted TLS certificate", kind: graphapi.KindNetwork, code: "tls", contains: "--ca-file",
			run: func(t *testing.T) error {
				c, _ := graphapi.NewCloud("", info.LoginURL, info.GraphURL, "") // no --ca-file
				return startWith(t, c, ctxT(t))
			}},
		{name: "nothing listening", kind: graphapi.KindNetwork, code: "network", contains: "network",
			run: func(t *testing.T) error {
				c, _ := graphapi.NewCloud("", "https://"+deadAddr, info.GraphURL, info.CAFile)
				return startWith(t, c, ctxT(t))
			}},
		{name: "canceled", kind: graphapi.KindCanceled, code: "canceled",
			run: func(t *testing.T) error { return startWith(t, srv.cloud, canceled) }},
		{name: "waiting for approval times out", kind: graphapi.KindCanceled, code: "deadline_exceeded",
			run: func(t *testing.T) error {
				a := newAdmin(t, srv, nil, nil)
				dc, err := a.StartDeviceCode(ctxT(t))
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				_, err = dc.Wait(ctx)
				return err
			}},
		{name: "Graph refuses the token", kind: graphapi.KindSignInRequired, code: "InvalidAuthenticationToken", contains: "sign in again",
			run: func(t *testing.T) error {
				c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc,
					Tokens: tokenFunc(func(context.Context) (string, error) { return "not-a-token", nil })})
				if err != nil {
					return err
				}
				_, err = c.Me(ctxT(t))
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantKind(t, tt.run(t), tt.kind, tt.code)
			if !strings.Contains(strings.ToLower(e.Remedy), strings.ToLower(tt.contains)) {
				t.Errorf("remedy %q lacks %q", e.Remedy, tt.contains)
			}
			if strings.Contains(e.Error(), "not-a-token") {
				t.Errorf("error holds the token: %v", e)
			}
		})
	}
}

func TestErrorShape(t *testing.T) {
	e := &graphapi.Error{Kind: graphapi.KindForbidden, Op: "grant app roles", Code: "Authorization_RequestDenied", Status: 403,
		RequestID: "abc", Message: "Insufficient privileges to complete the operation.", Remedy: "Ask a Global Administrator."}
	want := "grant app roles: forbidden: Insufficient privileges to complete the operation. (Authorization_RequestDenied, HTTP 403, request-id abc)"
	if e.Error() != want {
		t.Fatalf("Error() = %q", e.Error())
	}
	wrapped := errors.Join(errors.New("step failed"), e)
	if !errors.Is(wrapped, &graphapi.Error{Kind: graphapi.KindForbidden}) || errors.Is(wrapped, &graphapi.Error{Kind: graphapi.KindNotFound}) {
		t.Fatal("errors.Is by kind")
	}
	if !graphapi.IsKind(wrapped, graphapi.KindThrottled, graphapi.KindForbidden) || graphapi.IsKind(nil, graphapi.KindForbidden) {
		t.Fatal("IsKind")
	}
	if graphapi.Classify(nil) != nil {
		t.Fatal("Classify(nil) != nil")
	}
	for k := graphapi.KindUnknown; k <= graphapi.KindCanceled; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "kind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
}
