package hsm_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/hsm"
	"github.com/keygate/keygate/internal/hsm/softhsmtest"
)

// TestGenerateOpenSign makes RSA and EC key pairs inside a SoftHSM2 token,
// opens them again by URI (by label and by id) and checks their signatures
// with the standard library against the public key that came out.
func TestGenerateOpenSign(t *testing.T) {
	tok := softhsmtest.New(t, "keygate-test")
	opts := hsm.Options{}
	byID := "pkcs11:token=" + tok.Label + ";id=%AB%CD?module-path=" + softhsmtest.Module + "&pin-source=file:" + tok.PINFile
	for _, tc := range []struct {
		name, kind, curve string
		bits              int
		uri               string
	}{
		{"rsa", "rsa", "", 2048, tok.URI("client-rsa")},
		{"ec", "ec", "P-256", 0, tok.URI("client-ec")},
		{"ec P-384 by id, no label", "ec", "P-384", 0, byID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri := tc.uri
			gen, err := hsm.Generate(uri, opts, tc.kind, tc.bits, tc.curve)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			pub := gen.Public()
			if err := gen.Close(); err != nil {
				t.Fatal(err)
			}
			if err := gen.Close(); err != nil { // twice is harmless
				t.Fatal(err)
			}
			if _, err := hsm.Generate(uri, opts, tc.kind, tc.bits, tc.curve); !errors.Is(err, hsm.ErrExists) {
				t.Errorf("Generate again: got %v, want hsm.ErrExists", err)
			}
			key, err := hsm.Open(uri, opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer key.Close()
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Fatal("the opened key's public half is not the generated one")
			}
			digest := sha256.Sum256([]byte("signing input"))
			sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			switch p := pub.(type) {
			case *rsa.PublicKey:
				err = rsa.VerifyPKCS1v15(p, crypto.SHA256, digest[:], sig)
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(p, digest[:], sig) {
					err = errors.New("ecdsa.VerifyASN1 failed: the signature is not DER or not valid")
				}
			}
			if err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

// TestOpenErrors checks that each way of getting a URI wrong says which.
func TestOpenErrors(t *testing.T) {
	tok := softhsmtest.New(t, "keygate-errors")
	key, err := hsm.Generate(tok.URI("present"), hsm.Options{}, "ec", 0, "P-256")
	if err != nil {
		t.Fatal(err)
	}
	key.Close()
	wrongPIN := filepath.Join(tok.Dir, "wrong-pin")
	if err := os.WriteFile(wrongPIN, []byte("9999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "pkcs11:token=" + tok.Label + ";object=present?module-path=" + softhsmtest.Module
	tests := []struct {
		name    string
		uri     string
		opts    hsm.Options
		wantErr error
		want    string
	}{
		{"missing object", tok.URI("absent"), hsm.Options{}, hsm.ErrObject, `no key pair with object="absent"`},
		{"wrong PIN", base + "&pin-source=file:" + wrongPIN, hsm.Options{}, hsm.ErrPIN, "wrong PIN"},
		{"missing module", strings.Replace(tok.URI("present"), softhsmtest.Module, "/nonexistent/libpkcs11.so", 1), hsm.Options{}, hsm.ErrModule, "no such file"},
		{"not a module", strings.Replace(tok.URI("present"), softhsmtest.Module, tok.PINFile, 1), hsm.Options{}, hsm.ErrModule, "cannot be loaded"},
		{"missing token", strings.Replace(tok.URI("present"), "token="+tok.Label, "token=nope", 1), hsm.Options{}, hsm.ErrToken, `no token "nope"`},
		{"no PIN", base, hsm.Options{}, hsm.ErrPIN, "no PIN"},
		{"PIN file missing", base + "&pin-source=" + tok.Dir + "/none", hsm.Options{}, hsm.ErrPIN, "pin-source"},
		{"pin-value refused", base + "&pin-value=" + tok.PIN, hsm.Options{}, hsm.ErrURI, "--insecure"},
		{"pin-source env unset", base + "&pin-source=env:HSM_PIN", hsm.Options{Getenv: func(string) string { return "" }}, hsm.ErrPIN, "not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := hsm.Open(tt.uri, tt.opts)
			if err == nil {
				key.Close()
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %v containing %q", err, tt.wantErr, tt.want)
			}
			if strings.Contains(err.Error(), tok.PIN) || strings.Contains(err.Error(), "9999") {
				t.Errorf("the error shows a PIN: %v", err)
			}
		})
	}
	// The PIN can come from pin-value when allowed, and from the environment.
	for name, tc := range map[string]struct {
		uri  string
		opts hsm.Options
	}{
		"pin-value allowed": {base + "&pin-value=" + tok.PIN, hsm.Options{AllowPINValue: true}},
		"pin-source env":    {base + "&pin-source=env:HSM_PIN", hsm.Options{Getenv: func(string) string { return tok.PIN }}},
	} {
		key, err := hsm.Open(tc.uri, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		key.Close()
	}
}
