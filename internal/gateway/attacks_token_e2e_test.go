package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/keys"
)

// End-to-end tests of the hostile tokens T1–T13 of attacks.md: each one is
// sent through a real gateway and must end in 401 with its reason in the
// log, without the backend seeing anything and without the token reaching
// the log.

// attackRig is a gateway with an RSA key "rsa" (RS256) and an EC key "ec"
// (ES256) in front of a recording backend, at the fixed clock.
type attackRig struct {
	gw      *testGateway
	backend *testBackend
	rsa     testKey
	ec      testKey
	payload string // valid claims as JSON text
}

func newAttackRig(t *testing.T) *attackRig {
	t.Helper()
	r := &attackRig{backend: newBackend(t), rsa: newRSAKey(t, "rsa"), ec: newECKey(t, "ec")}
	spec := authSpec(jwtAuth(r.rsa.staticJWK(t), r.ec.staticJWK(t)), httpRoute("/1", nil, r.backend.url(), nil))
	r.gw = startOCIGateway(t, testPrefix, spec, fixedClock, false)
	r.payload = mustJSON(t, claimsAt(nil))
	return r
}

// attack is one hostile token and the reason the log must give.
type attack struct {
	name   string
	token  string
	reason string
}

// run sends each attack and checks 401, the invalid_token challenge, the
// reason, an untouched backend, and a log without the token.
func (r *attackRig) run(t *testing.T, attacks []attack) {
	t.Helper()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			res := sendAndCheck(t, r.gw, r.backend, http.MethodGet, testPrefix+"/1", bearer(a.token), jwtFail(a.reason))
			want := `Bearer realm="/test3", error="invalid_token"`
			if got := res.resp.Header.Get("WWW-Authenticate"); got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			checkErrorBody(t, res.body, http.StatusUnauthorized, "Unauthorized")
			checkNoSecrets(t, r.gw, a.token, signature(a.token))
		})
	}
	if n := len(r.backend.requests()); n != 0 {
		t.Errorf("backend received %d requests over all attacks, want none", n)
	}
}

// rsaHeader is a JOSE header for the rsa key with extra members appended.
func rsaHeader(extra string) string { return `{"alg":"RS256","kid":"rsa","typ":"JWT"` + extra + `}` }

func TestAttackT1AlgNone(t *testing.T) {
	r := newAttackRig(t)
	kept := signature(r.rsa.sign(t, claimsAt(nil)))
	var attacks []attack
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := `{"alg":"` + alg + `","kid":"rsa","typ":"JWT"}`
		unsigned := b64([]byte(h)) + "." + b64([]byte(r.payload))
		attacks = append(attacks,
			attack{alg + ", empty signature", unsigned + ".", "malformed_token"},
			attack{alg + ", signature kept", unsigned + "." + kept, "alg_not_allowed"},
		)
	}
	r.run(t, attacks)
}

func TestAttackT2HMACWithThePublicKey(t *testing.T) {
	r := newAttackRig(t)
	pub := &sharedRSA(t).PublicKey
	pemText, err := keys.EncodePublicPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	n := r.rsa.staticJWK(t)["n"].(string)
	secrets := []struct {
		name string
		key  []byte
	}{
		{"PEM text", pemText},
		{"PEM text without the final newline", []byte(strings.TrimSuffix(string(pemText), "\n"))},
		{"DER", der},
		{"PKCS#1 DER", x509.MarshalPKCS1PublicKey(pub)},
		{"JWK n text", []byte(n)},
		{"JWK n bytes", pub.N.Bytes()},
	}
	var attacks []attack
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for _, s := range secrets {
			h := `{"alg":"` + alg + `","kid":"rsa","typ":"JWT"}`
			attacks = append(attacks, attack{alg + " keyed with " + s.name, signRaw(t, alg, s.key, h, r.payload), "alg_not_allowed"})
		}
	}
	r.run(t, attacks)
}

// attackerEC is an EC key the gateway does not know, with its public JWK.
func attackerEC(t *testing.T) (*ecdsa.PrivateKey, map[string]any) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.PublicJWK(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, map[string]any{"kty": jwk.Kty, "crv": jwk.Crv, "x": jwk.X, "y": jwk.Y, "kid": "attacker"}
}

