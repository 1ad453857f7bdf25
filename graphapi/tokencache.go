package graphapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// CacheBlob is where the admin's token cache is kept between runs, as one
// opaque blob; store.TokenCache (an encrypted file) is one. Load returns nil
// when nothing is saved yet.
type CacheBlob interface {
	Load() ([]byte, error)
	Save([]byte) error
}

// PersistentCache is an MSAL token cache (cache.ExportReplace, for
// AdminOptions.Cache) kept in a CacheBlob.
//
// Failing storage never fails a sign-in. MSAL returns no token at all when
// Export fails, even though the token service has already issued it and the
// admin has already approved the code, and it calls Replace before writing
// a new token as well. So Replace and Export report a failure to load,
// parse, marshal or save to MSAL as success, leave MSAL's in-memory cache
// as it is (this run stays signed in), and keep the error, wrapped, for
// Err: the caller can then tell the admin that the sign-in will not be
// remembered, and why (a locked keyring, say). The only cost is signing in
// again next run.
type PersistentCache struct {
	blob CacheBlob

	mu      sync.Mutex
	last    []byte // what the blob holds, as last loaded or saved
	loadErr error  // of the last Replace
	saveErr error  // of the last Export that had something to save
}

var _ cache.ExportReplace = (*PersistentCache)(nil)

// NewPersistentCache returns an MSAL token cache kept in b.
func NewPersistentCache(b CacheBlob) *PersistentCache {
	return &PersistentCache{blob: b}
}

// Replace loads the saved cache into MSAL. With nothing saved, or when the
// blob cannot be read or parsed, MSAL keeps the tokens it has in memory.
func (p *PersistentCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock() // MSAL may call Replace concurrently (under its read lock)
	data, err := p.blob.Load()
	if err != nil {
		p.last, p.loadErr = nil, fmt.Errorf("load token cache: %w", err)
		return nil
	}
	if len(data) == 0 {
		p.last, p.loadErr = nil, nil
		return nil
	}
	if err := u.Unmarshal(data); err != nil {
		p.last, p.loadErr = nil, fmt.Errorf("load token cache: %w", err)
		return nil // a damaged cache is as good as none
	}
	p.last, p.loadErr = data, nil
	return nil
}

// Export saves MSAL's cache when it differs from what the blob holds. It
// ignores ctx: by the time MSAL exports, the token has been issued.
func (p *PersistentCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	data, err := m.Marshal()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.saveErr = fmt.Errorf("save token cache: %w", err)
		return nil
	}
	if p.last != nil && bytes.Equal(data, p.last) {
		return nil
	}
	if err := p.blob.Save(data); err != nil {
		p.saveErr = fmt.Errorf("save token cache: %w", err)
		return nil
	}
	p.last, p.saveErr = data, nil
	return nil
}

// Err returns why the cache could not be loaded, or saved, the last time
// each was tried, or nil when both worked. Check it after a sign-in: a
// save error means the next run will have to sign in again.
func (p *PersistentCache) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.loadErr, p.saveErr)
}
