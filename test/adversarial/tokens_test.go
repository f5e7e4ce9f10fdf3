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

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/keys"
)

// The token rows of attacks.md, T1–T13, end to end: each hostile token is
// sent as a bearer token to an AUTHENTICATION_ONLY route and must end in
// 401 with its reason in the log, the backend untouched and the token kept
// out of the log.

// hostile is one hostile token and the reason the log must give.
type hostile struct {
	name   string
	token  string
	reason string
}

func refuseAll(t *testing.T, tr *gatewaytest.Gateway, cases []hostile) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr.RefusedFor(t, "/test/r", gatewaytest.Bearer(c.token), http.StatusUnauthorized, c.reason)
			tr.Log.NoSecrets(t, c.token, c.token[strings.LastIndexByte(c.token, '.')+1:])
		})
	}
}

// rsaHeader is a JOSE header for the rsa key with extra members.
func rsaHeader(extra string) string { return `{"alg":"RS256","kid":"rsa","typ":"JWT"` + extra + `}` }

func TestT1AlgNone(t *testing.T) {
	tr := newTokenRig(t)
	payload := gatewaytest.MustJSON(t, gatewaytest.Claims(nil))
	kept := validToken(t)[strings.LastIndexByte(validToken(t), '.')+1:]
	var cases []hostile
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		unsigned := gatewaytest.B64([]byte(`{"alg":"`+alg+`","kid":"rsa"}`)) + "." + gatewaytest.B64([]byte(payload))
		cases = append(cases,
			hostile{alg + " empty signature", unsigned + ".", "malformed_token"},
			hostile{alg + " signature kept", unsigned + "." + kept, "alg_not_allowed"})
	}
	refuseAll(t, tr, cases)
}

func TestT2HMACKeyedWithThePublicKey(t *testing.T) {
	tr := newTokenRig(t)
	pub := &gatewaytest.RSAKey().PublicKey
	pemText, err := keys.EncodePublicPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	payload := gatewaytest.MustJSON(t, gatewaytest.Claims(nil))
	secrets := map[string][]byte{"PEM": pemText, "DER": der, "PKCS1": x509.MarshalPKCS1PublicKey(pub),
		"JWK n": []byte(gatewaytest.B64(pub.N.Bytes()))}
	var cases []hostile
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for name, secret := range secrets {
			cases = append(cases, hostile{alg + " " + name,
				gatewaytest.SignRaw(t, alg, secret, `{"alg":"`+alg+`","kid":"rsa"}`, payload), "alg_not_allowed"})
		}
	}
	refuseAll(t, tr, cases)
}

func TestT3EmbeddedJWK(t *testing.T) {
	tr := newTokenRig(t)
	attacker := gatewaytest.AttackerKey()
	j, err := keys.PublicJWK(&attacker.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwk := gatewaytest.MustJSON(t, map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X, "y": j.Y})
	payload := gatewaytest.MustJSON(t, gatewaytest.Claims(nil))
	refuseAll(t, tr, []hostile{
		{"jwk with a known kid", gatewaytest.SignRaw(t, "ES256", attacker, `{"alg":"ES256","kid":"ec","jwk":`+jwk+`}`, payload), "forbidden_header"},
		{"jwk with its own kid", gatewaytest.SignRaw(t, "ES256", attacker, `{"alg":"ES256","kid":"evil","jwk":`+jwk+`}`, payload), "forbidden_header"},
		{"jwk, no kid", gatewaytest.SignRaw(t, "ES256", attacker, `{"alg":"ES256","jwk":`+jwk+`}`, payload), "missing_kid"},
	})
}

func TestT4KeyURLsMakeNoRequest(t *testing.T) {
	tr := newTokenRig(t)
	attacker := gatewaytest.AttackerKey()
	var hits counter
	evil := httptest.NewServer(hits.handler(http.NotFoundHandler()))
	defer evil.Close()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"},
		NotBefore: gatewaytest.FixedNow.Add(-time.Hour), NotAfter: gatewaytest.FixedNow.Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	if err != nil {
		t.Fatal(err)
	}
	payload := gatewaytest.MustJSON(t, gatewaytest.Claims(nil))
	x5c := gatewaytest.MustJSON(t, []string{base64.StdEncoding.EncodeToString(cert)})
	s := func(h string) string { return gatewaytest.SignRaw(t, "ES256", attacker, h, payload) }
	refuseAll(t, tr, []hostile{
		{"jku", s(`{"alg":"ES256","kid":"ec","jku":"` + evil.URL + `/jwks"}`), "forbidden_header"},
		{"jku, unknown kid", s(`{"alg":"ES256","kid":"evil","jku":"` + evil.URL + `/jwks"}`), "forbidden_header"},
		{"x5u", s(`{"alg":"ES256","kid":"ec","x5u":"` + evil.URL + `/cert"}`), "forbidden_header"},
		{"x5c", s(`{"alg":"ES256","kid":"ec","x5c":` + x5c + `}`), "forbidden_header"},
	})
	if n := hits.n.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests, want none", n)
	}
}

