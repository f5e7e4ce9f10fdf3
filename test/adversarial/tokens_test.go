package adversarial

import (
	"crypto/ed25519"
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

func (tr *tokenRig) refuseAll(t *testing.T, cases []hostile) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr.refusedFor(t, prefix+"/r", bearer(c.token), http.StatusUnauthorized, c.reason)
			tr.noSecrets(t, c.token, c.token[strings.LastIndexByte(c.token, '.')+1:])
		})
	}
}

// rsaHeader is a JOSE header for the rsa key with extra members.
func rsaHeader(extra string) string { return `{"alg":"RS256","kid":"rsa","typ":"JWT"` + extra + `}` }

// forge assembles header.payload.signature from texts and raw bytes.
func forge(header, payload string, sig []byte) string {
	return b64([]byte(header)) + "." + b64([]byte(payload)) + "." + b64(sig)
}

func TestT1AlgNone(t *testing.T) {
	tr := newTokenRig(t)
	payload := mustJSON(t, claims(nil))
	kept := tr.valid(t)[strings.LastIndexByte(tr.valid(t), '.')+1:]
	var cases []hostile
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		unsigned := b64([]byte(`{"alg":"`+alg+`","kid":"rsa"}`)) + "." + b64([]byte(payload))
		cases = append(cases,
			hostile{alg + " empty signature", unsigned + ".", "malformed_token"},
			hostile{alg + " signature kept", unsigned + "." + kept, "alg_not_allowed"})
	}
	tr.refuseAll(t, cases)
}

func TestT2HMACKeyedWithThePublicKey(t *testing.T) {
	tr := newTokenRig(t)
	pub := &signers().rsa.PublicKey
	pemText, err := keys.EncodePublicPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	payload := mustJSON(t, claims(nil))
	secrets := map[string][]byte{"PEM": pemText, "DER": der, "PKCS1": x509.MarshalPKCS1PublicKey(pub),
		"JWK n": []byte(b64(pub.N.Bytes()))}
	var cases []hostile
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for name, secret := range secrets {
			cases = append(cases, hostile{alg + " " + name,
				signRaw(t, alg, secret, `{"alg":"`+alg+`","kid":"rsa"}`, payload), "alg_not_allowed"})
		}
	}
	tr.refuseAll(t, cases)
}

func TestT3EmbeddedJWK(t *testing.T) {
	tr := newTokenRig(t)
	attacker := signers().attacker
	j, err := keys.PublicJWK(&attacker.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwk := mustJSON(t, map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X, "y": j.Y})
	payload := mustJSON(t, claims(nil))
	tr.refuseAll(t, []hostile{
		{"jwk with a known kid", signRaw(t, "ES256", attacker, `{"alg":"ES256","kid":"ec","jwk":`+jwk+`}`, payload), "forbidden_header"},
		{"jwk with its own kid", signRaw(t, "ES256", attacker, `{"alg":"ES256","kid":"evil","jwk":`+jwk+`}`, payload), "forbidden_header"},
		{"jwk, no kid", signRaw(t, "ES256", attacker, `{"alg":"ES256","jwk":`+jwk+`}`, payload), "missing_kid"},
	})
}

