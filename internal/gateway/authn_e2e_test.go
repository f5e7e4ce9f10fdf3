package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of the reference's section 3 (authentication) and
// section 4 (route authorization): a real gateway, a real backend, real keys
// and tokens.

func TestAuthnStaticKeysPinTheirAlgorithm(t *testing.T) {
	backend := newBackend(t)
	rsaJWK := newRSAKey(t, "rsa-jwk")
	rsaPEM := newRSAKey(t, "rsa-pem")
	ps := newPSKey(t, "rsa-ps")
	ec := newECKey(t, "ec-jwk")
	ecPEM := newECKey(t, "ec-pem")
	ed := newEdKey(t, "ed-jwk")
	edPEM := newEdKey(t, "ed-pem")
	auth := jwtAuth(rsaJWK.staticJWK(t), rsaPEM.staticPEM(t), ps.staticJWK(t), ec.staticJWK(t),
		ecPEM.staticPEM(t), ed.staticJWK(t), edPEM.staticPEM(t))
	gw := startOCIGateway(t, testPrefix, authSpec(auth, httpRoute("/1", nil, backend.url(), nil)), fixedClock, false)
	claims := claimsAt(nil)
	payload := mustJSON(t, claims)
	// as signs claims with k's private key under another kid or alg.
	as := func(k testKey, kid, alg string) string {
		return testKey{kid: kid, alg: alg, signer: k.signer}.sign(t, claims)
	}

	tests := []struct {
		name string
		tok  string
		want outcome
	}{
		{"RSA JSON_WEB_KEY RS256", rsaJWK.sign(t, claims), reached},
		{"RSA PEM implies RS256", rsaPEM.sign(t, claims), reached},
		{"RSA JSON_WEB_KEY alg PS256", ps.sign(t, claims), reached},
		{"EC JSON_WEB_KEY ES256", ec.sign(t, claims), reached},
		{"EC PEM implies ES256", ecPEM.sign(t, claims), reached},
		{"OKP JSON_WEB_KEY EdDSA", ed.sign(t, claims), reached},
		{"Ed25519 PEM implies EdDSA", edPEM.sign(t, claims), reached},
		{"RS256 key, token PS256", as(rsaJWK, "rsa-jwk", "PS256"), jwtFail("alg_not_allowed")},
		{"RS256 key, token RS512", as(rsaJWK, "rsa-jwk", "RS512"), jwtFail("alg_not_allowed")},
		{"PS256 key, token RS256", as(ps, "rsa-ps", "RS256"), jwtFail("alg_not_allowed")},
		{"PEM RSA key, token PS256", as(rsaPEM, "rsa-pem", "PS256"), jwtFail("alg_not_allowed")},
		{"ES256 key, token ES384", signRaw(t, "ES256", ec.signer, `{"alg":"ES384","kid":"ec-jwk"}`, payload), jwtFail("alg_not_allowed")},
		{"EdDSA key, token ES256 by an EC key", as(ec, "ed-jwk", "ES256"), jwtFail("alg_not_allowed")},
		{"EC key, token by another EC key", as(newECKey(t, "x"), "ec-jwk", "ES256"), jwtFail("bad_signature")},
		{"EC PEM key, token by the JWK's EC key", as(ec, "ec-pem", "ES256"), jwtFail("bad_signature")},
		{"Ed25519 key, token by another Ed25519 key", as(newEdKey(t, "x"), "ed-pem", "EdDSA"), jwtFail("bad_signature")},
		{"kid of no key", as(rsaJWK, "rsa-other", "RS256"), jwtFail("unknown_kid")},
		{"kid differs in case", as(rsaJWK, "RSA-JWK", "RS256"), jwtFail("unknown_kid")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sendAndCheck(t, gw, backend, http.MethodGet, testPrefix+"/1", bearer(tt.tok), tt.want)
		})
	}
}

