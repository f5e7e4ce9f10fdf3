package adversarial

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// FuzzTokenPolicy is the fuzz target of the token policy layer: the fuzzer
// writes the header members and the payload, and the test signs them with
// the verifier's own key, so every input gets past the signature and only
// the policy (exp, nbf, iat, iss, aud, kid, crit, duplicates) decides. A
// token Verify accepts must satisfy that policy when its payload is read
// independently with encoding/json.
func FuzzTokenPolicy(f *testing.F) {
	valid := gatewaytest.MustJSON(f, gatewaytest.Claims(nil))
	for _, seed := range []struct{ header, payload string }{
		{`"kid":"ec"`, valid},
		{`"kid":"ec","typ":"JWT"`, `{"iss":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `","exp":1750003600}`},
		{`"kid":"ec"`, `{"iss":"` + gatewaytest.Issuer + `","aud":["x","` + gatewaytest.Audience + `"],"exp":1750003600.5,"nbf":1750000000}`},
		{`"kid":"ec"`, `{"iss":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `","exp":1750000000}`},
		{`"kid":"ec","crit":["b64"],"b64":false`, valid},
		{`"kid":"ec","kid":"ec"`, valid},
		{`"kid":"ec"`, `{"iss":"` + gatewaytest.Issuer + `","iss":"x","aud":"` + gatewaytest.Audience + `","exp":1750003600}`},
		{`"kid":"ec"`, `{"ISS":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `","EXP":1750003600}`},
		{`"kid":"ec"`, `{"iss":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `","exp":"1750003600"}`},
		{`"kid":"ec"`, `{"iss":"` + gatewaytest.Issuer + `","aud":"` + gatewaytest.Audience + `","exp":1e400}`},
		{`"kid":"rsa"`, valid},
		{``, valid},
	} {
		f.Add(seed.header, seed.payload)
	}
	ec := gatewaytest.ECKey()
	key, err := keys.NewKey("ec", "ES256", &ec.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	set, err := keys.NewStaticSet(key)
	if err != nil {
		f.Fatal(err)
	}
	verifier := token.NewVerifier(set, token.Policy{Issuers: []string{gatewaytest.Issuer}, Audiences: []string{gatewaytest.Audience}}, gatewaytest.FixedClock)
	now := float64(gatewaytest.FixedNow.Unix())
	f.Fuzz(func(t *testing.T, headerMembers, payload string) {
		header := `{"alg":"ES256"`
		if headerMembers != "" {
			header += "," + headerMembers
		}
		header += "}"
		tok := gatewaytest.SignRaw(t, "ES256", ec, header, payload)
		_, err := verifier.Verify(tok)
		_, errs := verifier.Check(tok)
		if (err == nil) != (len(errs) == 0) {
			t.Fatalf("Verify says %v but Check says %v", err, errs)
		}
		if err != nil {
			if token.Reason(err) == "invalid_token" {
				t.Fatalf("rejection %v carries no reason code", err)
			}
			return
		}
		h := decodeNumbers(t, header)
		if h["kid"] != "ec" || h["alg"] != "ES256" {
			t.Fatalf("accepted header %s", header)
		}
		for _, name := range []string{"crit", "jwk", "jku", "x5u", "x5c"} {
			if _, ok := h[name]; ok {
				t.Fatalf("accepted a header with %q: %s", name, header)
			}
		}
		c := decodeNumbers(t, payload)
		if c["iss"] != gatewaytest.Issuer {
			t.Fatalf("accepted iss %v", c["iss"])
		}
		switch aud := c["aud"].(type) {
		case string:
			if aud != gatewaytest.Audience {
				t.Fatalf("accepted aud %q", aud)
			}
		case []any:
			if !slices.Contains(aud, any(gatewaytest.Audience)) {
				t.Fatalf("accepted aud %v", aud)
			}
		default:
			t.Fatalf("accepted aud %v", aud)
		}
		if exp, ok := number(c["exp"]); !ok || exp <= now {
			t.Fatalf("accepted exp %v at %v", c["exp"], now)
		}
		if v, present := c["nbf"]; present {
			if n, ok := number(v); !ok || n > now {
				t.Fatalf("accepted nbf %v at %v", v, now)
			}
		}
		// An iat in the future is accepted (OCI applies the clock skew to
		// exp and nbf only, attacks.md T8), but it must be a number.
		if v, present := c["iat"]; present {
			if _, ok := number(v); !ok {
				t.Fatalf("accepted iat %v", v)
			}
		}
	})
}

// decodeNumbers reads a JSON object the way an independent consumer would.
func decodeNumbers(t *testing.T, text string) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(text)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("accepted a token whose JSON %q encoding/json refuses: %v", text, err)
	}
	return m
}

// number reads a JSON number; one beyond float64 (1e400) is ±Inf, a date
// further than any clock.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil || errors.Is(err, strconv.ErrRange)
}