func TestT4KeyURLsMakeNoRequest(t *testing.T) {
	tr := newTokenRig(t)
	attacker := signers().attacker
	var hits counter
	evil := httptest.NewServer(hits.handler(http.NotFoundHandler()))
	defer evil.Close()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"},
		NotBefore: fixedNow.Add(-time.Hour), NotAfter: fixedNow.Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	if err != nil {
		t.Fatal(err)
	}
	payload := mustJSON(t, claims(nil))
	x5c := mustJSON(t, []string{base64.StdEncoding.EncodeToString(cert)})
	s := func(h string) string { return signRaw(t, "ES256", attacker, h, payload) }
	tr.refuseAll(t, []hostile{
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
		cases = append(cases, hostile{name, sign(t, signers().rsa, kid, "RS256", claims(nil)), "unknown_kid"})
	}
	tr.refuseAll(t, cases)
	for _, l := range tr.log.lines(t) {
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
	payload := mustJSON(t, claims(nil))
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	tr.refuseAll(t, []hostile{
		{"r = s = 0", forge(h, payload, make([]byte, 64)), "bad_signature"},
		{"r = s = n", forge(h, payload, append(append([]byte{}, n...), n...)), "bad_signature"},
		{"r = n, s = 0", forge(h, payload, append(append([]byte{}, n...), make([]byte, 32)...)), "bad_signature"},
		{"one zero byte", forge(h, payload, []byte{0}), "bad_signature"},
	})
}

func TestT7TokenShape(t *testing.T) {
	tr := newTokenRig(t)
	valid := tr.valid(t)
	p := strings.Split(valid, ".")
	standard := strings.NewReplacer("-", "+", "_", "/").Replace(valid)
	cases := []hostile{
		{"2 segments", p[0] + "." + p[1], "malformed_token"},
		{"4 segments", valid + "." + p[2], "malformed_token"},
		{"empty signature", p[0] + "." + p[1] + ".", "malformed_token"},
		{"JWE, 5 segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn", "malformed_token"},
		{"JSON serialisation", `{"payload":"` + p[1] + `"}`, "malformed_token"},
		{"JSON serialisation with commas", mustJSON(t, map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]}), "malformed_credential"},
		{"padded", p[0] + "=." + p[1] + "." + p[2], "malformed_token"},
		{"tab inside", p[0] + ".\t" + p[1] + "." + p[2], "malformed_credential"},
	}
	if standard != valid {
		cases = append(cases, hostile{"standard alphabet", standard, "malformed_token"})
	}
	tr.refuseAll(t, cases)
}

func TestT8TimeClaims(t *testing.T) {
	tr := newTokenRig(t)
	now := fixedNow.Unix()
	k := signers().rsa
	s := func(edits map[string]any) string { return sign(t, k, "rsa", "RS256", claims(edits)) }
	raw := func(extra string) string {
		return signRaw(t, "RS256", k, rsaHeader(""), `{"iss":"`+issuer+`","aud":"`+audience+`"`+extra+`}`)
	}
	tr.refuseAll(t, []hostile{
		{"exp missing", s(map[string]any{"exp": nil}), "missing_exp"},
		{"exp null", raw(`,"exp":null`), "missing_exp"},
		{"exp a string", raw(`,"exp":"9999999999"`), "missing_exp"},
		{"exp == now", s(map[string]any{"exp": now}), "token_expired"},
		{"nbf ahead", s(map[string]any{"nbf": now + 1}), "token_not_yet_valid"},
		{"iat not a number", raw(`,"exp":9999999999,"iat":"now"`), "invalid_iat"},
	})
	t.Run("iat ahead passes (OCI applies the skew to exp and nbf only)", func(t *testing.T) {
		tr.passes(t, prefix+"/r", bearer(s(map[string]any{"iat": now + 3600})))
	})
	t.Run("nbf == now passes", func(t *testing.T) {
		tr.passes(t, prefix+"/r", bearer(s(map[string]any{"nbf": now})))
	})
}

func TestT9IssuerAndAudience(t *testing.T) {
	tr := newTokenRig(t)
	s := func(edits map[string]any) string { return sign(t, signers().rsa, "rsa", "RS256", claims(edits)) }
	tr.refuseAll(t, []hostile{
		{"aud missing", s(map[string]any{"aud": nil}), "wrong_audience"},
		{"aud []", s(map[string]any{"aud": []any{}}), "wrong_audience"},
		{"aud other", s(map[string]any{"aud": "api://other"}), "wrong_audience"},
		{"aud other case", s(map[string]any{"aud": strings.ToUpper(audience)}), "wrong_audience"},
		{"iss trailing slash", s(map[string]any{"iss": issuer + "/"}), "wrong_issuer"},
		{"iss other case", s(map[string]any{"iss": strings.ToUpper(issuer)}), "wrong_issuer"},
		{"iss missing", s(map[string]any{"iss": nil}), "wrong_issuer"},
	})
	t.Run("aud array holding ours passes", func(t *testing.T) {
		tr.passes(t, prefix+"/r", bearer(s(map[string]any{"aud": []any{"x", audience}})))
	})
}

