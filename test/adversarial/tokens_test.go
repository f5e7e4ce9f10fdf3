package adversarial

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/keys"
)

// The token rows of attacks.md, T1–T13, end to end: each hostile token is
// sent as a bearer token to an AUTHENTICATION_ONLY route and must end in
// 401 with the invalid_token challenge and the generic body, one execution
// log line with its code and reason, the backend untouched and the token
// kept out of the log.

// hostile is one hostile token and the reason the log must give.
type hostile struct {
	name   string
	token  string
	reason string
}

// Every token refusal is this challenge and this execution log code.
const (
	invalidToken = `Bearer realm="/test", error="invalid_token"`
	jwtAuthCode  = "jwtAuthentication.authenticationFailed"
)

// refuseAll sends each hostile token, in a subtest of its own, and requires
// the whole refusal: status, challenge, body, the one log line's code and
// reason, an untouched backend and a log without the token or its
// signature.
func refuseAll(t *testing.T, g *gatewaytest.Gateway, cases []hostile) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := g.RefusedFor(t, "/test/r", gatewaytest.Bearer(c.token), http.StatusUnauthorized, c.reason)
			if got := res.Header.Get("WWW-Authenticate"); got != invalidToken {
				t.Errorf("WWW-Authenticate = %q, want %q", got, invalidToken)
			}
			gatewaytest.CheckErrorBody(t, res.Body, http.StatusUnauthorized)
			if line := g.Log.Rejection(t, res.ID); line["code"] != jwtAuthCode {
				t.Errorf("log code = %v, want %s", line["code"], jwtAuthCode)
			}
			g.Log.NoSecrets(t, c.token, gatewaytest.Signature(c.token))
		})
	}
}

// accepted sends a GET of path with header and requires it to reach the
// backend with no execution log line: a credential keygate must accept.
func accepted(t *testing.T, g *gatewaytest.Gateway, path string, header http.Header) {
	t.Helper()
	got := g.Passes(t, path, header)
	if lines := g.Log.Exec(t, got.ID); len(lines) != 0 {
		t.Errorf("accepted request left execution log lines %v, want none", lines)
	}
}

// rsaHeader is a JOSE header for the rsa key with extra members.
func rsaHeader(extra string) string { return `{"alg":"RS256","kid":"rsa","typ":"JWT"` + extra + `}` }

// validPayload is the valid claims as JSON text, for forged tokens.
func validPayload(t *testing.T) string { return gatewaytest.MustJSON(t, gatewaytest.Claims(nil)) }

func TestT1AlgNone(t *testing.T) {
	g := newTokenRig(t)
	payload := validPayload(t)
	kept := gatewaytest.Signature(validToken(t))
	var cases []hostile
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		unsigned := gatewaytest.B64([]byte(`{"alg":"`+alg+`","kid":"rsa","typ":"JWT"}`)) + "." + gatewaytest.B64([]byte(payload))
		cases = append(cases,
			hostile{alg + " empty signature", unsigned + ".", "malformed_token"},
			hostile{alg + " signature kept", unsigned + "." + kept, "alg_not_allowed"})
	}
	refuseAll(t, g, cases)
}

func TestT2HMACKeyedWithThePublicKey(t *testing.T) {
	g := newTokenRig(t)
	pub := &gatewaytest.RSAKey().PublicKey
	pemText, err := keys.EncodePublicPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	payload := validPayload(t)
	secrets := []struct {
		name string
		key  []byte
	}{
		{"PEM", pemText},
		{"PEM without the final newline", []byte(strings.TrimSuffix(string(pemText), "\n"))},
		{"DER", der},
		{"PKCS1", x509.MarshalPKCS1PublicKey(pub)},
		{"JWK n", []byte(gatewaytest.B64(pub.N.Bytes()))},
		{"JWK n bytes", pub.N.Bytes()},
	}
	var cases []hostile
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for _, s := range secrets {
			cases = append(cases, hostile{alg + " " + s.name,
				gatewaytest.SignRaw(t, alg, s.key, `{"alg":"`+alg+`","kid":"rsa"}`, payload), "alg_not_allowed"})
		}
	}
	refuseAll(t, g, cases)
}