func TestT5HostileKid(t *testing.T) {
	tr := newTokenRig(t)
	var cases []hostile
	for name, kid := range map[string]string{
		"traversal": "../../dev/null", "traversal to a key": "../rsa", "SQL": "rsa' OR '1'='1",
		"10 kB": strings.Repeat("k", 10_000), "newline": "x\n{\"forged\":true}", "NUL": "rsa\x00",
		"trailing space": "rsa ", "other case": "RSA",
	} {
		cases = append(cases, hostile{name, gatewaytest.Sign(t, gatewaytest.RSAKey(), kid, "RS256", gatewaytest.Claims(nil)), "unknown_kid"})
	}
	refuseAll(t, tr, cases)
	for _, l := range tr.Log.Lines(t) {
		if _, forged := l["forged"]; forged {
			t.Errorf("a kid forged a log line: %v", l)
		}
		if kid, _ := l["kid"].(string); len(kid) > 200 {
			t.Errorf("log kid is %d bytes, want it bounded", len(kid))
		}
	}
}

func TestT6ECDSAZeroSignature(t *testing.T) {
	tr := newTokenRig(t)
	h := `{"alg":"ES256","kid":"ec"}`
	payload := gatewaytest.MustJSON(t, gatewaytest.Claims(nil))
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	refuseAll(t, tr, []hostile{
		{"r = s = 0", gatewaytest.Forge(h, payload, make([]byte, 64)), "bad_signature"},
		{"r = s = n", gatewaytest.Forge(h, payload, append(append([]byte{}, n...), n...)), "bad_signature"},
		{"r = n, s = 0", gatewaytest.Forge(h, payload, append(append([]byte{}, n...), make([]byte, 32)...)), "bad_signature"},
		{"one zero byte", gatewaytest.Forge(h, payload, []byte{0}), "bad_signature"},
	})
}

func TestT7TokenShape(t *testing.T) {
	tr := newTokenRig(t)
	valid := validToken(t)
	p := strings.Split(valid, ".")
	standard := strings.NewReplacer("-", "+", "_", "/").Replace(valid)
	cases := []hostile{
		{"2 segments", p[0] + "." + p[1], "malformed_token"},
		{"4 segments", valid + "." + p[2], "malformed_token"},
		{"empty signature", p[0] + "." + p[1] + ".", "malformed_token"},
		{"JWE, 5 segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn", "malformed_token"},
		{"JSON serialisation", `{"payload":"` + p[1] + `"}`, "malformed_token"},
		{"JSON serialisation with commas", gatewaytest.MustJSON(t, map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]}), "malformed_credential"},
		{"padded", p[0] + "=." + p[1] + "." + p[2], "malformed_token"},
		{"tab inside", p[0] + ".\t" + p[1] + "." + p[2], "malformed_credential"},
	}
	if standard != valid {
		cases = append(cases, hostile{"standard alphabet", standard, "malformed_token"})
	}
	refuseAll(t, tr, cases)
}

func TestT8TimeClaims(t *testing.T) {
	tr := newTokenRig(t)
	now := gatewaytest.FixedNow.Unix()
	k := gatewaytest.RSAKey()
	s := func(edits map[string]any) string {
		return gatewaytest.Sign(t, k, "rsa", "RS256", gatewaytest.Claims(edits))
	}
	raw := func(extra string) string {
		return gatewaytest.SignRaw(t, "RS256", k, rsaHeader(""), `{"iss":"`+gatewaytest.Issuer+`","aud":"`+gatewaytest.Audience+`"`+extra+`}`)
	}
	refuseAll(t, tr, []hostile{
		{"exp missing", s(map[string]any{"exp": nil}), "missing_exp"},
		{"exp null", raw(`,"exp":null`), "missing_exp"},
		{"exp a string", raw(`,"exp":"9999999999"`), "missing_exp"},
		{"exp == now", s(map[string]any{"exp": now}), "token_expired"},
		{"nbf ahead", s(map[string]any{"nbf": now + 1}), "token_not_yet_valid"},
		{"iat not a number", raw(`,"exp":9999999999,"iat":"now"`), "invalid_iat"},
	})
	t.Run("iat ahead passes (OCI applies the skew to exp and nbf only)", func(t *testing.T) {
		tr.Passes(t, "/test/r", gatewaytest.Bearer(s(map[string]any{"iat": now + 3600})))
	})
	t.Run("nbf == now passes", func(t *testing.T) {
		tr.Passes(t, "/test/r", gatewaytest.Bearer(s(map[string]any{"nbf": now})))
	})
}