func TestAuthnClaimsAtTheClockBoundaries(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	strict := jwtAuth(key.staticJWK(t))
	skewed := jwtAuth(key.staticJWK(t))
	skewed["maxClockSkewInSeconds"] = 30
	route := httpRoute("/1", nil, backend.url(), nil)
	gateways := map[string]*testGateway{
		"skew 0":  startOCIGateway(t, testPrefix, authSpec(strict, route), fixedClock, false),
		"skew 30": startOCIGateway(t, testPrefix, authSpec(skewed, route), fixedClock, false),
	}
	now := fixedNow.Unix()

	tests := []struct {
		gateway string
		name    string
		changes map[string]any
		want    outcome
	}{
		{"skew 0", "valid", nil, reached},
		{"skew 0", "exp missing", map[string]any{"exp": nil}, jwtFail("missing_exp")},
		{"skew 0", "exp == now", map[string]any{"exp": now}, jwtFail("token_expired")},
		{"skew 0", "exp == now+1", map[string]any{"exp": now + 1}, reached},
		{"skew 0", "exp an hour ago", map[string]any{"exp": now - 3600}, jwtFail("token_expired")},
		{"skew 0", "nbf == now", map[string]any{"nbf": now}, reached},
		{"skew 0", "nbf == now+1", map[string]any{"nbf": now + 1}, jwtFail("token_not_yet_valid")},
		{"skew 0", "iat == now", map[string]any{"iat": now}, reached},
		{"skew 0", "iat == now+1 (OCI checks exp and nbf only)", map[string]any{"iat": now + 1}, reached},
		{"skew 0", "iat missing", map[string]any{"iat": nil}, reached},
		{"skew 0", "iss exact", map[string]any{"iss": testIssuer}, reached},
		{"skew 0", "iss with trailing slash", map[string]any{"iss": testIssuer + "/"}, jwtFail("wrong_issuer")},
		{"skew 0", "iss in upper case", map[string]any{"iss": strings.ToUpper(testIssuer)}, jwtFail("wrong_issuer")},
		{"skew 0", "iss missing", map[string]any{"iss": nil}, jwtFail("wrong_issuer")},
		{"skew 0", "aud as a string", map[string]any{"aud": testAudience}, reached},
		{"skew 0", "aud array holding ours among others", map[string]any{"aud": []any{"api://other", testAudience}}, reached},
		{"skew 0", "aud array without ours", map[string]any{"aud": []any{"api://other"}}, jwtFail("wrong_audience")},
		{"skew 0", "aud other string", map[string]any{"aud": "api://other"}, jwtFail("wrong_audience")},
		{"skew 0", "aud missing", map[string]any{"aud": nil}, jwtFail("wrong_audience")},
		{"skew 30", "exp 29 s ago", map[string]any{"exp": now - 29}, reached},
		{"skew 30", "exp 30 s ago", map[string]any{"exp": now - 30}, jwtFail("token_expired")},
		{"skew 30", "nbf in 30 s", map[string]any{"nbf": now + 30}, reached},
		{"skew 30", "nbf in 31 s", map[string]any{"nbf": now + 31}, jwtFail("token_not_yet_valid")},
		{"skew 30", "iat in 30 s", map[string]any{"iat": now + 30}, reached},
		{"skew 30", "iat in 31 s", map[string]any{"iat": now + 31}, reached},
	}
	for _, tt := range tests {
		t.Run(tt.gateway+"/"+tt.name, func(t *testing.T) {
			tok := key.sign(t, claimsAt(tt.changes))
			sendAndCheck(t, gateways[tt.gateway], backend, http.MethodGet, testPrefix+"/1", bearer(tok), tt.want)
		})
	}
}