// attackerJWK is the attacker's public key as a JWK member of a header,
// naming itself "evil".
func attackerJWK(t *testing.T) string {
	jwk := gatewaytest.PublicJWK(t, &gatewaytest.AttackerKey().PublicKey)
	jwk["kid"] = "evil"
	return gatewaytest.MustJSON(t, jwk)
}

func TestT3EmbeddedJWK(t *testing.T) {
	g := newTokenRig(t)
	attacker := gatewaytest.AttackerKey()
	jwk := attackerJWK(t)
	payload := validPayload(t)
	s := func(h string) string { return gatewaytest.SignRaw(t, "ES256", attacker, h, payload) }
	refuseAll(t, g, []hostile{
		{"jwk with a known kid", s(`{"alg":"ES256","kid":"ec","jwk":` + jwk + `}`), "forbidden_header"},
		{"jwk with its own kid", s(`{"alg":"ES256","kid":"evil","jwk":` + jwk + `}`), "forbidden_header"},
		{"jwk and the rsa kid", s(`{"alg":"RS256","kid":"rsa","jwk":` + jwk + `}`), "forbidden_header"},
		{"jwk, no kid", s(`{"alg":"ES256","jwk":` + jwk + `}`), "missing_kid"},
	})
}

func TestT4KeyURLsMakeNoRequest(t *testing.T) {
	g := newTokenRig(t)
	attacker := gatewaytest.AttackerKey()
	// The attacker's server serves the attacker's key for real: a gateway
	// that fetched it would verify the tokens.
	var hits counter
	evil := httptest.NewServer(hits.handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[` + attackerJWK(t) + `]}`))
	})))
	defer evil.Close()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"},
		NotBefore: gatewaytest.FixedNow.Add(-time.Hour), NotAfter: gatewaytest.FixedNow.Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	if err != nil {
		t.Fatal(err)
	}
	payload := validPayload(t)
	x5c := gatewaytest.MustJSON(t, []string{base64.StdEncoding.EncodeToString(cert)})
	jku := gatewaytest.MustJSON(t, evil.URL+"/jwks")
	x5u := gatewaytest.MustJSON(t, evil.URL+"/cert")
	s := func(h string) string { return gatewaytest.SignRaw(t, "ES256", attacker, h, payload) }
	refuseAll(t, g, []hostile{
		{"jku", s(`{"alg":"ES256","kid":"ec","jku":` + jku + `}`), "forbidden_header"},
		{"jku, the attacker's kid", s(`{"alg":"ES256","kid":"evil","jku":` + jku + `}`), "forbidden_header"},
		{"x5u", s(`{"alg":"ES256","kid":"ec","x5u":` + x5u + `}`), "forbidden_header"},
		{"x5c", s(`{"alg":"ES256","kid":"ec","x5c":` + x5c + `}`), "forbidden_header"},
		{"x5c without kid", s(`{"alg":"ES256","x5c":` + x5c + `}`), "missing_kid"},
		{"jku without kid", s(`{"alg":"ES256","jku":` + jku + `}`), "missing_kid"},
	})
	if n := hits.n.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests, want none", n)
	}
}

func TestT5HostileKid(t *testing.T) {
	g := newTokenRig(t)
	long := strings.Repeat("k", 10_000)
	var cases []hostile
	for _, k := range []struct{ name, kid string }{
		{"traversal", "../../dev/null"},
		{"traversal to a key", "../rsa"},
		{"SQL", "rsa' OR '1'='1"},
		{"10 kB", long},
		{"newline forging a log line", "x\n{\"level\":\"ERROR\",\"forged\":true}"},
		{"NUL", "rsa\x00"},
		{"trailing space", "rsa "},
		{"other case", "RSA"},
		{"long, multi-byte", strings.Repeat("€", 50)}, // 150 bytes: a cut at a byte count splits a rune
	} {
		cases = append(cases, hostile{k.name, gatewaytest.Sign(t, gatewaytest.RSAKey(), k.kid, "RS256", gatewaytest.Claims(nil)), "unknown_kid"})
	}
	refuseAll(t, g, cases)
	for _, l := range g.Log.Lines(t) {
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

func TestT6ECDSAZeroSignature(t *testing.T) {
	g := newTokenRig(t)
	h := `{"alg":"ES256","kid":"ec","typ":"JWT"}`
	payload := validPayload(t)
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	zero := make([]byte, 32)
	cat := func(r, s []byte) []byte { return append(append([]byte{}, r...), s...) }
	refuseAll(t, g, []hostile{
		{"r = s = 0", gatewaytest.Forge(h, payload, cat(zero, zero)), "bad_signature"},
		{"r = s = n", gatewaytest.Forge(h, payload, cat(n, n)), "bad_signature"},
		{"r = n, s = 0", gatewaytest.Forge(h, payload, cat(n, zero)), "bad_signature"},
		{"r = 0, s = n", gatewaytest.Forge(h, payload, cat(zero, n)), "bad_signature"},
		{"one zero byte", gatewaytest.Forge(h, payload, []byte{0}), "bad_signature"},
	})
}

// paddedToken is a token whose header is written in padded base64url and
// signed over that spelling, so that only the padding is wrong.
func paddedToken(t *testing.T, payloadSegment string) string {
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
	input := padded + "." + payloadSegment
	return input + "." + gatewaytest.B64(gatewaytest.SignInput(t, "RS256", gatewaytest.RSAKey(), input))
}

func TestT7TokenShape(t *testing.T) {
	g := newTokenRig(t)
	valid := validToken(t)
	p := strings.Split(valid, ".")
	standard := strings.NewReplacer("-", "+", "_", "/").Replace(valid)
	if standard == valid {
		t.Fatal("the valid token has no - or _ to turn into the standard alphabet")
	}
	b64 := gatewaytest.B64
	refuseAll(t, g, []hostile{
		{"1 segment", p[1], "malformed_token"},
		{"2 segments", p[0] + "." + p[1], "malformed_token"},
		{"4 segments", valid + "." + p[2], "malformed_token"},
		{"empty signature", p[0] + "." + p[1] + ".", "malformed_token"},
		{"empty payload", p[0] + ".." + p[2], "malformed_token"},
		{"JWE, 5 segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn", "malformed_token"},
		{"JSON serialisation", `{"payload":"` + p[1] + `"}`, "malformed_token"},
		// Its commas make it no single token.
		{"JSON serialisation with commas", gatewaytest.MustJSON(t, map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]}), "malformed_credential"},
		{"padded header, signature of the unpadded", p[0] + "=." + p[1] + "." + p[2], "malformed_token"},
		{"padded header, signed as padded", paddedToken(t, p[1]), "malformed_token"},
		{"standard alphabet", standard, "malformed_token"},
		{"tab inside", p[0] + ".\t" + p[1] + "." + p[2], "malformed_credential"},
		{"header not JSON", b64([]byte("not json")) + "." + p[1] + "." + p[2], "malformed_token"},
		{"header a JSON array", b64([]byte(`["RS256"]`)) + "." + p[1] + "." + p[2], "malformed_token"},
		{"payload not UTF-8", p[0] + "." + b64([]byte("{\"sub\":\"\xff\"}")) + "." + p[2], "malformed_token"},
	})
}

func TestT8TimeClaims(t *testing.T) {
	g := newTokenRig(t)
	now := gatewaytest.FixedNow.Unix()
	nowText := strconv.FormatInt(now, 10)
	key := gatewaytest.RSA("rsa")
	s := func(edits map[string]any) string { return key.Sign(t, gatewaytest.Claims(edits)) }
	raw := func(extra string) string {
		return gatewaytest.SignRaw(t, "RS256", key.Signer, rsaHeader(""),
			`{"iss":"`+gatewaytest.Issuer+`","aud":"`+gatewaytest.Audience+`","sub":"s"`+extra+`}`)
	}
	refuseAll(t, g, []hostile{
		{"exp missing", s(map[string]any{"exp": nil}), "missing_exp"},
		{"exp null", raw(`,"exp":null`), "missing_exp"},
		{"exp a string", raw(`,"exp":"9999999999"`), "missing_exp"},
		{"exp true", raw(`,"exp":true`), "missing_exp"},
		{"exp == now", s(map[string]any{"exp": now}), "token_expired"},
		{"exp == now written as a fraction", raw(`,"exp":` + nowText + `.0`), "token_expired"},
		{"nbf a second ahead", s(map[string]any{"nbf": now + 1}), "token_not_yet_valid"},
		{"nbf a string", raw(`,"exp":9999999999,"nbf":"0"`), "token_not_yet_valid"},
		{"iat a string", raw(`,"exp":9999999999,"iat":"0"`), "invalid_iat"},
		{"iat not a number", raw(`,"exp":9999999999,"iat":"now"`), "invalid_iat"},
	})
	t.Run("iat ahead passes (OCI applies the skew to exp and nbf only)", func(t *testing.T) {
		accepted(t, g, "/test/r", gatewaytest.Bearer(s(map[string]any{"iat": now + 3600})))
	})
	t.Run("nbf == now passes", func(t *testing.T) {
		accepted(t, g, "/test/r", gatewaytest.Bearer(s(map[string]any{"nbf": now})))
	})
}

func TestT9IssuerAndAudience(t *testing.T) {
	g := newTokenRig(t)
	key := gatewaytest.RSA("rsa")
	s := func(edits map[string]any) string { return key.Sign(t, gatewaytest.Claims(edits)) }
	iss, aud := gatewaytest.Issuer, gatewaytest.Audience
	refuseAll(t, g, []hostile{
		{"aud missing", s(map[string]any{"aud": nil}), "wrong_audience"},
		{"aud []", s(map[string]any{"aud": []any{}}), "wrong_audience"},
		{"aud other", s(map[string]any{"aud": "api://other"}), "wrong_audience"},
		{"aud other case", s(map[string]any{"aud": strings.ToUpper(aud)}), "wrong_audience"},
		{"aud trailing slash", s(map[string]any{"aud": aud + "/"}), "wrong_audience"},
		{"aud a number", s(map[string]any{"aud": 1}), "wrong_audience"},
		{"aud array of others", s(map[string]any{"aud": []any{"a", "b"}}), "wrong_audience"},
		{"iss trailing slash", s(map[string]any{"iss": iss + "/"}), "wrong_issuer"},
		{"iss upper case", s(map[string]any{"iss": strings.ToUpper(iss)}), "wrong_issuer"},
		{"iss host upper case", s(map[string]any{"iss": strings.Replace(iss, "issuer.test", "ISSUER.test", 1)}), "wrong_issuer"},
		{"iss missing", s(map[string]any{"iss": nil}), "wrong_issuer"},
		{"iss an array holding ours", s(map[string]any{"iss": []any{iss}}), "wrong_issuer"},
	})
	t.Run("aud array holding ours passes", func(t *testing.T) {
		accepted(t, g, "/test/r", gatewaytest.Bearer(s(map[string]any{"aud": []any{"x", aud}})))
	})
}

func TestT10Crit(t *testing.T) {
	g := newTokenRig(t)
	payload := validPayload(t)
	k := gatewaytest.RSAKey()
	refuseAll(t, g, []hostile{
		{"crit x-ext", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(`,"crit":["x-ext"],"x-ext":1`), payload), "forbidden_header"},
		{"crit b64 false", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(`,"crit":["b64"],"b64":false`), payload), "forbidden_header"},
		{"crit empty", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(`,"crit":[]`), payload), "forbidden_header"},
	})
}

func TestT11DuplicatesAndCase(t *testing.T) {
	g := newTokenRig(t)
	k := gatewaytest.RSAKey()
	payload := validPayload(t)
	exp := `,"exp":` + strconv.FormatInt(gatewaytest.FixedNow.Unix()+3600, 10)
	iss, aud := `"iss":"`+gatewaytest.Issuer+`"`, `"aud":"`+gatewaytest.Audience+`"`
	body := func(extra string) string { return `{"sub":"client-1",` + iss + `,` + aud + extra + `}` }
	sign := func(header, payload string) string { return gatewaytest.SignRaw(t, "RS256", k, header, payload) }
	refuseAll(t, g, []hostile{
		{"alg twice, none last", sign(`{"alg":"RS256","alg":"none","kid":"rsa"}`, payload), "malformed_token"},
		{"alg twice, RS256 last", sign(`{"alg":"none","kid":"rsa","alg":"RS256"}`, payload), "malformed_token"},
		{"kid twice", sign(`{"alg":"RS256","kid":"other","kid":"rsa"}`, payload), "malformed_token"},
		{"scope twice", sign(rsaHeader(""), body(exp+`,"scope":"x","scope":"orders:write"`)), "malformed_token"},
		{"exp twice", sign(rsaHeader(""), body(`,"exp":1`+exp)), "malformed_token"},
		{"duplicate in a nested object", sign(rsaHeader(""), body(exp+`,"x":{"a":1,"a":2}`)), "malformed_token"},
		{"ALG instead of alg", sign(`{"ALG":"RS256","kid":"rsa"}`, payload), "malformed_token"},
		{"EXP instead of exp", sign(rsaHeader(""), body(strings.ToUpper(exp))), "missing_exp"},
		{"Aud instead of aud", sign(rsaHeader(""), `{"sub":"client-1",`+iss+`,"Aud":"`+gatewaytest.Audience+`"`+exp+`}`), "wrong_audience"},
		{"Iss instead of iss", sign(rsaHeader(""), `{"sub":"client-1","Iss":"`+gatewaytest.Issuer+`",`+aud+exp+`}`), "wrong_issuer"},
	})
}

// nestedPayload is a claims text holding an array nested depth deep.
func nestedPayload(depth int) string {
	return `{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
}

func TestT12Oversized(t *testing.T) {
	g := newTokenRig(t)
	sig := []byte("s")
	start := time.Now()
	refuseAll(t, g, []hostile{
		{"16 KiB + 1", strings.Repeat("a", 16384-2) + ".." + "a", "token_too_large"},
		{"16 KiB + 2, three segments", strings.Repeat("a", 16383) + ".a.", "token_too_large"},
		{"32 KiB of dots", strings.Repeat(".", 32<<10), "token_too_large"},
		{"JSON nested 10k deep", gatewaytest.Forge(rsaHeader(""), nestedPayload(10_000), sig), "token_too_large"},
		{"JSON nested 5k deep, under the size limit", gatewaytest.Forge(rsaHeader(""), nestedPayload(5_000), sig), "malformed_token"},
		{"JSON nested 4k deep", gatewaytest.Forge(rsaHeader(""), nestedPayload(4_000), sig), "malformed_token"},
		{"header nested 5k deep", gatewaytest.Forge(nestedPayload(5_000), validPayload(t), sig), "malformed_token"},
	})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("oversized tokens took %v, want them refused fast", d)
	}
}

