package token

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// fuzzTokens are the valid tokens the fuzz targets start from; a Verifier
// with the fixture's keys accepts exactly these.
func fuzzTokens(f *testing.F) []string {
	var toks []string
	for _, kid := range []string{"rs256", "ps256", "es256", "es512", "eddsa"} {
		toks = append(toks, signKid(f, kid, validClaims()))
	}
	return toks
}

// hostileTokens seed FuzzVerify with the shapes of attacks.md.
func hostileTokens(f *testing.F, valid string) []string {
	fx := loadFixture()
	segs := strings.Split(valid, ".")
	return []string{
		"", ".", "..", "a.b.c", valid + ".", " " + valid, segs[0] + "." + segs[1] + ".",
		b64(`{"alg":"none","kid":"rs256"}`) + "." + segs[1] + "." + segs[2],
		signRaw(f, "HS256", []byte("secret"), `{"alg":"HS256","kid":"rs256"}`, validPayload()),
		signRaw(f, "RS256", fx.attacker, `{"alg":"RS256","kid":"rs256","jku":"http://x"}`, validPayload()),
		signRaw(f, "ES256", fx.p256, `{"alg":"ES256","alg":"none","kid":"es256"}`, validPayload()),
		signRaw(f, "ES256", fx.p256, `{"alg":"ES256","kid":"es256","crit":["b64"],"b64":false}`, validPayload()),
		b64(`{"alg":"ES256","kid":"es256"}`) + "." + b64(validPayload()) + "." + strings.Repeat("A", 86),
		b64(`{"alg":"ES256","kid":"es256"}`) + "." + b64(`{"a":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`) + ".AAAA",
		`{"payload":"e30","signatures":[]}`,
	}
}

func newFuzzVerifier(f *testing.F) *Verifier {
	v, _ := newTestVerifier(f, testPolicy())
	return v
}

// FuzzVerify feeds Verify and Check arbitrary strings. Neither may panic,
// they must agree, and the only tokens accepted are the seeds signed with
// the fixture keys: a fuzzer that cannot sign cannot make a new valid
// token, so any other accepted input means a mutation slipped through.
func FuzzVerify(f *testing.F) {
	valid := fuzzTokens(f)
	for _, s := range append(valid, hostileTokens(f, valid[0])...) {
		f.Add(s)
	}
	v := newFuzzVerifier(f)
	accepted := map[string]bool{}
	for _, s := range valid {
		accepted[s] = true
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := v.Verify(raw)
		_, errs := v.Check(raw)
		if (err == nil) != (len(errs) == 0) {
			t.Fatalf("Verify error %v but Check errors %v", err, errs)
		}
		if err == nil {
			if tok == nil || !accepted[raw] {
				t.Fatalf("accepted a token that was never signed: %q", raw)
			}
			return
		}
		if Reason(err) == "invalid_token" {
			t.Fatalf("error %v carries no reason code", err)
		}
		if len(err.Error()) > 1024 {
			t.Fatalf("error message is %d bytes, want it bounded", len(err.Error()))
		}
	})
}

// FuzzVerifySignature replaces the signature of a valid token with
// arbitrary, correctly encoded bytes: only the original may pass. ECDSA's
// (r, n-s) twin is the one other valid signature, and no fuzzer finds it.
func FuzzVerifySignature(f *testing.F) {
	valid := fuzzTokens(f)
	for i, tok := range valid {
		sig := must(base64.RawURLEncoding.DecodeString(signatureOf(tok)))
		f.Add(uint8(i), sig)
		flipped := bytes.Clone(sig)
		flipped[len(flipped)/2] ^= 1
		f.Add(uint8(i), flipped)
		f.Add(uint8(i), make([]byte, len(sig)))
	}
	v := newFuzzVerifier(f)
	f.Fuzz(func(t *testing.T, which uint8, sig []byte) {
		tok := valid[int(which)%len(valid)]
		orig := must(base64.RawURLEncoding.DecodeString(signatureOf(tok)))
		raw := tok[:strings.LastIndexByte(tok, '.')+1] + base64.RawURLEncoding.EncodeToString(sig)
		_, err := v.Verify(raw)
		if bytes.Equal(sig, orig) {
			if err != nil {
				t.Fatalf("original signature rejected: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("accepted a changed signature %x (original %x)", sig, orig)
		}
	})
}