func TestAttackT3EmbeddedJWK(t *testing.T) {
	r := newAttackRig(t)
	priv, jwk := attackerEC(t)
	jwkJSON := mustJSON(t, jwk)
	attacks := []attack{
		{"jwk with a known kid", signRaw(t, "ES256", priv, `{"alg":"ES256","kid":"ec","jwk":`+jwkJSON+`}`, r.payload), "forbidden_header"},
		{"jwk with its own kid", signRaw(t, "ES256", priv, `{"alg":"ES256","kid":"attacker","jwk":`+jwkJSON+`}`, r.payload), "forbidden_header"},
		{"jwk and the rsa kid", signRaw(t, "ES256", priv, `{"alg":"RS256","kid":"rsa","jwk":`+jwkJSON+`}`, r.payload), "forbidden_header"},
	}
	r.run(t, attacks)
}

func TestAttackT4KeyURLsMakeNoRequest(t *testing.T) {
	r := newAttackRig(t)
	priv, jwk := attackerEC(t)
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwk}})
	}))
	defer attacker.Close()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: fixedNow.Add(-time.Hour), NotAfter: fixedNow.Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	x5c := mustJSON(t, []string{base64.StdEncoding.EncodeToString(cert)})
	jku := mustJSON(t, attacker.URL+"/jwks.json")
	x5u := mustJSON(t, attacker.URL+"/cert.pem")
	sign := func(h string) string { return signRaw(t, "ES256", priv, h, r.payload) }

	r.run(t, []attack{
		{"jku, kid of the attacker's key", sign(`{"alg":"ES256","kid":"attacker","jku":` + jku + `}`), "forbidden_header"},
		{"jku, known kid", sign(`{"alg":"ES256","kid":"ec","jku":` + jku + `}`), "forbidden_header"},
		{"x5u", sign(`{"alg":"ES256","kid":"ec","x5u":` + x5u + `}`), "forbidden_header"},
		{"x5c", sign(`{"alg":"ES256","kid":"ec","x5c":` + x5c + `}`), "forbidden_header"},
		{"x5c without kid", sign(`{"alg":"ES256","x5c":` + x5c + `}`), "missing_kid"},
		{"jku without kid", sign(`{"alg":"ES256","jku":` + jku + `}`), "missing_kid"},
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests, want none", n)
	}
}

func TestAttackT5HostileKid(t *testing.T) {
	r := newAttackRig(t)
	long := strings.Repeat("k", 10_000)
	kids := []struct{ name, kid string }{
		{"path traversal", "../../dev/null"},
		{"path traversal to a key", "../rsa"},
		{"SQL", "rsa' OR '1'='1"},
		{"10 kB long", long},
		{"newline forging a log line", "x\n{\"level\":\"ERROR\",\"forged\":true}"},
		{"NUL", "rsa\x00"},
		{"trailing space", "rsa "},
		{"long, multi-byte", strings.Repeat("€", 50)}, // 150 bytes: a byte cut at 128 splits a rune
	}
	var attacks []attack
	for _, k := range kids {
		tok := testKey{kid: k.kid, alg: "RS256", signer: r.rsa.signer}.sign(t, claimsAt(nil))
		attacks = append(attacks, attack{k.name, tok, "unknown_kid"})
	}
	r.run(t, attacks)
	for _, l := range r.gw.log.lines(t) {
		if _, forged := l["forged"]; forged {
			t.Errorf("a kid forged a log line: %v", l)
		}
		kid, _ := l["kid"].(string)
		if len(kid) > 140 {
			t.Errorf("log kid is %d bytes, want it cut short", len(kid))
		}
		if strings.ContainsRune(kid, utf8.RuneError) {
			t.Errorf("log kid %q was cut inside a UTF-8 sequence", kid)
		}
		if msg, _ := l["message"].(string); strings.Contains(msg, long[:200]) {
			t.Errorf("log message quotes the 10 kB kid in full")
		}
	}
}

func TestAttackT6ECDSAZeroSignature(t *testing.T) {
	r := newAttackRig(t)
	h := `{"alg":"ES256","kid":"ec","typ":"JWT"}`
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	r.run(t, []attack{
		{"r = s = 0", forge(h, r.payload, make([]byte, 64)), "bad_signature"},
		{"r = s = n", forge(h, r.payload, append(append([]byte{}, n...), n...)), "bad_signature"},
		{"r = 0, s = n", forge(h, r.payload, append(make([]byte, 32), n...)), "bad_signature"},
		{"one zero byte", forge(h, r.payload, []byte{0}), "bad_signature"},
	})
}

