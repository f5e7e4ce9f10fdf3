package cli

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/keys"
)

// runCLI runs keygate in-process and returns what it wrote and its exit
// code.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// mustCLI is runCLI for a command that must succeed.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("keygate %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// openssl runs openssl in dir; the interop tests need it and never skip
// (scripts/test.sh installs it).
func openssl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s (scripts/test.sh installs openssl)", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// seedKeyPair makes keys.pem, public_key.crt and private_key.key with the
// seed's exact openssl commands.
func seedKeyPair(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	openssl(t, dir, "genrsa", "-out", "keys.pem", "2048")
	openssl(t, dir, "rsa", "-in", "keys.pem", "-pubout", "-out", "public_key.crt")
	openssl(t, dir, "pkcs8", "-topk8", "-inform", "PEM", "-outform", "PEM", "-nocrypt", "-in", "keys.pem", "-out", "private_key.key")
	return dir
}

// rfc7638 computes a thumbprint here, independently of the keys package.
func rfc7638(t *testing.T, j map[string]any) string {
	t.Helper()
	var canonical string
	switch j["kty"] {
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, j["e"], j["n"])
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, j["crv"], j["x"], j["y"])
	default:
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, j["crv"], j["x"])
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func decodeJWK(t *testing.T, s string) map[string]any {
	t.Helper()
	var j map[string]any
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		t.Fatalf("keygate jwk printed no JSON object: %v\n%s", err, s)
	}
	return j
}

// TestJWKMatchesOpenSSL checks keygate jwk against openssl on the seed's
// key pair: n is openssl's modulus, e is 65537, the default kid is the RFC
// 7638 thumbprint, no private member is printed, and the three files the
// seed makes (PKCS1 private, SPKI public, PKCS8 private) give one JWK.
func TestJWKMatchesOpenSSL(t *testing.T) {
	dir := seedKeyPair(t)
	modulus := openssl(t, dir, "rsa", "-pubin", "-in", "public_key.crt", "-modulus", "-noout")
	hexN, ok := strings.CutPrefix(strings.TrimSpace(modulus), "Modulus=")
	if !ok {
		t.Fatalf("openssl -modulus printed %q", modulus)
	}
	wantN, ok := new(big.Int).SetString(hexN, 16)
	if !ok {
		t.Fatalf("openssl modulus %q is not hex", hexN)
	}

	var first string
	for _, file := range []string{"public_key.crt", "private_key.key", "keys.pem"} {
		out := mustCLI(t, "jwk", filepath.Join(dir, file))
		j := decodeJWK(t, out)
		n, err := base64.RawURLEncoding.DecodeString(fmt.Sprint(j["n"]))
		if err != nil {
			t.Fatalf("%s: n is not base64url: %v", file, err)
		}
		if got := new(big.Int).SetBytes(n); got.Cmp(wantN) != 0 {
			t.Errorf("%s: n = %x, want openssl's modulus %s", file, got, hexN)
		}
		if n[0] == 0 {
			t.Errorf("%s: n has a leading zero byte", file)
		}
		if j["e"] != "AQAB" || j["kty"] != "RSA" || j["alg"] != "RS256" || j["use"] != "sig" {
			t.Errorf("%s: e, kty, alg, use = %v %v %v %v, want AQAB RSA RS256 sig", file, j["e"], j["kty"], j["alg"], j["use"])
		}
		if want := rfc7638(t, j); j["kid"] != want {
			t.Errorf("%s: kid = %v, want the RFC 7638 thumbprint %s", file, j["kid"], want)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := j[private]; ok {
				t.Errorf("%s: the JWK holds private member %q", file, private)
			}
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("%s gives another JWK than public_key.crt:\n%s\nwant\n%s", file, out, first)
		}
	}
}

// TestSeedClientSideThroughServe runs the seed's client steps with keygate
// alone after openssl made the keys: keygate jwk --oci for the deployment's
// static key (step 3/5), keygate token sign with private_key.key (step 2),
// and the call through a running gateway (step 4) → 200.
func TestSeedClientSideThroughServe(t *testing.T) {
	dir := seedKeyPair(t)
	var key map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "jwk", "--oci", "--kid", "suitable_name", filepath.Join(dir, "public_key.crt"))), &key); err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "backend reached at "+r.URL.Path)
	}))
	defer backend.Close()
	specFile := writeSeedSpec(t, dir, key, backend.URL)
	base, logs := startServe(t, "--spec", specFile, "--path-prefix", "/test3", "--listen", "127.0.0.1:0")

	tok := strings.TrimSpace(mustCLI(t, "token", "sign", "--key", filepath.Join(dir, "private_key.key"), "--kid", "suitable_name",
		"--iss", "suitable_issuer", "--aud", "suitable_audience", "--sub", "suitable_subject", "--scope", "Desired_scopes other"))
	req, _ := http.NewRequest(http.MethodPost, base+"/test3/1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "backend reached at /api/1" {
		t.Fatalf("got %d %q, want 200 from the backend\n%s", resp.StatusCode, body, logs.String())
	}

	// The offline answer is the same.
	out, _, code := runCLI(t, "", "token", "verify", "--spec", specFile, "--path-prefix", "/test3", "--request", "POST /test3/1", tok)
	if code != exitOK || !strings.HasPrefix(out, "ACCEPT") {
		t.Errorf("token verify: exit %d\n%s", code, out)
	}
}