// oneMegabyteToken is a validly signed token of just over 1,000,000 bytes,
// under net/http's default 1 MiB header limit.
func oneMegabyteToken(t *testing.T) string {
	t.Helper()
	tok := validTokenWith(t, map[string]any{"pad": strings.Repeat("A", 760_000)})
	if len(tok) < 1_000_000 || len(tok) > 1<<20-1024 {
		t.Fatalf("token is %d bytes, want 1 MB and under 1 MiB", len(tok))
	}
	return tok
}

// TestT12OversizedPastTheServer reaches the gateway's own 16 KiB cap with
// tokens keygate's server refuses first (over its 64 KiB of headers): they
// are served here by a server with net/http's 1 MiB limit, as a deployment
// behind another front server could be.
func TestT12OversizedPastTheServer(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	sp := gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("rsa").JWK(t))),
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil))
	g := gatewaytest.Start(t, sp, b, gatewaytest.Options{Now: gatewaytest.FixedClock, PlainServer: true})
	refuseAll(t, g, []hostile{
		{"1 MB token", oneMegabyteToken(t), "token_too_large"},
		{"64 KiB of dots", strings.Repeat(".", 64<<10), "token_too_large"},
		{"JSON nested 100k deep", gatewaytest.Forge(rsaHeader(""), nestedPayload(100_000), []byte("sig")), "token_too_large"},
	})
}

