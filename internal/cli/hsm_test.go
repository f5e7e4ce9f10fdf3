package cli

import (
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/hsm"
	"github.com/keygate/keygate/internal/hsm/softhsmtest"
	"github.com/keygate/keygate/internal/token"
)

// TestHSMSeedClientSide runs the seed's client steps with the key inside a
// SoftHSM2 token: keys generate --pkcs11 (only the public key comes out),
// keygate jwk of the URI for the deployment, token sign with the URI,
// openssl verifying the signature over header.payload with the public key
// file, and a call through a running gateway → 200. RSA and EC P-256.
func TestHSMSeedClientSide(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		alg  string
	}{
		{"rsa", []string{"--type", "rsa"}, "RS256"},
		{"ec", []string{"--type", "ec", "--curve", "P-256"}, "ES256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := softhsmtest.New(t, "seed-"+tc.name)
			uri := tok.URI("client")
			dir := t.TempDir()
			out, errOut, code := runCLI(t, "", append([]string{"keys", "generate", "--pkcs11", uri, "--out", filepath.Join(dir, "client")}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("keys generate --pkcs11: exit %d\n%s", code, errOut)
			}
			if out != "" || strings.Contains(errOut, "PRIVATE") {
				t.Errorf("keys generate --pkcs11 printed %q on stdout and %q on stderr; want only messages", out, errOut)
			}
			if _, err := os.Stat(filepath.Join(dir, "client.key")); err == nil {
				t.Error("keys generate --pkcs11 wrote a private key file")
			}
			// openssl reads the public key that came out.
			openssl(t, dir, "pkey", "-pubin", "-in", "client.pub", "-noout")

			var key map[string]any
			if err := json.Unmarshal([]byte(mustCLI(t, "jwk", "--oci", "--kid", "suitable_name", uri)), &key); err != nil {
				t.Fatal(err)
			}
			fromFile := decodeJWK(t, mustCLI(t, "jwk", "--oci", "--kid", "suitable_name", filepath.Join(dir, "client.pub")))
			if key["x"] != fromFile["x"] || key["n"] != fromFile["n"] || key["alg"] != tc.alg {
				t.Fatalf("jwk of the URI %v differs from jwk of client.pub %v (want alg %s)", key, fromFile, tc.alg)
			}

			jwt := strings.TrimSpace(mustCLI(t, "token", "sign", "--key", uri, "--kid", "suitable_name",
				"--iss", "suitable_issuer", "--aud", "suitable_audience", "--sub", "suitable_subject", "--scope", "Desired_scopes"))
			opensslVerifiesJWS(t, dir, "client.pub", jwt, tc.alg)

			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "backend reached")
			}))
			defer backend.Close()
			base, logs := startServe(t, "--spec", writeSeedSpec(t, dir, key, backend.URL), "--path-prefix", "/test3", "--listen", "127.0.0.1:0")
			status, body := post(t, base+"/test3/1", "", map[string]string{"Authorization": "Bearer " + jwt})
			if status != http.StatusOK || body != "backend reached" {
				t.Fatalf("got %d %q, want 200 from the backend\n%s", status, body, logs.String())
			}
		})
	}
}