func TestAuthnVerifyClaims(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	auth := jwtAuth(key.staticJWK(t))
	auth["verifyClaims"] = []any{
		map[string]any{"key": "tenant", "values": []any{"acme", "globex"}, "isRequired": true},
		map[string]any{"key": "level", "values": []any{"3"}},
		map[string]any{"key": "department", "isRequired": true},
	}
	gw := startOCIGateway(t, testPrefix, authSpec(auth, httpRoute("/1", nil, backend.url(), nil)), fixedClock, false)
	base := map[string]any{"tenant": "acme", "department": "sales"}

	tests := []struct {
		name    string
		changes map[string]any
		want    outcome
	}{
		{"required claims present and matching", nil, reached},
		{"second allowed value", map[string]any{"tenant": "globex"}, reached},
		{"required claim missing", map[string]any{"tenant": nil}, jwtFail("missing_claim")},
		{"required claim without values missing", map[string]any{"department": nil}, jwtFail("missing_claim")},
		{"value mismatch", map[string]any{"tenant": "initech"}, jwtFail("claim_value_mismatch")},
		{"value differs in case", map[string]any{"tenant": "ACME"}, jwtFail("claim_value_mismatch")},
		{"number claim compared as string", map[string]any{"level": 3}, reached},
		{"string claim with the number's text", map[string]any{"level": "3"}, reached},
		{"other number", map[string]any{"level": 4}, jwtFail("claim_value_mismatch")},
		{"number written differently", map[string]any{"level": 3.5}, jwtFail("claim_value_mismatch")},
		{"optional claim absent", map[string]any{"level": nil}, reached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := map[string]any{}
			for k, v := range base {
				changes[k] = v
			}
			for k, v := range tt.changes {
				changes[k] = v
			}
			tok := key.sign(t, claimsAt(changes))
			sendAndCheck(t, gw, backend, http.MethodGet, testPrefix+"/1", bearer(tok), tt.want)
		})
	}
}

func TestAuthnTokenSources(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	tok := key.sign(t, claimsAt(nil))

	customHeader := jwtAuth(key.staticJWK(t))
	delete(customHeader, "tokenAuthScheme")
	customHeader["tokenHeader"] = "X-Api-Token"
	query := jwtAuth(key.staticJWK(t))
	delete(query, "tokenHeader")
	delete(query, "tokenAuthScheme")
	query["tokenQueryParam"] = "access_token"
	route := httpRoute("/1", nil, backend.url()+"/api", nil)
	gateways := map[string]*testGateway{
		"bearer": startOCIGateway(t, testPrefix, authSpec(jwtAuth(key.staticJWK(t)), route), fixedClock, false),
		"header": startOCIGateway(t, testPrefix, authSpec(customHeader, route), fixedClock, false),
		"query":  startOCIGateway(t, testPrefix, authSpec(query, route), fixedClock, false),
	}
	auth := func(v ...string) http.Header { return http.Header{"Authorization": v} }

	tests := []struct {
		gateway string
		name    string
		query   string
		header  http.Header
		want    outcome
	}{
		{"bearer", "Bearer", "", auth("Bearer " + tok), reached},
		{"bearer", "scheme in lower case", "", auth("bearer " + tok), reached},
		{"bearer", "scheme in upper case", "", auth("BEARER " + tok), reached},
		{"bearer", "two spaces after the scheme", "", auth("Bearer  " + tok), jwtFail("malformed_credential")},
		{"bearer", "a word after the token", "", auth("Bearer " + tok + " extra"), jwtFail("malformed_credential")},
		{"bearer", "scheme without token", "", auth("Bearer"), jwtFail("malformed_credential")},
		{"bearer", "token without scheme", "", auth(tok), jwtFail("missing_token")},
		{"bearer", "Basic scheme", "", auth("Basic dXNlcjpwYXNz"), jwtFail("missing_token")},
		{"bearer", "two Authorization headers", "", auth("Bearer "+tok, "Bearer "+tok), jwtFail("multiple_tokens")},
		{"bearer", "token in the query string instead", "?access_token=" + tok, nil, jwtFail("missing_token")},
		{"header", "custom header, no scheme", "", http.Header{"X-Api-Token": {tok}}, reached},
		{"header", "custom header with a Bearer scheme", "", http.Header{"X-Api-Token": {"Bearer " + tok}}, jwtFail("malformed_credential")},
		{"header", "token in Authorization instead", "", auth("Bearer " + tok), jwtFail("missing_token")},
		{"query", "query parameter", "?access_token=" + tok, nil, reached},
		{"query", "query parameter among others", "?a=1&access_token=" + tok + "&b=2", nil, reached},
		{"query", "query parameter twice", "?access_token=" + tok + "&access_token=" + tok, nil, jwtFail("multiple_tokens")},
		{"query", "query parameter empty", "?access_token=", nil, jwtFail("malformed_credential")},
		{"query", "token in the header instead", "", auth("Bearer " + tok), jwtFail("missing_token")},
	}
	for _, tt := range tests {
		t.Run(tt.gateway+"/"+tt.name, func(t *testing.T) {
			before := len(backend.requests())
			sendAndCheck(t, gateways[tt.gateway], backend, http.MethodGet, testPrefix+"/1"+tt.query, tt.header, tt.want)
			reqs := backend.requests()[before:]
			if tt.want.code != "" || len(reqs) != 1 {
				return
			}
			got, err := url.ParseQuery(reqs[0].RawQuery)
			if err != nil {
				t.Fatalf("backend query %q: %v", reqs[0].RawQuery, err)
			}
			if _, found := got["access_token"]; found || strings.Contains(reqs[0].RawQuery, signature(tok)) {
				t.Errorf("backend query = %q, want the token removed", reqs[0].RawQuery)
			}
			if strings.Contains(tt.query, "a=1") && (got.Get("a") != "1" || got.Get("b") != "2") {
				t.Errorf("backend query = %q, want a=1 and b=2 kept", reqs[0].RawQuery)
			}
		})
	}
}

