package adversarial

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// The mutation table: hostile requests generated from one valid request
// (an RS256 token with scope orders:write to the ANY_OF orders:write route)
// by changing one thing at a time. Each must end in its status with the
// backend untouched and a reason in the log. Mutations that leave the
// token valid (typ, sub, iat or nbf of 0) are run as controls that must
// pass, so the table cannot pass by refusing everything.

// mutationValues are what each field is set to in turn.
var mutationValues = []struct {
	name  string
	value any
}{
	{"null", nil}, {"true", true}, {"0", 0}, {`""`, ""}, {"[]", []any{}}, {"{}", map[string]any{}},
	{"10 kB string", strings.Repeat("m", 10_000)},
}

// mutation is one generated request.
type mutation struct {
	name   string
	token  string
	status int // 200 for a control
}

func mutations(t *testing.T) []mutation {
	t.Helper()
	key := gatewaytest.RSAKey()
	header := map[string]any{"alg": "RS256", "kid": "rsa", "typ": "JWT"}
	payload := gatewaytest.Claims(map[string]any{"scope": "orders:write", "nbf": gatewaytest.FixedNow.Add(-60e9).Unix()})
	signed := func(h, p map[string]any) string {
		return gatewaytest.SignRaw(t, "RS256", key, gatewaytest.MustJSON(t, h), gatewaytest.MustJSON(t, p))
	}
	var out []mutation
	for _, v := range mutationValues {
		for _, field := range []string{"alg", "kid", "typ"} {
			h := maps.Clone(header)
			h[field] = v.value
			m := mutation{name: "header " + field + " = " + v.name, token: signed(h, payload), status: http.StatusUnauthorized}
			if field == "typ" {
				m.status = http.StatusOK // keygate does not act on typ
			}
			out = append(out, m)
		}
		for _, field := range []string{"iss", "aud", "exp", "iat", "nbf", "scope", "sub"} {
			p := maps.Clone(payload)
			p[field] = v.value
			status := http.StatusUnauthorized
			switch {
			case field == "scope":
				status = http.StatusForbidden
			case field == "sub", (field == "iat" || field == "nbf") && v.name == "0":
				status = http.StatusOK
			}
			out = append(out, mutation{name: "payload " + field + " = " + v.name, token: signed(header, p), status: status})
		}
	}

	// alg/kid/typ permutations under the original signature: the header is
	// not what was signed, so none may pass.
	valid := signed(header, payload)
	sig := valid[strings.LastIndexByte(valid, '.')+1:]
	body := valid[strings.IndexByte(valid, '.')+1 : strings.LastIndexByte(valid, '.')]
	for _, alg := range []string{"RS256", "RS512", "PS256", "ES256", "HS256", "EdDSA", "none", "rs256"} {
		for _, kid := range []string{"rsa", "ec", "evil"} {
			for _, typ := range []string{"JWT", "at+jwt", ""} {
				h := map[string]any{"alg": alg, "kid": kid}
				if typ != "" {
					h["typ"] = typ
				}
				forged := gatewaytest.B64([]byte(gatewaytest.MustJSON(t, h))) + "." + body + "." + sig
				if forged == valid {
					continue // the original itself
				}
				out = append(out, mutation{name: fmt.Sprintf("permutation %s/%s/%s", alg, kid, typ), token: forged, status: http.StatusUnauthorized})
			}
		}
	}

	// Every byte of the signature flipped in turn.
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		flipped := append([]byte(nil), raw...)
		flipped[i] ^= 0xff
		out = append(out, mutation{name: fmt.Sprintf("signature byte %d flipped", i),
			token: valid[:strings.LastIndexByte(valid, '.')+1] + gatewaytest.B64(flipped), status: http.StatusUnauthorized})
	}
	return append(out, mutation{name: "control: the original", token: valid, status: http.StatusOK})
}

func TestMutatedRequests(t *testing.T) {
	tr := newTokenRig(t)
	ms := mutations(t)
	hostile := 0
	for _, m := range ms {
		if m.status != http.StatusOK {
			hostile++
		}
	}
	if hostile < 60 {
		t.Fatalf("the table holds %d hostile requests, want at least 60", hostile)
	}
	t.Logf("%d hostile requests, %d controls", hostile, len(ms)-hostile)
	for _, m := range ms {
		t.Run(m.name, func(t *testing.T) {
			if m.status == http.StatusOK {
				tr.Passes(t, "/test/scoped", gatewaytest.Bearer(m.token))
				return
			}
			if _, reason := tr.Refused(t, http.MethodGet, "/test/scoped", gatewaytest.Bearer(m.token), m.status); reason == "" {
				t.Errorf("refused without a reason in the log")
			}
		})
	}
	tr.Log.NoSecrets(t, ms[len(ms)-1].token)
}

// TestMutatedClaimsNeverGrantScope checks the one mutation that must not
// merely be refused but refused for the right reason: a scope claim of any
// other shape grants nothing.
func TestMutatedClaimsNeverGrantScope(t *testing.T) {
	tr := newTokenRig(t)
	for _, v := range mutationValues {
		shapes := []any{v.value, []any{v.value}}
		if _, isString := v.value.(string); !isString {
			// A non-string element spoils the whole array, however good
			// the rest is; a string element is just another scope.
			shapes = append(shapes, []any{"orders:write", v.value})
		}
		for _, shape := range shapes {
			tok := validTokenWith(t, map[string]any{"scope": shape})
			name, _ := json.Marshal(shape)
			t.Run(string(name[:min(len(name), 40)]), func(t *testing.T) {
				tr.RefusedFor(t, "/test/scoped", gatewaytest.Bearer(tok), http.StatusForbidden, "insufficient_scope")
			})
		}
	}
}