func TestT10Crit(t *testing.T) {
	tr := newTokenRig(t)
	payload := mustJSON(t, claims(nil))
	k := signers().rsa
	tr.refuseAll(t, []hostile{
		{"crit x-ext", signRaw(t, "RS256", k, rsaHeader(`,"crit":["x-ext"],"x-ext":1`), payload), "forbidden_header"},
		{"crit b64 false", signRaw(t, "RS256", k, rsaHeader(`,"crit":["b64"],"b64":false`), payload), "forbidden_header"},
	})
}

func TestT11DuplicatesAndCase(t *testing.T) {
	tr := newTokenRig(t)
	k := signers().rsa
	exp := `,"exp":` + strconv.FormatInt(fixedNow.Unix()+3600, 10)
	body := func(extra string) string { return `{"iss":"` + issuer + `","aud":"` + audience + `"` + extra + `}` }
	tr.refuseAll(t, []hostile{
		{"alg twice", signRaw(t, "RS256", k, `{"alg":"RS256","alg":"none","kid":"rsa"}`, body(exp)), "malformed_token"},
		{"two scopes", signRaw(t, "RS256", k, rsaHeader(""), body(exp+`,"scope":"x","scope":"orders:write"`)), "malformed_token"},
		{"EXP only", signRaw(t, "RS256", k, rsaHeader(""), body(strings.ToUpper(exp))), "missing_exp"},
		{"Aud only", signRaw(t, "RS256", k, rsaHeader(""), `{"iss":"`+issuer+`","Aud":"`+audience+`"`+exp+`}`), "wrong_audience"},
	})
}

func TestT12Oversized(t *testing.T) {
	tr := newTokenRig(t)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	start := time.Now()
	tr.refuseAll(t, []hostile{
		{"16 KiB + 1", strings.Repeat("a", 16383) + ".a.", "token_too_large"},
		{"32 KiB of dots", strings.Repeat(".", 32<<10), "token_too_large"},
		{"JSON nested 10k deep", forge(rsaHeader(""), `{"a":`+deep[:10_000]+deep[len(deep)-10_000:]+`}`, []byte("s")), "token_too_large"},
		{"JSON nested 4k deep", forge(rsaHeader(""), `{"a":`+deep[:4000]+deep[len(deep)-4000:]+`}`, []byte("s")), "malformed_token"},
	})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("oversized tokens took %v, want them refused fast", d)
	}
	// The 1 MB token, 64 KiB of dots and JSON nested 100k deep exceed the
	// header limit itself: see TestHeaderAndTokenCaps.
}

func TestT13KeyTypeMismatch(t *testing.T) {
	tr := newTokenRig(t)
	s := signers()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tr.refuseAll(t, []hostile{
		{"EC kid, RS256", sign(t, s.rsa, "ec", "RS256", claims(nil)), "alg_not_allowed"},
		{"RSA kid, ES256", sign(t, s.ec, "rsa", "ES256", claims(nil)), "alg_not_allowed"},
		{"RSA kid, PS256", sign(t, s.rsa, "rsa", "PS256", claims(nil)), "alg_not_allowed"},
		{"EC kid, EdDSA", sign(t, ed, "ec", "EdDSA", claims(nil)), "alg_not_allowed"},
	})
}

// TestControls are the tokens keygate must accept, so the suite cannot pass
// by refusing everything.
func TestControls(t *testing.T) {
	tr := newTokenRig(t)
	s := signers()
	tr.passes(t, prefix+"/r", bearer(tr.valid(t)))
	tr.passes(t, prefix+"/r", bearer(sign(t, s.ec, "ec", "ES256", claims(nil))))
	tr.passes(t, prefix+"/r", http.Header{"Authorization": {"bearer " + tr.valid(t)}})
	tr.passes(t, prefix+"/r", http.Header{"Authorization": {"BEARER " + tr.valid(t)}})
	tr.passes(t, prefix+"/scoped", bearer(sign(t, s.rsa, "rsa", "RS256", claims(map[string]any{"scope": "orders:write"}))))
}