func TestAuthnTokenAuthentication(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	tokenAuth := func(additional map[string]any, failure map[string]any) map[string]any {
		vp := map[string]any{"type": "STATIC_KEYS", "keys": []any{key.staticJWK(t)}}
		if additional != nil {
			vp["additionalValidationPolicy"] = additional
		}
		a := map[string]any{"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization",
			"tokenAuthScheme": "Bearer", "validationPolicy": vp}
		if failure != nil {
			a["validationFailurePolicy"] = failure
		}
		return a
	}
	additional := map[string]any{
		"issuers": []any{testIssuer}, "audiences": []any{testAudience},
		"verifyClaims": []any{map[string]any{"key": "tenant", "values": []any{"acme"}, "isRequired": true}},
	}
	modify := map[string]any{"type": "MODIFY_RESPONSE", "responseCode": "403", "responseMessage": "Access denied"}
	// responseCode's default is 401 (config.ValidationFailurePolicy).
	messageOnly := map[string]any{"type": "MODIFY_RESPONSE", "responseMessage": "Sign in first"}
	codeOnly := map[string]any{"type": "MODIFY_RESPONSE", "responseCode": 418}
	routes := []map[string]any{
		httpRoute("/1", nil, backend.url(), nil),
		httpRoute("/orders", nil, backend.url(), anyOf("orders:write")),
	}
	gateways := map[string]*testGateway{
		"additional": startOCIGateway(t, testPrefix, authSpec(tokenAuth(additional, nil), routes...), fixedClock, false),
		"keys only":  startOCIGateway(t, testPrefix, authSpec(tokenAuth(nil, nil), routes...), fixedClock, false),
		"modify":     startOCIGateway(t, testPrefix, authSpec(tokenAuth(additional, modify), routes...), fixedClock, false),
		"message":    startOCIGateway(t, testPrefix, authSpec(tokenAuth(additional, messageOnly), routes...), fixedClock, false),
		"code":       startOCIGateway(t, testPrefix, authSpec(tokenAuth(additional, codeOnly), routes...), fixedClock, false),
	}
	sign := func(changes map[string]any) http.Header { return bearer(key.sign(t, claimsAt(changes))) }
	tokenFail := func(status int, reason string) outcome {
		return outcome{status: status, code: codeTokenAuthFailed, reason: reason}
	}

	tests := []struct {
		gateway, name, path string
		header              http.Header
		want                outcome
		wantMessage         string // the body's message for a rejection
		wantChallenge       string
	}{
		{"additional", "valid", "/1", sign(map[string]any{"tenant": "acme"}), reached, "", ""},
		{"additional", "no token", "/1", nil, tokenFail(401, "missing_token"), "Unauthorized", `Bearer realm="/test3"`},
		{"additional", "wrong issuer", "/1", sign(map[string]any{"tenant": "acme", "iss": "https://other"}), tokenFail(401, "wrong_issuer"), "Unauthorized", `Bearer realm="/test3", error="invalid_token"`},
		{"additional", "wrong audience", "/1", sign(map[string]any{"tenant": "acme", "aud": "api://other"}), tokenFail(401, "wrong_audience"), "Unauthorized", `Bearer realm="/test3", error="invalid_token"`},
		{"additional", "required claim missing", "/1", sign(nil), tokenFail(401, "missing_claim"), "Unauthorized", `Bearer realm="/test3", error="invalid_token"`},
		{"additional", "expired", "/1", sign(map[string]any{"tenant": "acme", "exp": fixedNow.Unix()}), tokenFail(401, "token_expired"), "Unauthorized", `Bearer realm="/test3", error="invalid_token"`},
		{"keys only", "any issuer and audience", "/1", sign(map[string]any{"iss": "https://other", "aud": "api://other"}), reached, "", ""},
		{"keys only", "exp still required", "/1", sign(map[string]any{"exp": nil}), tokenFail(401, "missing_exp"), "Unauthorized", `Bearer realm="/test3", error="invalid_token"`},
		{"keys only", "bad signature", "/1", bearer(tamperSignature(key.sign(t, claimsAt(nil)))), tokenFail(401, "bad_signature"), "Unauthorized", `Bearer realm="/test3", error="invalid_token"`},
		{"modify", "valid", "/1", sign(map[string]any{"tenant": "acme"}), reached, "", ""},
		{"modify", "no token", "/1", nil, tokenFail(403, "missing_token"), "Access denied", ""},
		{"modify", "invalid token", "/1", sign(map[string]any{"tenant": "acme", "iss": "https://other"}), tokenFail(403, "wrong_issuer"), "Access denied", ""},
		{"modify", "malformed credential", "/1", http.Header{"Authorization": {"Bearer a b"}}, tokenFail(403, "malformed_credential"), "Access denied", ""},
		{"modify", "scope failure keeps the default 403", "/orders", sign(map[string]any{"tenant": "acme"}),
			outcome{status: 403, code: codeUnauthorized, reason: "insufficient_scope"}, "Forbidden",
			`Bearer realm="/test3", error="insufficient_scope", scope="orders:write"`},
		{"message", "no token, default 401", "/1", nil, tokenFail(401, "missing_token"), "Sign in first", `Bearer realm="/test3"`},
		{"message", "invalid token, default 401", "/1", sign(nil), tokenFail(401, "missing_claim"), "Sign in first", `Bearer realm="/test3", error="invalid_token"`},
		{"code", "no token, numeric code, default message", "/1", nil, tokenFail(418, "missing_token"), "I'm a teapot", ""},
	}
	for _, tt := range tests {
		t.Run(tt.gateway+"/"+tt.name, func(t *testing.T) {
			gw := gateways[tt.gateway]
			r := sendAndCheck(t, gw, backend, http.MethodGet, testPrefix+tt.path, tt.header, tt.want)
			if tt.want.code == "" {
				return
			}
			switch tt.wantMessage {
			case "Access denied", "Sign in first":
				// A failure policy's responseMessage goes out as text.
				if r.body != tt.wantMessage || r.resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
					t.Errorf("body %q (%s), want %q as text/plain", r.body, r.resp.Header.Get("Content-Type"), tt.wantMessage)
				}
			default:
				checkErrorBody(t, r.body, tt.want.status, tt.wantMessage)
			}
			if tt.wantChallenge != "" {
				if got := r.resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
				}
			} else if got := r.resp.Header.Get("WWW-Authenticate"); got != "" && tt.want.status != http.StatusUnauthorized {
				t.Errorf("WWW-Authenticate = %q on a %d, want none: a challenge belongs to a 401", got, tt.want.status)
			}
			if got := rejectionLine(t, gw, r.id)["status"]; got != float64(tt.want.status) {
				t.Errorf("log status = %v, want %d", got, tt.want.status)
			}
		})
	}
}