// opensslVerifiesJWS has openssl check a compact JWS's signature over
// header.payload with the public key in pubFile. A JWS ES* signature is
// R || S; openssl takes DER, so the test re-encodes it itself, and checks
// the length first (a DER signature left in the token would fail there).
// PS* is checked with openssl's PSS padding and a salt of the hash's length.
func opensslVerifiesJWS(t *testing.T, dir, pubFile, jwt, alg string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	bits := alg[2:]
	if alg[:2] == "ES" {
		size := map[string]int{"256": 32, "384": 48, "512": 66}[bits]
		if len(sig) != 2*size {
			t.Fatalf("%s signature is %d bytes, want %d (R || S)", alg, len(sig), 2*size)
		}
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])})
		if err != nil {
			t.Fatal(err)
		}
		sig = der
	}
	if err := os.WriteFile(filepath.Join(dir, "input"), []byte(parts[0]+"."+parts[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sig"), sig, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"dgst", "-sha" + bits, "-verify", pubFile, "-signature", "sig"}
	if alg[:2] == "PS" {
		// RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
		args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest")
	}
	if out := openssl(t, dir, append(args, "input")...); !strings.Contains(out, "Verified OK") {
		t.Errorf("openssl dgst -verify: %s", out)
	}
}

// TestHSMErrors checks what the client commands say when the URI is wrong:
// a wrong PIN, a missing object, a missing module, a pin-value without
// --insecure; none of them prints the PIN.
func TestHSMErrors(t *testing.T) {
	tok := softhsmtest.New(t, "errors")
	uri := tok.URI("client")
	mustCLI(t, "keys", "generate", "--type", "ec", "--pkcs11", uri)
	wrongPIN := filepath.Join(tok.Dir, "wrong")
	if err := os.WriteFile(wrongPIN, []byte("0000"), 0o600); err != nil {
		t.Fatal(err)
	}
	pinValue := strings.Replace(uri, "pin-source=file:"+tok.PINFile, "pin-value="+tok.PIN, 1)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong PIN", []string{"token", "sign", "--key", strings.Replace(uri, tok.PINFile, wrongPIN, 1), "--iss", "i", "--aud", "a"}, exitFail, "wrong PIN"},
		{"missing object", []string{"token", "sign", "--key", tok.URI("nope"), "--iss", "i", "--aud", "a"}, exitFail, `no key pair with object="nope"`},
		{"missing module", []string{"jwk", strings.Replace(uri, softhsmtest.Module, "/usr/lib/none/libnone.so", 1)}, exitFail, "module-path /usr/lib/none/libnone.so: no such file"},
		{"missing token", []string{"jwk", strings.Replace(uri, "token=errors", "token=other", 1)}, exitFail, `no token "other"`},
		{"pin-value without --insecure", []string{"token", "sign", "--key", pinValue, "--iss", "i", "--aud", "a"}, exitFail, "allow it with --insecure"},
		{"bad URI", []string{"jwk", "pkcs11:object=client"}, exitFail, "no token selected"},
		{"generate over an existing key", []string{"keys", "generate", "--type", "ec", "--pkcs11", uri}, exitFail, "already holds a key"},
		{"generate ed25519", []string{"keys", "generate", "--type", "ed25519", "--pkcs11", uri}, exitUsage, "rsa or ec"},
		{"generate --force", []string{"keys", "generate", "--force", "--pkcs11", uri}, exitUsage, "never replaces a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
			if out != "" || strings.Contains(errOut, "pin-value="+tok.PIN) {
				t.Errorf("stdout %q, stderr %q: want nothing on stdout and no PIN", out, errOut)
			}
		})
	}
	// With --insecure pin-value works, and says it is insecure.
	_, errOut, code := runCLI(t, "", "token", "sign", "--insecure", "--key", pinValue, "--iss", "i", "--aud", "a")
	if code != exitOK || !strings.Contains(errOut, "warning: --insecure") {
		t.Errorf("token sign --insecure with pin-value: exit %d, stderr %q; want 0 and a warning", code, errOut)
	}
}