// TestOpenSSLVerifiesKeygateTokens has openssl, an implementation keygate
// does not share, check what keygate makes: the key pair of keys generate,
// and the RS256 signature of token sign over header.payload.
func TestOpenSSLVerifiesKeygateTokens(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "client")
	mustCLI(t, "keys", "generate", "--out", name)
	pub := openssl(t, dir, "pkey", "-in", "client.key", "-pubout")
	if want := string(readFile(t, name+".pub")); pub != want {
		t.Fatalf("openssl's public key of client.key:\n%s\nwant client.pub:\n%s", pub, want)
	}
	tok := strings.TrimSpace(mustCLI(t, "token", "sign", "--key", name+".key", "--kid", "client", "--iss", "i", "--aud", "a"))
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "input"), []byte(parts[0]+"."+parts[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sig"), sig, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := openssl(t, dir, "dgst", "-sha256", "-verify", "client.pub", "-signature", "sig", "input"); !strings.Contains(out, "Verified OK") {
		t.Errorf("openssl dgst -verify: %s", out)
	}
}

// TestRFC7638Example puts the example key of RFC 7638 §3.1 through keygate
// jwk, as PEM and as the RFC's JWK, and expects its documented thumbprint.
func TestRFC7638Example(t *testing.T) {
	const (
		n    = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
		want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	)
	dir := t.TempDir()
	nBytes, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := keys.EncodePublicPEM(&rsa.PublicKey{N: new(big.Int).SetBytes(nBytes), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"rfc.pem": pem,
		// The RFC's JWK without its kid, so keygate names it by thumbprint.
		"rfc.jwk": []byte(`{"kty": "RSA", "n": "` + n + `", "e": "AQAB", "alg": "RS256"}`),
	}
	for file, data := range files {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(dir, file)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			j := decodeJWK(t, mustCLI(t, "jwk", path))
			if j["kid"] != want {
				t.Errorf("kid = %v, want %s", j["kid"], want)
			}
			if got := rfc7638(t, j); got != want {
				t.Errorf("thumbprint of the printed JWK = %s, want %s", got, want)
			}
		})
	}
}

// writeSeedSpec writes the seed's deployment: JWT authentication from the
// Authorization header (Bearer), key as given, route POST /1 needing scope
// Desired_scopes, and an ANONYMOUS GET /health.
func writeSeedSpec(t *testing.T, dir string, key map[string]any, backendURL string) string {
	t.Helper()
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"isAnonymousAccessAllowed": true,
			"issuers":                  []string{"suitable_issuer"}, "audiences": []string{"suitable_audience"},
			"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{key}},
		}},
		"routes": []any{
			map[string]any{"path": "/1", "methods": []string{"POST"},
				"backend":         map[string]any{"type": "HTTP_BACKEND", "url": backendURL + "/api/1"},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANY_OF", "allowedScope": []string{"Desired_scopes"}}}},
			map[string]any{"path": "/health", "methods": []string{"GET"},
				"backend":         map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": 200},
				"requestPolicies": map[string]any{"authorization": map[string]any{"type": "ANONYMOUS"}}},
		},
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "deployment.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestOpenSSLECKeyFiles: openssl's EC key files, including ecparam -genkey's
// (an EC PARAMETERS block before the key), give one JWK, and a token signed
// with the private file verifies with openssl against the public one.
func TestOpenSSLECKeyFiles(t *testing.T) {
	dir := t.TempDir()
	openssl(t, dir, "ecparam", "-name", "prime256v1", "-genkey", "-out", "ec.pem")
	openssl(t, dir, "ec", "-in", "ec.pem", "-pubout", "-out", "ec.pub")
	openssl(t, dir, "pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "ec.p8")
	if !strings.Contains(string(readFile(t, filepath.Join(dir, "ec.pem"))), "BEGIN EC PARAMETERS") {
		t.Fatal("openssl ecparam -genkey wrote no EC PARAMETERS block; the test would prove nothing")
	}
	want := mustCLI(t, "jwk", filepath.Join(dir, "ec.pub"))
	for _, file := range []string{"ec.pem", "ec.p8"} {
		if got := mustCLI(t, "jwk", filepath.Join(dir, file)); got != want {
			t.Errorf("jwk %s:\n%s\nwant (from ec.pub)\n%s", file, got, want)
		}
	}
	tok := strings.TrimSpace(mustCLI(t, "token", "sign", "--key", filepath.Join(dir, "ec.pem"), "--kid", "ec", "--iss", "i", "--aud", "a"))
	if out, errOut, code := runCLI(t, "", "token", "verify", "--pem", filepath.Join(dir, "ec.pub"), "--kid", "ec", "--iss", "i", "--aud", "a", tok); code != 0 {
		t.Errorf("token verify: exit %d\n%s%s", code, out, errOut)
	}
}
