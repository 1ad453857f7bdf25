package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// caPeekWriter keeps what the command prints and, when it prints, reads the
// CA file it names: the sim removes its temporary directory when it stops.
type caPeekWriter struct {
	bytes.Buffer
	caPEM []byte
	caErr error
}

func (w *caPeekWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	var info struct {
		CAFile string `json:"ca_file"`
	}
	if json.Unmarshal(bytes.TrimSpace(w.Bytes()), &info) == nil && info.CAFile != "" {
		w.caPEM, w.caErr = os.ReadFile(info.CAFile)
	}
	return n, err
}

// runSim runs `entrawiz sim args` to the printed line, without serving on.
func runSim(t *testing.T, out io.Writer, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := newSimCmd(ctx, func(ctx context.Context, opts *simOptions) error {
		opts.Wait = false
		return simRun(ctx, opts)
	})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as under the root command
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(io.Discard)
	return cmd.ExecuteContext(ctx)
}

func TestSimPrintsOneJSONLine(t *testing.T) {
	out := &caPeekWriter{}
	if err := runSim(t, out, "--users", "1000", "--groups", "20"); err != nil {
		t.Fatalf("sim: %v", err)
	}
	text := out.String()
	if !strings.HasSuffix(text, "\n") || strings.Count(text, "\n") != 1 {
		t.Fatalf("want exactly one line, got %q", text)
	}
	var info map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("not JSON: %v: %q", err, text)
	}
	for _, key := range []string{"login_url", "graph_url", "tenant_id", "tenant_domain", "ca_file",
		"admin_upn", "user_upn", "control_url"} {
		v, ok := info[key].(string)
		if !ok || v == "" {
			t.Errorf("%s = %#v, want a non-empty string", key, info[key])
		}
	}
	for _, key := range []string{"login_url", "graph_url", "control_url"} {
		if v, _ := info[key].(string); !strings.HasPrefix(v, "https://127.0.0.1:") {
			t.Errorf("%s = %q, want https on loopback", key, v)
		}
	}

	if out.caErr != nil {
		t.Fatalf("read ca_file while the sim ran: %v", out.caErr)
	}
	block, rest := pem.Decode(out.caPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("ca_file is not one PEM certificate: %q", out.caPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("ca_file certificate: %v", err)
	}
	if !cert.IsCA {
		t.Errorf("ca_file certificate is not a CA")
	}
}

func TestSimCAFileInCADir(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runSim(t, &out, "--users", "10", "--groups", "1", "--ca-dir", dir); err != nil {
		t.Fatalf("sim: %v", err)
	}
	var info struct {
		CAFile string `json:"ca_file"`
	}
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.CAFile, dir) {
		t.Fatalf("ca_file %q not in --ca-dir %q", info.CAFile, dir)
	}
	data, err := os.ReadFile(info.CAFile) // a directory the admin chose is left in place
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(data); block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("ca_file is not a PEM certificate")
	}
}

func TestSimUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad approve", []string{"--approve", "sometimes"}, "--approve"},
		{"negative users", []string{"--users", "-1"}, "negative"},
		{"negative groups", []string{"--groups", "-5"}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runSim(t, &out, tt.args...)
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("exit code = %d (%v), want %d", code, err, exitUsage)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on a usage error", out.String())
			}
		})
	}
}

func TestSimFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *simOptions)
	}{
		{"defaults", nil, func(t *testing.T, o *simOptions) {
			s := o.Sim
			if s.Users != 1000 || s.Groups != 50 || s.Seed != 1 || s.TenantName != "contoso" || s.Approve != "manual" ||
				s.Addr != "127.0.0.1" || s.CADir != "" || s.Faults.RetryAfter != time.Second || !o.Wait {
				t.Errorf("defaults: %+v wait=%v", s, o.Wait)
			}
		}},
		{"sizes and approval", []string{"--users", "100000", "--groups", "500", "--seed", "7", "--tenant-name", "fabrikam",
			"--approve", "auto", "--approve-after", "2s"}, func(t *testing.T, o *simOptions) {
			s := o.Sim
			if s.Users != 100000 || s.Groups != 500 || s.Seed != 7 || s.TenantName != "fabrikam" || s.Approve != "auto" ||
				s.ApproveAfter != 2*time.Second {
				t.Errorf("got %+v", s)
			}
		}},
		{"faults", []string{"--latency", "50ms", "--throttle-every", "3", "--retry-after", "5s", "--server-error-every", "4",
			"--replication-delay", "5s", "--reference-delay", "1s", "--block-device-code", "--delta-token-ttl", "1h",
			"--token-lifetime", "1m"}, func(t *testing.T, o *simOptions) {
			f := o.Sim.Faults
			if f.Latency != 50*time.Millisecond || f.ThrottleEvery != 3 || f.RetryAfter != 5*time.Second ||
				f.ServerErrorEvery != 4 || f.ReplicationDelay != 5*time.Second || f.ReferenceDelay != time.Second ||
				!f.BlockDeviceCode || f.DeltaTokenTTL != time.Hour || f.TokenLifetime != time.Minute {
				t.Errorf("got %+v", f)
			}
		}},
		{"listen and CA", []string{"--addr", "0.0.0.0", "--ca-dir", "/tmp/ca"}, func(t *testing.T, o *simOptions) {
			if o.Sim.Addr != "0.0.0.0" || o.Sim.CADir != "/tmp/ca" {
				t.Errorf("got %+v", o.Sim)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *simOptions
			cmd := newSimCmd(context.Background(), func(_ context.Context, o *simOptions) error {
				got = o
				return nil
			})
			var out bytes.Buffer
			cmd.SetArgs(tt.args)
			cmd.SetOut(&out)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got == nil {
				t.Fatal("run function not called")
			}
			if got.Out != &out {
				t.Errorf("Out is not the command's output")
			}
			tt.check(t, got)
		})
	}
}

func TestSimFlagErrorsAreUsageErrors(t *testing.T) {
	tests := [][]string{
		{"sim", "--users", "many"},
		{"sim", "--latency", "soon"},
		{"sim", "--no-such-flag"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			root := newRootCmd(context.Background(), newFactory())
			root.SetArgs(args)
			root.SetOut(io.Discard)
			root.SetErr(io.Discard)
			err := root.Execute()
			if code := exitCode(err); code != exitUsage {
				t.Errorf("exit code = %d (%v), want %d", code, err, exitUsage)
			}
		})
	}
}