func TestT9IssuerAndAudience(t *testing.T) {
	tr := newTokenRig(t)
	s := func(edits map[string]any) string {
		return gatewaytest.Sign(t, gatewaytest.RSAKey(), "rsa", "RS256", gatewaytest.Claims(edits))
	}
	refuseAll(t, tr, []hostile{
		{"aud missing", s(map[string]any{"aud": nil}), "wrong_audience"},
		{"aud []", s(map[string]any{"aud": []any{}}), "wrong_audience"},
		{"aud other", s(map[string]any{"aud": "api://other"}), "wrong_audience"},
		{"aud other case", s(map[string]any{"aud": strings.ToUpper(gatewaytest.Audience)}), "wrong_audience"},
		{"iss trailing slash", s(map[string]any{"iss": gatewaytest.Issuer + "/"}), "wrong_issuer"},
		{"iss other case", s(map[string]any{"iss": strings.ToUpper(gatewaytest.Issuer)}), "wrong_issuer"},
		{"iss missing", s(map[string]any{"iss": nil}), "wrong_issuer"},
	})
	t.Run("aud array holding ours passes", func(t *testing.T) {
		tr.Passes(t, "/test/r", gatewaytest.Bearer(s(map[string]any{"aud": []any{"x", gatewaytest.Audience}})))
	})
}

func TestT10Crit(t *testing.T) {
	tr := newTokenRig(t)
	payload := gatewaytest.MustJSON(t, gatewaytest.Claims(nil))
	k := gatewaytest.RSAKey()
	refuseAll(t, tr, []hostile{
		{"crit x-ext", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(`,"crit":["x-ext"],"x-ext":1`), payload), "forbidden_header"},
		{"crit b64 false", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(`,"crit":["b64"],"b64":false`), payload), "forbidden_header"},
	})
}

func TestT11DuplicatesAndCase(t *testing.T) {
	tr := newTokenRig(t)
	k := gatewaytest.RSAKey()
	exp := `,"exp":` + strconv.FormatInt(gatewaytest.FixedNow.Unix()+3600, 10)
	body := func(extra string) string {
		return `{"iss":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `"` + extra + `}`
	}
	refuseAll(t, tr, []hostile{
		{"alg twice", gatewaytest.SignRaw(t, "RS256", k, `{"alg":"RS256","alg":"none","kid":"rsa"}`, body(exp)), "malformed_token"},
		{"two scopes", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(""), body(exp+`,"scope":"x","scope":"orders:write"`)), "malformed_token"},
		{"EXP only", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(""), body(strings.ToUpper(exp))), "missing_exp"},
		{"Aud only", gatewaytest.SignRaw(t, "RS256", k, rsaHeader(""), `{"iss":"`+gatewaytest.Issuer+`","Aud":"`+gatewaytest.Audience+`"`+exp+`}`), "wrong_audience"},
	})
}

func TestT12Oversized(t *testing.T) {
	tr := newTokenRig(t)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	start := time.Now()
	refuseAll(t, tr, []hostile{
		{"16 KiB + 1", strings.Repeat("a", 16383) + ".a.", "token_too_large"},
		{"32 KiB of dots", strings.Repeat(".", 32<<10), "token_too_large"},
		{"JSON nested 10k deep", gatewaytest.Forge(rsaHeader(""), `{"a":`+deep[:10_000]+deep[len(deep)-10_000:]+`}`, []byte("s")), "token_too_large"},
		{"JSON nested 4k deep", gatewaytest.Forge(rsaHeader(""), `{"a":`+deep[:4000]+deep[len(deep)-4000:]+`}`, []byte("s")), "malformed_token"},
	})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("oversized tokens took %v, want them refused fast", d)
	}
	// The 1 MB token, 64 KiB of dots and JSON nested 100k deep exceed the
	// header limit itself: see TestHeaderAndTokenCaps.
}

func TestT13KeyTypeMismatch(t *testing.T) {
	tr := newTokenRig(t)
	refuseAll(t, tr, []hostile{
		{"EC kid, RS256", gatewaytest.Sign(t, gatewaytest.RSAKey(), "ec", "RS256", gatewaytest.Claims(nil)), "alg_not_allowed"},
		{"RSA kid, ES256", gatewaytest.Sign(t, gatewaytest.ECKey(), "rsa", "ES256", gatewaytest.Claims(nil)), "alg_not_allowed"},
		{"RSA kid, PS256", gatewaytest.Sign(t, gatewaytest.RSAKey(), "rsa", "PS256", gatewaytest.Claims(nil)), "alg_not_allowed"},
		{"EC kid, EdDSA", gatewaytest.Sign(t, gatewaytest.EdKey(), "ec", "EdDSA", gatewaytest.Claims(nil)), "alg_not_allowed"},
	})
}

// TestControls are the tokens keygate must accept, so the suite cannot pass
// by refusing everything.
func TestControls(t *testing.T) {
	tr := newTokenRig(t)
	tr.Passes(t, "/test/r", gatewaytest.Bearer(validToken(t)))
	tr.Passes(t, "/test/r", gatewaytest.Bearer(gatewaytest.Sign(t, gatewaytest.ECKey(), "ec", "ES256", gatewaytest.Claims(nil))))
	tr.Passes(t, "/test/r", http.Header{"Authorization": {"bearer " + validToken(t)}})
	tr.Passes(t, "/test/r", http.Header{"Authorization": {"BEARER " + validToken(t)}})
	tr.Passes(t, "/test/scoped", gatewaytest.Bearer(gatewaytest.Sign(t, gatewaytest.RSAKey(), "rsa", "RS256", gatewaytest.Claims(map[string]any{"scope": "orders:write"}))))
}