func TestAuthorizationScopes(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	spec := authSpec(jwtAuth(key.staticJWK(t)),
		httpRoute("/any", nil, backend.url(), nil),
		httpRoute("/explicit", nil, backend.url(), map[string]any{"type": "AUTHENTICATION_ONLY"}),
		httpRoute("/orders", nil, backend.url(), anyOf("orders:read")),
		httpRoute("/admin", nil, backend.url(), anyOf("admin", "orders:write")),
	)
	gw := startOCIGateway(t, testPrefix, spec, fixedClock, false)
	denied := outcome{status: http.StatusForbidden, code: codeUnauthorized, reason: "insufficient_scope"}

	tests := []struct {
		name  string
		path  string
		scope any // nil: no scope claim
		want  outcome
	}{
		{"default AUTHENTICATION_ONLY, no scope claim", "/any", nil, reached},
		{"explicit AUTHENTICATION_ONLY, unrelated scope", "/explicit", "other", reached},
		{"the allowed scope", "/orders", "orders:read", reached},
		{"the allowed scope among others", "/orders", "profile orders:read email", reached},
		{"the allowed scope first", "/orders", "orders:read profile", reached},
		{"scope array holding it", "/orders", []any{"profile", "orders:read"}, reached},
		{"longer word", "/orders", "orders:readonly", denied},
		{"other case", "/orders", "Orders:read", denied},
		{"prefix of it", "/orders", "orders", denied},
		{"comma joined", "/orders", "profile,orders:read", denied},
		{"scope array without it", "/orders", []any{"orders:readonly", "ORDERS:READ"}, denied},
		{"scope array with a non-string", "/orders", []any{1, "orders:read"}, denied},
		{"array holding one space-joined string", "/orders", []any{"profile orders:read"}, denied},
		{"no scope claim", "/orders", nil, denied},
		{"empty scope", "/orders", "", denied},
		{"second of two allowed scopes", "/admin", "orders:write", reached},
		{"none of two allowed scopes", "/admin", "orders:read", denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := key.sign(t, claimsAt(map[string]any{"scope": tt.scope}))
			if tt.scope == nil {
				c := claimsAt(nil)
				delete(c, "scope")
				tok = key.sign(t, c)
			}
			r := sendAndCheck(t, gw, backend, http.MethodGet, testPrefix+tt.path, bearer(tok), tt.want)
			if tt.want.code == "" {
				return
			}
			checkErrorBody(t, r.body, http.StatusForbidden, "Forbidden")
			line := rejectionLine(t, gw, r.id)
			if line["kid"] != "k1" || line["sub"] != "client-1" || line["iss"] != testIssuer {
				t.Errorf("log kid, iss, sub = %v, %v, %v; want k1, %s, client-1", line["kid"], line["iss"], line["sub"], testIssuer)
			}
		})
	}
}

