package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
)

func TestVerifyAcceptsEachAlgorithm(t *testing.T) {
	v, _ := newTestVerifier(t, testPolicy())
	for _, kid := range []string{"rs256", "rs384", "rs512", "ps256", "ps384", "ps512", "es256", "es384", "es512", "eddsa"} {
		t.Run(kid, func(t *testing.T) {
			raw := signKid(t, kid, validClaims())
			tok, err := v.Verify(raw)
			if err != nil {
				t.Fatalf("Verify: got error %v, want nil", err)
			}
			wantAlg := loadFixture().keys[kid].Algorithm
			if got := tok.Header; got != (Header{KeyID: kid, Algorithm: wantAlg, Type: "JWT"}) {
				t.Errorf("Header = %+v, want kid %q alg %q typ JWT", got, kid, wantAlg)
			}
			if got := tok.Claims.Subject(); got != "client-1" {
				t.Errorf("Subject() = %q, want %q", got, "client-1")
			}
			if got, want := tok.Claims.Scopes(), []string{"orders.read", "orders.write"}; !slices.Equal(got, want) {
				t.Errorf("Scopes() = %q, want %q", got, want)
			}
		})
	}
}

// TestVerifyReturnsUnverifiedToken shows the gateway gets kid, iss and sub
// of a rejected token for its log, and nothing when the header is garbage.
func TestVerifyReturnsUnverifiedToken(t *testing.T) {
	v, _ := newTestVerifier(t, testPolicy())
	expired := signKid(t, "es256", withClaims(map[string]any{"exp": testNow.Add(-time.Hour).Unix()}))
	badPayload := b64(`{"alg":"ES256","kid":"es256"}`) + "." + b64(`{"sub":`) + ".c2ln"
	tests := []struct {
		name             string
		raw              string
		wantNil          bool
		wantKID, wantSub string
	}{
		{name: "expired", raw: expired, wantKID: "es256", wantSub: "client-1"},
		{name: "payload not JSON", raw: badPayload, wantKID: "es256"},
		{name: "header not JSON", raw: b64(`{"kid":`) + "." + b64(`{}`) + ".c2ln", wantNil: true},
		{name: "not a JWS", raw: "garbage", wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := v.Verify(tt.raw)
			if err == nil {
				t.Fatal("Verify: got nil error, want a rejection")
			}
			if got := tok == nil; got != tt.wantNil {
				t.Fatalf("token == nil: got %v, want %v", got, tt.wantNil)
			}
			if tok == nil {
				return
			}
			if tok.Header.KeyID != tt.wantKID || tok.Claims.Subject() != tt.wantSub {
				t.Errorf("got kid %q sub %q, want kid %q sub %q",
					tok.Header.KeyID, tok.Claims.Subject(), tt.wantKID, tt.wantSub)
			}
		})
	}
}

func TestVerifyResolverErrors(t *testing.T) {
	raw := signKid(t, "rs256", validClaims())
	tests := []struct {
		name     string
		resolver keys.Resolver
		want     []error
	}{
		{"unknown kid", &mapResolver{}, []error{ErrUnknownKID, keys.ErrUnknownKID}},
		{"unavailable", failingResolver{fmt.Errorf("jwks https://idp.example/keys: %w", keys.ErrKeysUnavailable)},
			[]error{ErrKeysUnavailable, keys.ErrKeysUnavailable}},
		{"other failure", failingResolver{errors.New("disk on fire")}, []error{ErrKeysUnavailable}},
		{"nil key", failingResolver{nil}, []error{ErrKeysUnavailable}},
		{"nil resolver", nil, []error{ErrKeysUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(tt.resolver, testPolicy(), func() time.Time { return testNow })
			_, err := v.Verify(raw)
			wantRejected(t, err, tt.want[0])
			for _, w := range tt.want[1:] {
				if !errors.Is(err, w) {
					t.Errorf("errors.Is(err, %v) = false, want true", w)
				}
			}
		})
	}
}

func TestVerifyMessages(t *testing.T) {
	longKID := strings.Repeat("k", 10000)
	tests := []struct {
		name string
		raw  func(t *testing.T) string
		want string
	}{
		{"unknown kid", func(t *testing.T) string {
			return signRaw(t, "RS256", loadFixture().rsa, `{"alg":"RS256","kid":"abc"}`, validPayload())
		}, `no key with kid "abc" in the deployment's keys`},
		{"wrong issuer", func(t *testing.T) string {
			return signKid(t, "rs256", withClaims(map[string]any{"iss": "a"}))
		}, `iss "a" is not one of the configured issuers ["https://issuer.example.com"]`},
		{"expired", func(t *testing.T) string {
			return signKid(t, "rs256", withClaims(map[string]any{"exp": testNow.Add(-3 * time.Minute).Unix()}))
		}, `token expired at 2026-11-27T09:57:00Z (3m0s ago, clock skew allowed 0s)`},
		{"long kid is cut", func(t *testing.T) string {
			return signRaw(t, "RS256", loadFixture().rsa, `{"alg":"RS256","kid":"`+longKID+`"}`, validPayload())
		}, `no key with kid "` + longKID[:64] + `"... in the deployment's keys`},
	}
	v, _ := newTestVerifier(t, testPolicy())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.raw(t))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCheckReportsEveryProblem shows the explainer sees all claim problems
