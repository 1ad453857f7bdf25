package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TokenCache keeps the admin's sign-in token cache between runs. The cache
// is larger than the Windows (2560 bytes) and macOS keyrings accept, so it
// lives in a file encrypted with AES-256-GCM under a random key kept in the
// keyring. Losing either half only means signing in again.
type TokenCache struct {
	Path    string  // the encrypted file
	Secrets Secrets // holds the key
	KeyName string  // keyring item of the key; default "token-cache-key"
}

func (c *TokenCache) keyName() string {
	if c.KeyName != "" {
		return c.KeyName
	}
	return "token-cache-key"
}

// Load returns the decrypted cache, or nil when there is none yet or it can
// no longer be read (the key was removed or the file damaged).
func (c *TokenCache) Load() ([]byte, error) {
	sealed, err := os.ReadFile(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read token cache: %w", err)
	}
	key, err := c.key(false)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, nil
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(c.Path))
	if err != nil {
		return nil, nil // a cache that does not decrypt is as good as none
	}
	return plain, nil
}

// Save encrypts and writes the cache atomically with mode 0600.
func (c *TokenCache) Save(data []byte) error {
	key, err := c.key(true)
	if err != nil {
		return err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nonce, nonce, data, []byte(c.Path))
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return fmt.Errorf("save token cache: %w", err)
	}
	return WriteFileAtomic(c.Path, sealed)
}

// Clear removes the cache file and its key.
func (c *TokenCache) Clear() error {
	err := os.Remove(c.Path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return c.Secrets.Delete(c.keyName())
}

func (c *TokenCache) key(create bool) ([]byte, error) {
	enc, err := c.Secrets.Get(c.keyName())
	if err == nil {
		key, derr := base64.StdEncoding.DecodeString(enc)
		if derr == nil && len(key) == 32 {
			return key, nil
		}
	}
	if err != nil && (!errors.Is(err, ErrNotFound) || !create) {
		return nil, err
	}
	if !create {
		return nil, ErrNotFound
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := c.Secrets.Set(c.keyName(), base64.StdEncoding.EncodeToString(key)); err != nil {
		return nil, err
	}
	return key, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
