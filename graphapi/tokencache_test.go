package graphapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/store"
)

// memBlob is a CacheBlob in memory that counts saves and can fail, as a
// locked keyring makes store.TokenCache fail.
type memBlob struct {
	mu      sync.Mutex
	data    []byte
	saves   int
	loadErr error
	saveErr error
}

func (m *memBlob) Load() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loadErr != nil {
		return nil, m.loadErr
	}
	return bytes.Clone(m.data), nil
}

func (m *memBlob) Save(b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saveErr != nil {
		return m.saveErr
	}
	m.data, m.saves = bytes.Clone(b), m.saves+1
	return nil
}

func (m *memBlob) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// recordingBlob passes through to a CacheBlob and keeps the last plain
// cache it was given, so a test can read the tokens in it.
type recordingBlob struct {
	graphapi.CacheBlob
	mu    sync.Mutex
	plain []byte
}

func (r *recordingBlob) Save(b []byte) error {
	r.mu.Lock()
	r.plain = bytes.Clone(b)
	r.mu.Unlock()
	return r.CacheBlob.Save(b)
}

func isDeviceCode(r sim.LoggedRequest) bool {
	return strings.HasSuffix(r.Path, "/devicecode") || strings.HasSuffix(r.Grant, "device_code")
}

func TestPersistentCacheSharedBySecondRun(t *testing.T) {
	srv := startSim(t, sim.Options{})
	info := srv.Info()
	blob := &memBlob{}

	firstCache := graphapi.NewPersistentCache(blob)
	first := newAdmin(t, srv, firstCache, nil)
	signIn(t, srv, first, info.AdminUPN)
	if err := firstCache.Err(); err != nil {
		t.Fatalf("first run cache: %v", err)
	}
	if blob.Saves() != 1 {
		t.Fatalf("saves after device-code sign-in = %d, want 1", blob.Saves())
	}

	srv.ResetRequests()
	secondCache := graphapi.NewPersistentCache(blob)
	second := newAdmin(t, srv, secondCache, nil) // a later run of the program
	id, err := second.SignInSilent(ctxT(t))
	if err != nil {
		t.Fatalf("silent: %v", err)
	}
	if !strings.EqualFold(id.UPN, info.AdminUPN) {
		t.Fatalf("silent identity %+v", id)
	}
	if _, err := second.AccessToken(ctxT(t)); err != nil {
		t.Fatalf("access token: %v", err)
	}
	if n := countRequests(srv, isDeviceCode); n != 0 {
		t.Errorf("silent sign-in made %d device-code requests", n)
	}
	if n := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Service == "login" && r.Grant != "" }); n != 0 {
		t.Errorf("silent sign-in with a valid access token made %d token requests", n)
	}
	if blob.Saves() != 1 || secondCache.Err() != nil {
		t.Errorf("unchanged cache: saves = %d, err = %v; want 1, nil", blob.Saves(), secondCache.Err())
	}
}

func TestPersistentCacheFailingStorageKeepsSignIn(t *testing.T) {
	srv := startSim(t, sim.Options{})
	info := srv.Info()
	locked := errors.New("keyring locked")
	tests := []struct {
		name string
		blob *memBlob
	}{
		{name: "save fails", blob: &memBlob{saveErr: locked}},
		{name: "load and save fail", blob: &memBlob{loadErr: locked, saveErr: locked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := graphapi.NewPersistentCache(tt.blob)
			a := newAdmin(t, srv, pc, nil)
			signIn(t, srv, a, info.AdminUPN) // fails the test if the sign-in is lost
			if _, err := a.AccessToken(ctxT(t)); err != nil {
				t.Fatalf("access token after failed save: %v", err)
			}
			tt.blob.mu.Lock()
			tt.blob.loadErr = nil // the keyring answers reads again; the save error must still show
			tt.blob.mu.Unlock()
			if _, err := a.SignInSilent(ctxT(t)); err != nil {
				t.Fatalf("silent in the same run: %v", err)
			}
			err := pc.Err()
			if !errors.Is(err, locked) || !strings.Contains(err.Error(), "token cache") {
				t.Fatalf("Err() = %v, want wrapped %v", err, locked)
			}
			// Nothing was remembered: the next run must sign in again.
			next := newAdmin(t, srv, graphapi.NewPersistentCache(&memBlob{}), nil)
			if _, err := next.SignInSilent(ctxT(t)); !graphapi.IsKind(err, graphapi.KindSignInRequired) {
				t.Fatalf("next run: want KindSignInRequired, got %v", err)
			}
		})
	}
}