// of a token at once, and signature problems next to them.
func TestCheckReportsEveryProblem(t *testing.T) {
	f := loadFixture()
	bad := withClaims(map[string]any{"exp": testNow.Add(-time.Minute).Unix(), "iss": "https://other", "aud": "other"})
	tests := []struct {
		name string
		raw  string
		want []error
	}{
		{"valid", signKid(t, "es256", validClaims()), nil},
		{"expired, wrong iss and aud", signKid(t, "es256", bad), []error{ErrExpired, ErrIssuer, ErrAudience}},
		{"bad signature and expired",
			signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"rs256"}`, string(must(json.Marshal(bad)))),
			[]error{ErrBadSignature, ErrExpired, ErrIssuer, ErrAudience}},
		{"unknown kid and forbidden header",
			signRaw(t, "RS256", f.attacker, `{"alg":"RS256","kid":"nope","jku":"https://evil"}`, validPayload()),
			[]error{ErrForbiddenHeader, ErrUnknownKID}},
		{"no kid, bad alg type, missing claims",
			signRaw(t, "RS256", f.rsa, `{"alg":7}`, `{}`),
			[]error{ErrMalformed, ErrMissingKID, ErrMissingExp, ErrIssuer, ErrAudience}},
		{"structural failure ends it", "a.b", []error{ErrMalformed}},
		// An alg the key does not allow: the signature is also tried under
		// the token's own alg, so a second problem is not hidden behind it.
		{"alg mismatch, signature good under the token's alg",
			signRaw(t, "RS384", f.rsa, `{"alg":"RS384","kid":"rs256"}`, validPayload()),
			[]error{ErrAlgorithm}},
		{"alg mismatch and another signer",
			signRaw(t, "RS384", f.attacker, `{"alg":"RS384","kid":"rs256"}`, validPayload()),
			[]error{ErrAlgorithm, ErrBadSignature}},
		{"alg of another key type: nothing more to try",
			signRaw(t, "RS256", f.attacker, `{"alg":"ES256","kid":"rs256"}`, validPayload()),
			[]error{ErrAlgorithm}},
	}
	v, _ := newTestVerifier(t, testPolicy())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := v.Check(tt.raw)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d %v", len(errs), errs, len(tt.want), tt.want)
			}
			for i := range errs {
				if !errors.Is(errs[i], tt.want[i]) {
					t.Errorf("error %d: got %v (%s), want %v", i, errs[i], Reason(errs[i]), tt.want[i])
				}
			}
		})
	}
}

func TestVerifyClaimRules(t *testing.T) {
	p := testPolicy()
	p.VerifyClaims = []ClaimRule{
		{Name: "tenant", Values: []string{"acme", "globex"}, Required: true},
		{Name: "level", Values: []string{"3"}},
		{Name: "groups", Values: []string{"admins"}},
		{Name: "email_verified", Values: []string{"true"}},
		{Name: "anything"},
	}
	tests := []struct {
		name  string
		edits map[string]any
		want  error
	}{
		{"all present and allowed", map[string]any{"tenant": "acme", "level": 3, "groups": []any{"users", "admins"},
			"email_verified": true, "anything": []any{1}}, nil},
		{"only required", map[string]any{"tenant": "globex"}, nil},
		{"required missing", map[string]any{}, ErrClaimMissing},
		{"required null", map[string]any{"tenant": jsonNull}, ErrClaimMissing},
		{"wrong value", map[string]any{"tenant": "initech"}, ErrClaimValue},
		{"other case", map[string]any{"tenant": "ACME"}, ErrClaimValue},
		{"name is case-sensitive", map[string]any{"Tenant": "acme"}, ErrClaimMissing},
		{"number as written", map[string]any{"tenant": "acme", "level": 3.0}, nil},
		{"number mismatch", map[string]any{"tenant": "acme", "level": 4}, ErrClaimValue},
		{"array without match", map[string]any{"tenant": "acme", "groups": []any{"users"}}, ErrClaimValue},
		{"empty array", map[string]any{"tenant": "acme", "groups": []any{}}, ErrClaimValue},
		{"bool mismatch", map[string]any{"tenant": "acme", "email_verified": false}, ErrClaimValue},
		{"bool as string matches", map[string]any{"tenant": "acme", "email_verified": "true"}, nil},
	}
	v, _ := newTestVerifier(t, p)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(signKid(t, "es256", withClaims(tt.edits)))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				return
			}
			wantRejected(t, err, tt.want)
		})
	}
}

func TestVerifyUncheckedWhenPolicyEmpty(t *testing.T) {
	v, _ := newTestVerifier(t, Policy{})
	raw := signKid(t, "eddsa", withClaims(map[string]any{"iss": deleted, "aud": deleted}))
	if _, err := v.Verify(raw); err != nil {
		t.Fatalf("got error %v, want nil: empty Issuers and Audiences are not checked", err)
	}
}

func TestNewVerifierCopiesPolicy(t *testing.T) {
	p := testPolicy()
	v, _ := newTestVerifier(t, p)
	p.Issuers[0] = "https://changed"
	if _, err := v.Verify(signKid(t, "es256", validClaims())); err != nil {
		t.Fatalf("got error %v after the caller changed its policy, want nil", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v, _ := newTestVerifier(t, testPolicy())
	good := signKid(t, "es256", validClaims())
	bad := signKid(t, "es256", withClaims(map[string]any{"aud": "x"}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				if _, err := v.Verify(good); err != nil {
					t.Errorf("goroutine %d: got %v, want nil", i, err)
				}
				if _, err := v.Verify(bad); !errors.Is(err, ErrAudience) {
					t.Errorf("goroutine %d: got %v, want ErrAudience", i, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrTooLarge, "token_too_large"},
		{newError(ErrUnknownKID, "x", keys.ErrUnknownKID), "unknown_kid"},
		{fmt.Errorf("authn: %w", newError(ErrExpired, "x")), "token_expired"},
		{errors.New("other"), "invalid_token"},
		{nil, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Reason(tt.err); got != tt.want {
				t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