func TestAttackT7TokenShape(t *testing.T) {
	r := newAttackRig(t)
	valid := r.rsa.sign(t, claimsAt(nil))
	parts := strings.Split(valid, ".")
	standard := strings.NewReplacer("-", "+", "_", "/").Replace(valid)
	if standard == valid {
		t.Fatal("the valid token has no - or _ to turn into the standard alphabet")
	}
	// A header whose padded base64url encoding ends in "=", signed over that
	// spelling, so only the padding is wrong.
	h := rsaHeader(`,"x":"`)
	for len(h)%3 == 0 {
		h += "p"
	}
	h += `"}`
	padded := base64.URLEncoding.EncodeToString([]byte(h))
	if !strings.HasSuffix(padded, "=") {
		h = h[:len(h)-2] + `p"}`
		padded = base64.URLEncoding.EncodeToString([]byte(h))
	}
	paddedInput := padded + "." + parts[1]
	sig := signInput(t, "RS256", sharedRSA(t), paddedInput)
	jsonSerial := mustJSON(t, map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	flattened := `{"payload":"` + parts[1] + `"}`

	r.run(t, []attack{
		{"2 segments", parts[0] + "." + parts[1], "malformed_token"},
		{"1 segment", parts[1], "malformed_token"},
		{"4 segments", valid + "." + parts[2], "malformed_token"},
		{"empty signature", parts[0] + "." + parts[1] + ".", "malformed_token"},
		{"empty payload", parts[0] + ".." + parts[2], "malformed_token"},
		{"JWE shape, 5 segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn", "malformed_token"},
		{"JSON serialisation", jsonSerial, "malformed_credential"}, // its commas make it no single token
		{"JSON serialisation without commas", flattened, "malformed_token"},
		{"padded base64", paddedInput + "." + b64(sig), "malformed_token"},
		{"standard base64 alphabet", standard, "malformed_token"},
		{"tab inside", parts[0] + ".\t" + parts[1] + "." + parts[2], "malformed_credential"},
		{"header not JSON", b64([]byte("not json")) + "." + parts[1] + "." + parts[2], "malformed_token"},
		{"header a JSON array", b64([]byte(`["RS256"]`)) + "." + parts[1] + "." + parts[2], "malformed_token"},
		{"payload not UTF-8", parts[0] + "." + b64([]byte("{\"sub\":\"\xff\"}")) + "." + parts[2], "malformed_token"},
	})
}

func TestAttackT8TimeClaims(t *testing.T) {
	r := newAttackRig(t)
	now := fixedNow.Unix()
	sign := func(changes map[string]any) string { return r.rsa.sign(t, claimsAt(changes)) }
	raw := func(claims string) string { return signRaw(t, "RS256", sharedRSA(t), rsaHeader(""), claims) }
	base := `"iss":"` + testIssuer + `","aud":"` + testAudience + `","sub":"s"`
	r.run(t, []attack{
		{"exp missing", sign(map[string]any{"exp": nil}), "missing_exp"},
		{"exp null", raw(`{` + base + `,"exp":null}`), "missing_exp"},
		{"exp a string", raw(`{` + base + `,"exp":"9999999999"}`), "missing_exp"},
		{"exp true", raw(`{` + base + `,"exp":true}`), "missing_exp"},
		{"exp == now", sign(map[string]any{"exp": now}), "token_expired"},
		{"exp == now written as a fraction", raw(`{` + base + `,"exp":` + big.NewInt(now).String() + `.0}`), "token_expired"},
		{"nbf a second ahead", sign(map[string]any{"nbf": now + 1}), "token_not_yet_valid"},
		{"nbf a string", raw(`{` + base + `,"exp":9999999999,"nbf":"0"}`), "token_not_yet_valid"},
		{"iat a string", raw(`{` + base + `,"exp":9999999999,"iat":"0"}`), "invalid_iat"},
	})
}

func TestAttackT9IssuerAndAudience(t *testing.T) {
	r := newAttackRig(t)
	sign := func(changes map[string]any) string { return r.rsa.sign(t, claimsAt(changes)) }
	r.run(t, []attack{
		{"aud missing", sign(map[string]any{"aud": nil}), "wrong_audience"},
		{"aud empty array", sign(map[string]any{"aud": []any{}}), "wrong_audience"},
		{"aud other", sign(map[string]any{"aud": "api://other"}), "wrong_audience"},
		{"aud other case", sign(map[string]any{"aud": strings.ToUpper(testAudience)}), "wrong_audience"},
		{"aud with trailing slash", sign(map[string]any{"aud": testAudience + "/"}), "wrong_audience"},
		{"aud a number", sign(map[string]any{"aud": 1}), "wrong_audience"},
		{"aud array of others", sign(map[string]any{"aud": []any{"a", "b"}}), "wrong_audience"},
		{"iss with trailing slash", sign(map[string]any{"iss": testIssuer + "/"}), "wrong_issuer"},
		{"iss other case", sign(map[string]any{"iss": "https://ISSUER.test"}), "wrong_issuer"},
		{"iss missing", sign(map[string]any{"iss": nil}), "wrong_issuer"},
		{"iss an array holding ours", sign(map[string]any{"iss": []any{testIssuer}}), "wrong_issuer"},
	})
}

func TestAttackT10Crit(t *testing.T) {
	r := newAttackRig(t)
	key := sharedRSA(t)
	r.run(t, []attack{
		{"crit x-ext", signRaw(t, "RS256", key, rsaHeader(`,"crit":["x-ext"],"x-ext":1`), r.payload), "forbidden_header"},
		{"crit b64 false", signRaw(t, "RS256", key, rsaHeader(`,"crit":["b64"],"b64":false`), r.payload), "forbidden_header"},
		{"crit empty", signRaw(t, "RS256", key, rsaHeader(`,"crit":[]`), r.payload), "forbidden_header"},
	})
}

func TestAttackT11DuplicatesAndCase(t *testing.T) {
	r := newAttackRig(t)
	key := sharedRSA(t)
	now := fixedNow.Unix()
	claims := func(extra string) string {
		return `{"sub":"client-1","iss":"` + testIssuer + `","aud":"` + testAudience + `"` + extra + `}`
	}
	exp := `,"exp":` + big.NewInt(now+3600).String()
	r.run(t, []attack{
		{"alg twice, none last", signRaw(t, "RS256", key, `{"alg":"RS256","alg":"none","kid":"rsa"}`, r.payload), "malformed_token"},
		{"alg twice, RS256 last", signRaw(t, "RS256", key, `{"alg":"none","kid":"rsa","alg":"RS256"}`, r.payload), "malformed_token"},
		{"kid twice", signRaw(t, "RS256", key, `{"alg":"RS256","kid":"other","kid":"rsa"}`, r.payload), "malformed_token"},
		{"scope twice", signRaw(t, "RS256", key, rsaHeader(""), claims(exp+`,"scope":"x","scope":"orders:read"`)), "malformed_token"},
		{"exp twice", signRaw(t, "RS256", key, rsaHeader(""), claims(`,"exp":1`+exp)), "malformed_token"},
		{"duplicate in a nested object", signRaw(t, "RS256", key, rsaHeader(""), claims(exp+`,"x":{"a":1,"a":2}`)), "malformed_token"},
		{"ALG instead of alg", signRaw(t, "RS256", key, `{"ALG":"RS256","kid":"rsa"}`, r.payload), "malformed_token"},
		{"EXP instead of exp", signRaw(t, "RS256", key, rsaHeader(""), claims(`,"EXP":`+big.NewInt(now+3600).String())), "missing_exp"},
		{"Aud instead of aud", signRaw(t, "RS256", key, rsaHeader(""),
			`{"sub":"client-1","iss":"`+testIssuer+`","Aud":"`+testAudience+`"`+exp+`}`), "wrong_audience"},
		{"Iss instead of iss", signRaw(t, "RS256", key, rsaHeader(""),
			`{"sub":"client-1","Iss":"`+testIssuer+`","aud":"`+testAudience+`"`+exp+`}`), "wrong_issuer"},
	})
}

func TestAttackT12Oversized(t *testing.T) {
	r := newAttackRig(t)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	nested := strings.Repeat("[", 5_000) + strings.Repeat("]", 5_000)
	megabyte := oneMegabyteToken(t, r.rsa)
	r.run(t, []attack{
		{"1 MB token", megabyte, "token_too_large"},
		{"16 KiB + 1", strings.Repeat("a", 16384-2) + ".." + "a", "token_too_large"},
		{"64 KiB of dots", strings.Repeat(".", 64<<10), "token_too_large"},
		{"JSON nested 100k deep", forge(rsaHeader(""), `{"a":`+deep+`}`, []byte("sig")), "token_too_large"},
		{"JSON nested 5k deep, under the size limit", forge(rsaHeader(""), `{"a":`+nested+`}`, []byte("sig")), "malformed_token"},
		{"header nested 5k deep", forge(`{"a":`+nested+`}`, r.payload, []byte("sig")), "malformed_token"},
	})
}

// oneMegabyteToken is a validly signed token of just over 1,000,000 bytes:
// small enough for httptest's default 1 MiB header limit, so the harness's
// server hands it to the gateway.
func oneMegabyteToken(t *testing.T, key testKey) string {
	t.Helper()
	tok := key.sign(t, claimsAt(map[string]any{"pad": strings.Repeat("A", 760_000)}))
	if len(tok) < 1_000_000 || len(tok) > 1<<20-1024 {
		t.Fatalf("token is %d bytes, want 1 MB and under 1 MiB", len(tok))
	}
	return tok
}

// TestAttackT12OversizedRealServer sends the 1 MB token to the gateway as
// keygate serves it (NewServer, 64 KiB of headers at most): net/http
// refuses the request head with 431 before the gateway runs at all.
func TestAttackT12OversizedRealServer(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "rsa")
	spec := authSpec(jwtAuth(key.staticJWK(t)), httpRoute("/1", nil, backend.url(), nil))
	gw := startOCIGateway(t, testPrefix, spec, fixedClock, true)
	megabyte := oneMegabyteToken(t, key)
	tests := []struct {
		name   string
		path   string
		header http.Header
	}{
		{"in the Authorization header", testPrefix + "/1", bearer(megabyte)},
		{"in the query string", testPrefix + "/1?access_token=" + megabyte, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := gw.do(t, http.MethodGet, tt.path, tt.header)
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("status = %d, want 431", resp.StatusCode)
			}
		})
	}
	if n := len(backend.requests()); n != 0 {
		t.Errorf("backend received %d requests, want none", n)
	}
	if text := gw.log.String(); text != "" {
		t.Errorf("log = %q, want nothing: the request never reached the gateway", text)
	}
	// The same server still serves a normal request.
	resp, _ := gw.do(t, http.MethodGet, testPrefix+"/1", bearer(key.sign(t, claimsAt(nil))))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status of a normal request afterwards = %d, want 200", resp.StatusCode)
	}
}