func TestAuthorizationAnonymous(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	auth := jwtAuth(key.staticJWK(t))
	auth["isAnonymousAccessAllowed"] = true
	spec := authSpec(auth,
		httpRoute("/public", nil, backend.url(), map[string]any{"type": "ANONYMOUS"}),
		httpRoute("/private", nil, backend.url(), nil),
	)
	gw := startOCIGateway(t, testPrefix, spec, fixedClock, false)
	valid := key.sign(t, claimsAt(nil))
	expired := key.sign(t, claimsAt(map[string]any{"exp": fixedNow.Unix() - 1}))

	tests := []struct {
		name       string
		path       string
		header     http.Header
		wantStatus int
		wantWarn   string // the reason of the WARN line; "" for none
	}{
		{"no token", "/public", nil, http.StatusOK, ""},
		{"valid token", "/public", bearer(valid), http.StatusOK, ""},
		{"expired token", "/public", bearer(expired), http.StatusOK, "token_expired"},
		{"unknown kid", "/public", bearer(newECKey(t, "nope").sign(t, claimsAt(nil))), http.StatusOK, "unknown_kid"},
		{"malformed credential", "/public", http.Header{"Authorization": {"Bearer a b"}}, http.StatusOK, "malformed_credential"},
		{"garbage token", "/public", bearer("not.a.token"), http.StatusOK, "malformed_token"},
		{"other routes still need a token", "/private", nil, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(backend.requests())
			r := send(t, gw, http.MethodGet, testPrefix+tt.path, tt.header)
			if r.resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.resp.StatusCode, tt.wantStatus)
			}
			wantReached := 0
			if tt.wantStatus == http.StatusOK {
				wantReached = 1
			}
			if got := len(backend.requests()) - before; got != wantReached {
				t.Errorf("backend received %d requests, want %d", got, wantReached)
			}
			lines := execLines(t, gw, r.id)
			switch {
			case tt.wantStatus != http.StatusOK:
				if len(lines) != 1 || lines[0]["reason"] != "missing_token" {
					t.Errorf("log lines = %v, want one missing_token line", lines)
				}
			case tt.wantWarn == "":
				if len(lines) != 0 {
					t.Errorf("log lines = %v, want none", lines)
				}
			default:
				if len(lines) != 1 {
					t.Fatalf("log lines = %v, want one WARN line", lines)
				}
				l := lines[0]
				if l["level"] != "WARN" || l["reason"] != tt.wantWarn || l["code"] != codeJWTAuthFailed || l["route"] != "/public" {
					t.Errorf("log line = %v, want level WARN, reason %s, code %s, route /public", l, tt.wantWarn, codeJWTAuthFailed)
				}
				if _, hasStatus := l["status"]; hasStatus || l["ignored"] != true {
					t.Errorf("log line = %v, want ignored: true and no status (the caller was served)", l)
				}
			}
		})
	}
}