// TestT12OversizedAtTheServer sends the 1 MB token to keygate's own server
// (64 KiB of headers at most): net/http refuses the request head with 431
// before the gateway runs at all, and the server goes on serving.
func TestT12OversizedAtTheServer(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	sp := gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("rsa").JWK(t))),
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil))
	g := gatewaytest.Start(t, sp, b, gatewaytest.Options{Now: gatewaytest.FixedClock})
	megabyte := oneMegabyteToken(t)
	for _, tt := range []struct {
		name   string
		path   string
		header http.Header
	}{
		{"in the Authorization header", "/test/r", gatewaytest.Bearer(megabyte)},
		{"in the query string", "/test/r?access_token=" + megabyte, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g.Refused(t, http.MethodGet, tt.path, tt.header, http.StatusRequestHeaderFieldsTooLarge)
		})
	}
	if text := g.Log.String(); text != "" {
		t.Errorf("log = %q, want nothing: the requests never reached the gateway", text)
	}
	accepted(t, g, "/test/r", gatewaytest.Bearer(validToken(t)))
}

func TestT13KeyTypeMismatch(t *testing.T) {
	g := newTokenRig(t)
	c := gatewaytest.Claims(nil)
	refuseAll(t, g, []hostile{
		{"EC kid, RS256", gatewaytest.RSA("ec").Sign(t, c), "alg_not_allowed"},
		{"RSA kid, ES256", gatewaytest.Sign(t, gatewaytest.ECKey(), "rsa", "ES256", c), "alg_not_allowed"},
		{"RSA kid, PS256 (same key, other alg)", gatewaytest.Sign(t, gatewaytest.RSAKey(), "rsa", "PS256", c), "alg_not_allowed"},
		{"EC kid, EdDSA", gatewaytest.Sign(t, gatewaytest.EdKey(), "ec", "EdDSA", c), "alg_not_allowed"},
	})
}