// fakeMarshaler stands in for MSAL's cache in the adapter's own rules.
type fakeMarshaler struct {
	data      []byte
	loaded    []byte
	unmarshal error
}

func (f *fakeMarshaler) Marshal() ([]byte, error) { return f.data, nil }
func (f *fakeMarshaler) Unmarshal(b []byte) error {
	if f.unmarshal != nil {
		return f.unmarshal
	}
	f.loaded = b
	return nil
}

func TestPersistentCacheSavesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	blob := &memBlob{data: []byte(`{"a":1}`)}
	pc := graphapi.NewPersistentCache(blob)
	m := &fakeMarshaler{data: []byte(`{"a":1}`)}
	steps := []struct {
		name      string
		do        func() error
		wantSaves int
	}{
		{"replace loads the blob", func() error { return pc.Replace(ctx, m, cache.ReplaceHints{}) }, 0},
		{"export unchanged", func() error { return pc.Export(ctx, m, cache.ExportHints{}) }, 0},
		{"export changed", func() error { m.data = []byte(`{"a":2}`); return pc.Export(ctx, m, cache.ExportHints{}) }, 1},
		{"export unchanged again", func() error { return pc.Export(ctx, m, cache.ExportHints{}) }, 1},
		{"damaged blob is ignored", func() error {
			m.unmarshal = errors.New("bad json")
			return pc.Replace(ctx, m, cache.ReplaceHints{})
		}, 1},
		{"export after damaged load saves", func() error { return pc.Export(ctx, m, cache.ExportHints{}) }, 2},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := blob.Saves(); got != s.wantSaves {
			t.Fatalf("%s: saves = %d, want %d", s.name, got, s.wantSaves)
		}
	}
	if string(m.loaded) != `{"a":1}` {
		t.Errorf("Replace gave MSAL %q", m.loaded)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := pc.Replace(canceled, m, cache.ReplaceHints{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Replace with canceled ctx = %v", err)
	}
}

func TestPersistentCacheFileHoldsNoTokenInClear(t *testing.T) {
	srv := startSim(t, sim.Options{})
	path := filepath.Join(t.TempDir(), "tokens.bin")
	rec := &recordingBlob{CacheBlob: &store.TokenCache{Path: path, Secrets: store.NewMemKeyring()}}
	pc := graphapi.NewPersistentCache(rec)
	a := newAdmin(t, srv, pc, nil)
	signIn(t, srv, a, srv.Info().AdminUPN)
	if err := pc.Err(); err != nil {
		t.Fatalf("cache: %v", err)
	}
	access, err := a.AccessToken(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}

	// MSAL's cache format: {"RefreshToken": {key: {"secret": ...}}, ...}.
	var plain map[string]map[string]struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(rec.plain, &plain); err != nil {
		t.Fatalf("plain cache: %v", err)
	}
	secrets := []string{access}
	for _, kind := range []string{"RefreshToken", "AccessToken"} {
		for _, item := range plain[kind] {
			secrets = append(secrets, item.Secret)
		}
	}
	if len(plain["RefreshToken"]) == 0 {
		t.Fatal("the signed-in cache holds no refresh token")
	}

	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s == "" || bytes.Contains(onDisk, []byte(s)) {
			t.Errorf("token file holds a token in clear (or an empty secret): %.12q...", s)
		}
	}
	lower := bytes.ToLower(onDisk)
	for _, key := range []string{`"secret"`, "refresh", "accesstoken", "idtoken"} {
		if bytes.Contains(lower, []byte(key)) {
			t.Errorf("token file holds %s in clear", key)
		}
	}

	// The same file and key, read back, sign the next run in.
	next := newAdmin(t, srv, graphapi.NewPersistentCache(rec.CacheBlob), nil)
	if _, err := next.SignInSilent(ctxT(t)); err != nil {
		t.Fatalf("silent from the file: %v", err)
	}
}
