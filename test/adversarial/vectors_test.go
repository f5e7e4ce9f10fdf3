package adversarial

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// Published JWS test vectors (testdata/vectors, each file citing its RFC):
// RFC 7515 appendix A.2 (RS256) and A.3 (ES256), RFC 7520 sections 4.1
// (RS256) and 4.3 (ES512).
//
// None of them is a token keygate may accept: the RFC 7515 ones have no kid
// (and expired in 2011), the RFC 7520 ones sign a line of prose, not a
// claims object. So the signature layer is tested on its own: the key,
// parsed by the keys package, verifies each signing input with the method
// the token package uses for its alg (golang-jwt's), and refuses each with
// any single byte changed. Then the token package and the gateway must
// refuse each vector for the policy reason alone.

// vector is one testdata/vectors file.
type vector struct {
	Source string          `json:"source"`
	Alg    string          `json:"alg"`
	JWK    json.RawMessage `json:"jwk"`
	JWS    string          `json:"jws"`
	name   string
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	files, err := filepath.Glob("testdata/vectors/*.json")
	if err != nil || len(files) != 4 {
		t.Fatalf("want 4 vector files, found %d (%v)", len(files), err)
	}
	var out []vector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(v.Source, "RFC 75") {
			t.Fatalf("%s cites no RFC", f)
		}
		v.name = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, v)
	}
	return out
}

// key parses the vector's JWK with the keys package, bound to its alg.
func (v vector) key(t *testing.T, kid string) *keys.Key {
	t.Helper()
	parsed, err := keys.ParseJWK(v.JWK)
	if err != nil {
		t.Fatalf("keys.ParseJWK: %v", err)
	}
	k, err := keys.NewKey(kid, v.Alg, parsed.Public)
	if err != nil {
		t.Fatalf("keys.NewKey: %v", err)
	}
	return k
}

// verifySignature is the signature check of the token package: the
// golang-jwt method of the key's algorithm over header.payload as sent.
func verifySignature(k *keys.Key, jws string) error {
	i := strings.LastIndexByte(jws, '.')
	sig, err := base64.RawURLEncoding.Strict().DecodeString(jws[i+1:])
	if err != nil {
		return err
	}
	return jwt.GetSigningMethod(k.Algorithm).Verify(jws[:i], sig, k.Public)
}

// withByteChanged re-encodes segment seg of jws with decoded byte at i
// changed (xor 0x01).
func withByteChanged(jws string, seg, i int) string {
	parts := strings.Split(jws, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[seg])
	b = bytes.Clone(b)
	b[i] ^= 0x01
	parts[seg] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestVectorsSignatureLayer(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			k := v.key(t, "rfc")
			if err := verifySignature(k, v.JWS); err != nil {
				t.Fatalf("the published vector does not verify: %v", err)
			}
			parts := strings.Split(v.JWS, ".")
			changed := 0
			for seg := range 3 {
				raw, _ := base64.RawURLEncoding.DecodeString(parts[seg])
				for i := range raw {
					if seg < 2 && i%7 != 0 && i != len(raw)-1 {
						continue // every 7th byte of header and payload; every signature byte
					}
					if err := verifySignature(k, withByteChanged(v.JWS, seg, i)); err == nil {
						t.Errorf("verifies with byte %d of segment %d changed", i, seg)
					}
					changed++
				}
			}
			t.Logf("%d one-byte changes, all refused", changed)
		})
	}
}

// rfc7515Exp is the exp of the RFC 7515 examples: 2011-03-22T18:43:00Z.
var rfc7515Exp = time.Unix(1300819380, 0)

func TestVectorsTokenPolicy(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			set, err := keys.NewStaticSet(v.key(t, "rfc"), v.key(t, "bilbo.baggins@hobbiton.example"))
			if err != nil {
				t.Fatal(err)
			}
			jsonPayload := strings.HasPrefix(v.name, "rfc7515")
			for _, tt := range []struct {
				now  time.Time
				want []string
			}{
				{rfc7515Exp.Add(-time.Minute), []string{"missing_kid"}},
				{rfc7515Exp, []string{"missing_kid", "token_expired"}},
			} {
				if !jsonPayload {
					tt.want = []string{"malformed_token"} // prose, not a claims object
				}
				verifier := token.NewVerifier(set, token.Policy{}, func() time.Time { return tt.now })
				_, errs := verifier.Check(v.JWS)
				var got []string
				for _, e := range errs {
					got = append(got, token.Reason(e))
					if errors.Is(e, token.ErrBadSignature) {
						t.Errorf("Check reports a bad signature on the published vector: %v", e)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("at %v: Check reasons = %v, want %v", tt.now.UTC(), got, tt.want)
				}
				if _, err := verifier.Verify(v.JWS); token.Reason(err) != tt.want[0] {
					t.Errorf("Verify = %v, want reason %s", err, tt.want[0])
				}
			}
		})
	}
}

func TestVectorsThroughTheGateway(t *testing.T) {
	var entries []map[string]any
	vs := loadVectors(t)
	for _, v := range vs {
		var m map[string]any
		if err := json.Unmarshal(v.JWK, &m); err != nil {
			t.Fatal(err)
		}
		m["format"], m["alg"], m["kid"] = "JSON_WEB_KEY", v.Alg, v.name
		entries = append(entries, m)
	}
	b := gatewaytest.NewBackend(t)
	r := gatewaytest.Start(t, gatewaytest.Spec(gatewaytest.JWTAuth(gatewaytest.StaticKeys(entries...)), gatewaytest.HTTPRoute("/r", b.URL+"/r", nil)), b,
		gatewaytest.Options{Now: func() time.Time { return rfc7515Exp.Add(-time.Minute) }})
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			want := "missing_kid"
			if !strings.HasPrefix(v.name, "rfc7515") {
				want = "malformed_token"
			}
			r.RefusedFor(t, "/test/r", gatewaytest.Bearer(v.JWS), http.StatusUnauthorized, want)
		})
	}
}