// TestControls are the tokens keygate must accept, next to the attacks, so
// the suite cannot pass by refusing everything.
func TestControls(t *testing.T) {
	g := newTokenRig(t)
	k := gatewaytest.RSAKey()
	exp := strconv.FormatInt(gatewaytest.FixedNow.Unix()+3600, 10)
	claims := func(extra string) string {
		return `{"iss":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `"` + extra + `}`
	}
	for _, tt := range []struct {
		name, path string
		header     http.Header
	}{
		{"plain RS256", "/test/r", gatewaytest.Bearer(validToken(t))},
		{"plain ES256", "/test/r", gatewaytest.Bearer(gatewaytest.EC("ec").Sign(t, gatewaytest.Claims(nil)))},
		{"scheme bearer", "/test/r", http.Header{"Authorization": {"bearer " + validToken(t)}}},
		{"scheme BEARER", "/test/r", http.Header{"Authorization": {"BEARER " + validToken(t)}}},
		{"the scope the route asks", "/test/scoped", gatewaytest.Bearer(validTokenWith(t, map[string]any{"scope": "orders:write"}))},
		{"seed header with kty", "/test/r", gatewaytest.Bearer(gatewaytest.SignRaw(t, "RS256", k, `{"kid":"rsa","kty":"RSA","alg":"RS256"}`, validPayload(t)))},
		{"EXP beside a valid exp", "/test/r", gatewaytest.Bearer(gatewaytest.SignRaw(t, "RS256", k, rsaHeader(""), claims(`,"exp":`+exp+`,"EXP":1`)))},
		{"fractional exp", "/test/r", gatewaytest.Bearer(gatewaytest.SignRaw(t, "RS256", k, rsaHeader(""), claims(`,"exp":`+exp+`.5`)))},
	} {
		t.Run(tt.name, func(t *testing.T) { accepted(t, g, tt.path, tt.header) })
	}
}
