package store

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// pkcs8PEM is a new private key as a PEM PKCS#8 block, the form a
// certificate credential's key would be kept in.
func pkcs8PEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// macOSSetLine is the line go-keyring's darwin Set writes to `security -i`
// (keyring_darwin.go in go-keyring v0.2.8), which it refuses above 4,096
// bytes. Every argument is taken as quoted, the longest shellescape makes of
// a string without a quote in it.
func macOSSetLine(service, name, value string) string {
	q := func(s string) string { return "'" + s + "'" }
	v := "go-keyring-base64:" + base64.StdEncoding.EncodeToString([]byte(value))
	return "add-generic-password -U -s " + q(service) + " -a " + q(name) + " -w " + q(v) + "\n"
}

// TestKeyringItemsFitEveryOS checks every kind of item entrawiz keeps in
// the keyring, and a certificate's private key that a future credential
// would keep, against Windows' 2,560-byte limit, and the longest name and
// value together against the macOS `security` line.
func TestKeyringItemsFitEveryOS(t *testing.T) {
	kr := NewMemKeyring()
	tc := &TokenCache{Path: filepath.Join(t.TempDir(), "cache.bin"), Secrets: kr}
	if err := tc.Save([]byte(strings.Repeat("a big token cache ", 2000))); err != nil {
		t.Fatalf("token cache: %v", err)
	}
	cacheKey, err := kr.Get(tc.keyName())
	if err != nil {
		t.Fatal(err)
	}
	// The longest item name: "client-secret/<domain>/<profile>/<key ID>"
	// with a 253-byte domain (DNS's limit), a 100-byte profile name and a
	// GUID.
	longName := "client-secret/" + strings.Repeat("d", 253) + "/" + strings.Repeat("p", 100) + "/00000000-0000-0000-0000-000000000000"

	for _, tc := range []struct {
		name, value string
		fits        bool
	}{
		{"client secret from Entra (40 characters)", strings.Repeat("x", 40), true},
		{"client secret entered by hand (128 at most)", strings.Repeat("x", 128), true},
		{"token cache key", cacheKey, true},
		{"keyring write check", strings.Repeat("0", 24), true},
		{"RSA-2048 private key (PEM PKCS#8)", pkcs8PEM(t, rsaKey(t, 2048)), true},
		{"RSA-3072 private key (PEM PKCS#8)", pkcs8PEM(t, rsaKey(t, 3072)), true},
		{"EC P-256 private key", pkcs8PEM(t, ecKey(t, elliptic.P256())), true},
		{"EC P-521 private key", pkcs8PEM(t, ecKey(t, elliptic.P521())), true},
		{"exactly the limit", strings.Repeat("x", MaxSecretBytes), true},
		{"RSA-4096 private key: too big, keep it in an encrypted file", pkcs8PEM(t, rsaKey(t, 4096)), false},
		{"one byte over", strings.Repeat("x", MaxSecretBytes+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewMemKeyring().Set(longName, tc.value)
			var tb *TooBigError
			switch {
			case tc.fits && err != nil:
				t.Fatalf("%d bytes refused: %v", len(tc.value), err)
			case !tc.fits && !errors.As(err, &tb):
				t.Fatalf("%d bytes: err = %v, want a *TooBigError", len(tc.value), err)
			case !tc.fits && strings.Contains(err.Error(), tc.value):
				t.Fatalf("the error repeats the value")
			}
			if tc.fits {
				if line := macOSSetLine(KeyringService, longName, tc.value); len(line) > 4096 {
					t.Fatalf("the macOS security line would be %d bytes, over 4096", len(line))
				}
			}
		})
	}
}

// TestKeyringRefusesTooBigBeforeAsking checks that the OS keyring refuses an
// oversized value or name itself, on every platform, with an error that says
// what is wrong and never holds the value.
func TestKeyringRefusesTooBigBeforeAsking(t *testing.T) {
	value := strings.Repeat("s", MaxSecretBytes+1)
	for _, tc := range []struct{ name, value, what string }{
		{"entrawiz-test-too-big", value, "value"},
		{strings.Repeat("n", MaxKeyringNameBytes+1), "small", "name"},
	} {
		// A keyring that would hang shows that the size is checked first.
		err := OSKeyring{Timeout: 1}.Set(tc.name, tc.value)
		var tb *TooBigError
		if !errors.As(err, &tb) || tb.What != tc.what {
			t.Fatalf("Set with a too big %s: %v, want *TooBigError for the %s", tc.what, err, tc.what)
		}
		if strings.Contains(err.Error(), value) || !strings.Contains(err.Error(), "2560") && tc.what == "value" {
			t.Fatalf("message: %v", err)
		}
	}
}