func TestAuthorizationOpenDeployment(t *testing.T) {
	backend := newBackend(t)
	spec := authSpec(nil,
		httpRoute("/open", []string{"GET"}, backend.url(), nil),
		httpRoute("/anon", nil, backend.url(), map[string]any{"type": "ANONYMOUS"}),
	)
	gw := startOCIGateway(t, testPrefix, spec, fixedClock, false)
	junk := newECKey(t, "k").sign(t, claimsAt(map[string]any{"exp": fixedNow.Unix() - 10}))
	tests := []struct {
		name   string
		path   string
		header http.Header
	}{
		{"no token", "/open", nil},
		{"an expired token is not looked at", "/open", bearer(junk)},
		{"garbage Authorization", "/open", http.Header{"Authorization": {"Bearer a b c"}}},
		{"ANONYMOUS route", "/anon", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sendAndCheck(t, gw, backend, http.MethodGet, testPrefix+tt.path, tt.header, reached)
			if r.body != "backend ok" {
				t.Errorf("body = %q, want the backend's", r.body)
			}
		})
	}
}

// The fixed clock must really drive token validity: the same token passes
// one gateway and fails another whose clock is an hour later.
func TestAuthnUsesTheInjectedClock(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	spec := authSpec(jwtAuth(key.staticJWK(t)), httpRoute("/1", nil, backend.url(), nil))
	tok := key.sign(t, claimsAt(nil)) // exp = fixedNow + 1h
	later := func() time.Time { return fixedNow.Add(time.Hour) }
	sendAndCheck(t, startOCIGateway(t, testPrefix, spec, fixedClock, false), backend, http.MethodGet, testPrefix+"/1", bearer(tok), reached)
	sendAndCheck(t, startOCIGateway(t, testPrefix, spec, later, false), backend, http.MethodGet, testPrefix+"/1", bearer(tok), jwtFail("token_expired"))
}