func TestAttackT13KeyTypeMismatch(t *testing.T) {
	r := newAttackRig(t)
	ed := newEdKey(t, "x")
	r.run(t, []attack{
		{"EC kid, RS256 signed by the RSA key", testKey{kid: "ec", alg: "RS256", signer: r.rsa.signer}.sign(t, claimsAt(nil)), "alg_not_allowed"},
		{"RSA kid, ES256 signed by the EC key", testKey{kid: "rsa", alg: "ES256", signer: r.ec.signer}.sign(t, claimsAt(nil)), "alg_not_allowed"},
		{"EC kid, EdDSA", testKey{kid: "ec", alg: "EdDSA", signer: ed.signer}.sign(t, claimsAt(nil)), "alg_not_allowed"},
		{"RSA kid, PS256 (same key, other alg)", testKey{kid: "rsa", alg: "PS256", signer: r.rsa.signer}.sign(t, claimsAt(nil)), "alg_not_allowed"},
	})
}

// The controls: tokens next to the attacks that keygate must accept, so
// the attack tests cannot pass by refusing everything.
func TestAttackControlsAccepted(t *testing.T) {
	r := newAttackRig(t)
	key := sharedRSA(t)
	now := fixedNow.Unix()
	exp := big.NewInt(now + 3600).String()
	tests := []struct {
		name  string
		token string
	}{
		{"plain RS256", r.rsa.sign(t, claimsAt(nil))},
		{"plain ES256", r.ec.sign(t, claimsAt(nil))},
		{"nbf == now", r.rsa.sign(t, claimsAt(map[string]any{"nbf": now}))},
		{"aud array holding ours", r.rsa.sign(t, claimsAt(map[string]any{"aud": []any{"x", testAudience}}))},
		{"seed header with kty", signRaw(t, "RS256", key, `{"kid":"rsa","kty":"RSA","alg":"RS256"}`, r.payload)},
		{"EXP beside a valid exp", signRaw(t, "RS256", key, rsaHeader(""),
			`{"iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":`+exp+`,"EXP":1}`)},
		{"fractional exp", signRaw(t, "RS256", key, rsaHeader(""),
			`{"iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":`+exp+`.5}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sendAndCheck(t, r.gw, r.backend, http.MethodGet, testPrefix+"/1", bearer(tt.token), reached)
		})
	}
}