// TestHSMAlgorithms: every algorithm a key in the token can make, checked
// by openssl: RS512, PS256 and PS512 with an RSA key, ES384 with a P-384
// key generated by id alone (no label).
func TestHSMAlgorithms(t *testing.T) {
	tok := softhsmtest.New(t, "algs")
	dir := t.TempDir()
	rsaURI := tok.URI("rsa")
	ecURI := "pkcs11:token=" + tok.Label + ";id=%01%02?module-path=" + softhsmtest.Module + "&pin-source=file:" + tok.PINFile
	mustCLI(t, "keys", "generate", "--pkcs11", rsaURI, "--out", filepath.Join(dir, "rsa"))
	mustCLI(t, "keys", "generate", "--type", "ec", "--curve", "P-384", "--pkcs11", ecURI, "--out", filepath.Join(dir, "ec"))
	for _, tc := range []struct{ uri, pub, alg string }{
		{rsaURI, "rsa.pub", "RS512"},
		{rsaURI, "rsa.pub", "PS256"},
		{rsaURI, "rsa.pub", "PS512"},
		{ecURI, "ec.pub", "ES384"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			args := []string{"token", "sign", "--key", tc.uri, "--kid", "k", "--iss", "i", "--aud", "a"}
			if tc.alg != "ES384" {
				args = append(args, "--alg", tc.alg)
			}
			jwt := strings.TrimSpace(mustCLI(t, args...))
			opensslVerifiesJWS(t, dir, tc.pub, jwt, tc.alg)
		})
	}
}

// TestHSMKeyOpensAgain: after a failed signature (here the session closed
// under the agent's feet) the next one opens the key again and works; a
// different key at the same URI (the token re-created) is refused.
func TestHSMKeyOpensAgain(t *testing.T) {
	tok := softhsmtest.New(t, "reopen")
	uri := tok.URI("client")
	mustCLI(t, "keys", "generate", "--type", "ec", "--pkcs11", uri)
	key, err := openReopening(uri, hsm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	sign := func() error { _, err := token.Sign(key, "k", "", map[string]any{"iss": "i"}); return err }
	if err := sign(); err != nil {
		t.Fatalf("first signature: %v", err)
	}
	key.mu.Lock()
	_ = key.key.Close() // the session is gone
	key.mu.Unlock()
	if err := sign(); err == nil {
		t.Fatal("signing with a closed session: got nil error")
	}
	if err := sign(); err != nil {
		t.Fatalf("the signature after a failure: %v, want the key opened again", err)
	}

	// The token re-created with another key under the same label.
	_ = key.Close()
	if out, err := exec.Command("softhsm2-util", "--delete-token", "--token", tok.Label).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --delete-token: %v\n%s", err, out)
	}
	if out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", tok.Label, "--pin", tok.PIN, "--so-pin", "5678").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	mustCLI(t, "keys", "generate", "--type", "ec", "--pkcs11", uri)
	if err := sign(); err == nil || !strings.Contains(err.Error(), "no longer the one keygate started with") {
		t.Fatalf("another key at the URI: got %v, want it refused", err)
	}
}

// TestHSMImportedKey: key pairs made by openssl (the seed's RSA commands,
// and an EC P-256 key) and imported with softhsm2-util --import sign
// through their URI; openssl verifies with its own public key file.
func TestHSMImportedKey(t *testing.T) {
	tok := softhsmtest.New(t, "imported")
	dir := seedKeyPair(t) // keys.pem, public_key.crt, private_key.key
	openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
	openssl(t, dir, "pkey", "-in", "ec.pem", "-pubout", "-out", "ec.pub")
	for _, tc := range []struct{ file, id, pub, alg string }{
		{"private_key.key", "01", "public_key.crt", "RS256"},
		{"ec.pem", "02", "ec.pub", "ES256"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			out, err := exec.Command("softhsm2-util", "--import", filepath.Join(dir, tc.file), "--token", tok.Label,
				"--label", "imported-"+tc.id, "--id", tc.id, "--pin", tok.PIN).CombinedOutput()
			if err != nil {
				t.Fatalf("softhsm2-util --import: %v\n%s", err, out)
			}
			uri := "pkcs11:token=" + tok.Label + ";id=%" + tc.id + "?module-path=" + softhsmtest.Module + "&pin-source=file:" + tok.PINFile
			jwt := strings.TrimSpace(mustCLI(t, "token", "sign", "--key", uri, "--kid", "k", "--iss", "i", "--aud", "a"))
			opensslVerifiesJWS(t, dir, tc.pub, jwt, tc.alg)
		})
	}
}
