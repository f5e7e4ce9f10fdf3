package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// End-to-end tests of the execution log (reference section 6): one line
// per rejection with OCI's code and keygate's reason, one access line per
// request, levels per deployment and route, and never a token.

func TestExecLogRejectionLines(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	spec := authSpec(jwtAuth(key.staticJWK(t)),
		httpRoute("/1", nil, backend.url(), nil),
		httpRoute("/orders/{id}", nil, backend.url(), anyOf("orders:write")),
	)
	jwtGW := startOCIGateway(t, testPrefix, spec, fixedClock, false)
	tokenAuth := map[string]any{"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"validationPolicy": map[string]any{"type": "STATIC_KEYS", "keys": []any{key.staticJWK(t)},
			"additionalValidationPolicy": map[string]any{"issuers": []any{testIssuer}}}}
	tokenGW := startOCIGateway(t, "/tok", authSpec(tokenAuth, httpRoute("/1", nil, backend.url(), nil)), fixedClock, false)

	// Key sets never started: their keys are not loaded.
	dead := map[string]any{"type": "REMOTE_JWKS", "uri": "http://" + closedAddr(t) + "/jwks"}
	jwtRemote := jwtAuth()
	jwtRemote["publicKeys"] = dead
	jwtRemoteGW := startOCIGateway(t, "/jr", authSpec(jwtRemote, httpRoute("/1", nil, backend.url(), nil)), fixedClock, false)
	tokenRemote := map[string]any{"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"validationPolicy": map[string]any{"type": "REMOTE_JWKS", "uri": dead["uri"],
			"additionalValidationPolicy": map[string]any{"issuers": []any{testIssuer}}}}
	tokenRemoteGW := startOCIGateway(t, "/tr", authSpec(tokenRemote, httpRoute("/1", nil, backend.url(), nil)), fixedClock, false)

	valid := key.sign(t, claimsAt(nil))
	parts := strings.Split(valid, ".")
	unknownKid := testKey{kid: "nope", alg: "RS256", signer: key.signer}.sign(t, claimsAt(map[string]any{"sub": "client-9"}))
	tests := []struct {
		name    string
		gw      *testGateway
		path    string
		header  http.Header
		want    map[string]any // exact values of these attributes
		absent  []string       // attributes the line must not have
		message string         // the line's message starts with this
	}{
		{"unknown kid", jwtGW, "/test3/1", bearer(unknownKid),
			map[string]any{"level": "INFO", "code": codeJWTAuthFailed, "reason": "unknown_kid", "status": 401.0,
				"deployment": "/test3", "route": "/1", "kid": "nope", "iss": testIssuer, "sub": "client-9", "ociMessage": "key not found"},
			nil, `no key with kid "nope" in the deployment's keys`},
		{"expired", jwtGW, "/test3/1", bearer(key.sign(t, claimsAt(map[string]any{"exp": fixedNow.Unix() - 60}))),
			map[string]any{"code": codeJWTAuthFailed, "reason": "token_expired", "kid": "k1", "iss": testIssuer, "sub": "client-1",
				"ociMessage": "Validation failed for 'exp' claim."},
			nil, "token expired at 2023-11-14T22:12:20Z"},
		{"bad signature", jwtGW, "/test3/1", bearer(tamperSignature(valid)),
			map[string]any{"code": codeJWTAuthFailed, "reason": "bad_signature", "kid": "k1", "iss": testIssuer, "sub": "client-1",
				"ociMessage": "invalid token"},
			nil, `signature does not verify with key "k1"`},
		{"no token", jwtGW, "/test3/1", nil,
			map[string]any{"code": codeJWTAuthFailed, "reason": "missing_token", "status": 401.0, "route": "/1"},
			[]string{"kid", "iss", "sub"}, "no token in the request"},
		{"undecodable token", jwtGW, "/test3/1", bearer(b64([]byte("not json")) + "." + parts[1] + "." + parts[2]),
			map[string]any{"code": codeJWTAuthFailed, "reason": "malformed_token"},
			[]string{"kid", "iss", "sub"}, "token header"},
		{"header decodes, payload does not", jwtGW, "/test3/1", bearer(parts[0] + "." + b64([]byte("{")) + "." + parts[2]),
			map[string]any{"code": codeJWTAuthFailed, "reason": "malformed_token", "kid": "k1"},
			[]string{"iss", "sub"}, "token payload"},
		{"insufficient scope", jwtGW, "/test3/orders/7", bearer(valid),
			map[string]any{"level": "INFO", "code": codeUnauthorized, "reason": "insufficient_scope", "status": 403.0,
				"route": "/orders/{id}", "kid": "k1", "iss": testIssuer, "sub": "client-1"},
			nil, "the token's scope holds none of the route's allowed scopes orders:write"},
		{"TOKEN_AUTHENTICATION", tokenGW, "/tok/1", bearer(key.sign(t, claimsAt(map[string]any{"iss": "https://evil.test"}))),
			map[string]any{"code": codeTokenAuthFailed, "reason": "wrong_issuer", "deployment": "/tok", "route": "/1",
				"kid": "k1", "iss": "https://evil.test", "sub": "client-1", "ociMessage": "JWT token not issued by the configured issuers."},
			nil, `iss "https://evil.test" is not one of the configured issuers`},
		{"TOKEN_AUTHENTICATION, no token", tokenGW, "/tok/1", nil,
			map[string]any{"code": codeTokenAuthFailed, "reason": "missing_token", "deployment": "/tok"},
			[]string{"kid"}, "no token in the request"},
		{"JWKS not loaded", jwtRemoteGW, "/jr/1", bearer(valid),
			map[string]any{"level": "ERROR", "code": "jwtAuthentication.loadingJsonWebKeySet", "reason": "keys_unavailable", "status": 503.0},
			nil, ""},
		{"TOKEN_AUTHENTICATION, JWKS not loaded", tokenRemoteGW, "/tr/1", bearer(valid),
			map[string]any{"code": "tokenAuthentication.loadingJsonWebKeySet", "reason": "keys_unavailable", "status": 503.0},
			nil, ""},
		{"no route", jwtGW, "/test3/none", bearer(valid),
			map[string]any{"code": codeRouting, "reason": "no_route", "status": 404.0, "deployment": "/test3"},
			[]string{"route", "kid"}, "no route matches the path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(backend.requests())
			r := send(t, tt.gw, http.MethodGet, tt.path, tt.header)
			if n := len(backend.requests()) - before; n != 0 {
				t.Errorf("backend received %d requests, want none", n)
			}
			line := rejectionLine(t, tt.gw, r.id)
			if line["opcRequestId"] != r.id {
				t.Errorf("opcRequestId = %v, want the response's %q", line["opcRequestId"], r.id)
			}
			for _, name := range []string{"code", "reason", "message", "opcRequestId", "deployment"} {
				if s, _ := line[name].(string); s == "" {
					t.Errorf("log line has no %q: %v", name, line)
				}
			}
			for name, want := range tt.want {
				if got := line[name]; got != want {
					t.Errorf("log %s = %v, want %v", name, got, want)
				}
			}
			for _, name := range tt.absent {
				if v, found := line[name]; found {
					t.Errorf("log has %s = %v, want none", name, v)
				}
			}
			if msg, _ := line["message"].(string); !strings.HasPrefix(msg, tt.message) {
				t.Errorf("log message = %q, want it to start with %q", msg, tt.message)
			}
			access := accessLine(t, tt.gw, r.id)
			if access["status"] != float64(r.resp.StatusCode) {
				t.Errorf("access line status = %v, want %d", access["status"], r.resp.StatusCode)
			}
		})
	}
}

func TestExecLogAccessLines(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	header := authSpec(jwtAuth(key.staticJWK(t)), httpRoute("/items/{id}", []string{"GET", "POST"}, backend.url(), nil))
	gw := startOCIGateway(t, testPrefix, header, fixedClock, false)
	query := jwtAuth(key.staticJWK(t))
	delete(query, "tokenHeader")
	delete(query, "tokenAuthScheme")
	query["tokenQueryParam"] = "token"
	queryGW := startOCIGateway(t, "/q", authSpec(query, httpRoute("/items/{id}", nil, backend.url(), nil)), fixedClock, false)
	valid := key.sign(t, claimsAt(nil))

	tests := []struct {
		name       string
		gw         *testGateway
		method     string
		target     string
		header     http.Header
		wantStatus int
		wantPath   string
		wantRoute  string // "" asserts no route attribute
	}{
		{"success", gw, "GET", "/test3/items/1", bearer(valid), 200, "/test3/items/1", "/items/{id}"},
		{"success with a query", gw, "POST", "/test3/items/2?a=b", bearer(valid), 200, "/test3/items/2", "/items/{id}"},
		{"401", gw, "GET", "/test3/items/3", nil, 401, "/test3/items/3", "/items/{id}"},
		{"405", gw, "DELETE", "/test3/items/4", bearer(valid), 405, "/test3/items/4", ""},
		{"404", gw, "GET", "/test3/other", nil, 404, "/test3/other", ""},
		{"400", gw, "GET", "/test3/items/%2e%2e", nil, 400, "/test3/items/%2e%2e", ""},
		{"token in the query", queryGW, "GET", "/q/items/5?token=" + valid + "&x=1", nil, 200, "/q/items/5", "/items/{id}"},
		{"bad token in the query", queryGW, "GET", "/q/items/6?token=" + tamperSignature(valid), nil, 401, "/q/items/6", "/items/{id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, tt.gw, tt.method, tt.target, tt.header)
			if r.resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.resp.StatusCode, tt.wantStatus)
			}
			l := accessLine(t, tt.gw, r.id)
			want := map[string]any{"level": "INFO", "message": "request", "method": tt.method, "path": tt.wantPath,
				"status": float64(tt.wantStatus), "bytes": float64(len(r.body)), "opcRequestId": r.id}
			for name, w := range want {
				if got := l[name]; got != w {
					t.Errorf("access %s = %v, want %v", name, got, w)
				}
			}
			if got, _ := l["route"].(string); got != tt.wantRoute {
				t.Errorf("access route = %q, want %q", got, tt.wantRoute)
			}
			if _, found := l["durationMs"]; !found {
				t.Errorf("access line has no durationMs: %v", l)
			}
			wantExec := 0
			if tt.wantStatus != http.StatusOK {
				wantExec = 1
			}
			if got := len(execLines(t, tt.gw, r.id)); got != wantExec {
				t.Errorf("request left %d execution log lines, want %d", got, wantExec)
			}
		})
	}
}

func TestExecLogNeverHoldsTokens(t *testing.T) {
	backend := newBackend(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // a backend that refuses connections: the 502 line quotes its URL
	key := newRSAKey(t, "k1")
	headerAuth := jwtAuth(key.staticJWK(t))
	headerAuth["isAnonymousAccessAllowed"] = true
	gw := startOCIGateway(t, testPrefix, authSpec(headerAuth,
		httpRoute("/1", nil, backend.url(), nil),
		httpRoute("/scoped", nil, backend.url(), anyOf("admin")),
		httpRoute("/anon", nil, backend.url(), map[string]any{"type": "ANONYMOUS"}),
		httpRoute("/down", nil, down.URL, nil),
	), fixedClock, false)
	queryAuth := jwtAuth(key.staticJWK(t))
	delete(queryAuth, "tokenHeader")
	delete(queryAuth, "tokenAuthScheme")
	queryAuth["tokenQueryParam"] = "access_token"
	queryGW := startOCIGateway(t, "/q", authSpec(queryAuth,
		httpRoute("/1", nil, backend.url(), nil),
		httpRoute("/down", nil, down.URL+"/api?static=1", nil),
	), fixedClock, false)

	valid := key.sign(t, claimsAt(nil))
	expired := key.sign(t, claimsAt(map[string]any{"exp": fixedNow.Unix()}))
	badSig := tamperSignature(valid)
	other := newECKey(t, "k1").sign(t, claimsAt(nil))
	huge := key.sign(t, claimsAt(map[string]any{"pad": strings.Repeat("x", 20_000)}))
	hostileKid := testKey{kid: strings.Repeat("z", 2000), alg: "RS256", signer: key.signer}.sign(t, claimsAt(nil))
	tokens := []string{valid, expired, badSig, other, huge, hostileKid}

	requests := []struct {
		gw     *testGateway
		target string
		header http.Header
	}{
		{gw, "/test3/1", bearer(valid)},
		{gw, "/test3/1", bearer(expired)},
		{gw, "/test3/1", bearer(badSig)},
		{gw, "/test3/1", bearer(other)},
		{gw, "/test3/1", bearer(huge)},
		{gw, "/test3/1", bearer(hostileKid)},
		{gw, "/test3/1", http.Header{"Authorization": {"Bearer " + valid + " " + expired}}},
		{gw, "/test3/1", http.Header{"Authorization": {"Bearer " + valid, "Bearer " + expired}}},
		{gw, "/test3/1", http.Header{"Authorization": {"Basic " + valid}}},
		{gw, "/test3/1?access_token=" + expired, nil},
		{gw, "/test3/scoped", bearer(valid)},
		{gw, "/test3/anon", bearer(expired)},
		{gw, "/test3/anon", bearer(badSig)},
		{gw, "/test3/down", bearer(valid)},
		{gw, "/test3/nowhere?access_token=" + valid, bearer(expired)},
		{queryGW, "/q/1?access_token=" + valid, nil},
		{queryGW, "/q/1?a=1&access_token=" + expired, nil},
		{queryGW, "/q/1?access_token=" + badSig + "&access_token=" + valid, nil},
		{queryGW, "/q/down?access_token=" + valid, nil},
		{queryGW, "/q/%2e%2e/1?access_token=" + valid, nil},
		{queryGW, "/q/nowhere?access_token=" + other, nil},
	}
	statuses := map[int]bool{}
	for _, rq := range requests {
		r := send(t, rq.gw, http.MethodGet, rq.target, rq.header)
		statuses[r.resp.StatusCode] = true
		linesOf(t, rq.gw, r.id) // wait for the request's lines
	}
	// The requests above must have hit every kind of line that might leak.
	for _, s := range []int{200, 400, 401, 403, 404, 502} {
		if !statuses[s] {
			t.Errorf("no request ended in %d; the test lost coverage", s)
		}
	}
	for name, g := range map[string]*testGateway{"header deployment": gw, "query deployment": queryGW} {
		t.Run(name, func(t *testing.T) {
			if strings.Count(g.log.String(), "\n") < 5 {
				t.Fatalf("log has too few lines to mean anything:\n%s", g.log.String())
			}
			for _, tok := range tokens {
				parts := strings.Split(tok, ".")
				checkNoSecrets(t, g, tok, parts[2], parts[1])
			}
			if strings.Contains(g.log.String(), "access_token") {
				t.Errorf("log mentions the token query parameter:\n%s", g.log.String())
			}
		})
	}
}

func TestExecLogLevels(t *testing.T) {
	backend := newBackend(t)
	key := newRSAKey(t, "k1")
	auth := jwtAuth(key.staticJWK(t))
	auth["isAnonymousAccessAllowed"] = true
	anonymous := map[string]any{"type": "ANONYMOUS"}
	warnSpec := withLogLevel(authSpec(auth,
		httpRoute("/quiet", nil, backend.url(), nil),
		httpRoute("/quiet-scope", nil, backend.url(), anyOf("admin")),
		withLogLevel(httpRoute("/loud", nil, backend.url(), nil), "INFO"),
		withLogLevel(httpRoute("/loud-scope", nil, backend.url(), anyOf("admin")), "info"),
		httpRoute("/anon", nil, backend.url(), anonymous),
		withLogLevel(httpRoute("/anon-error", nil, backend.url(), anonymous), "ERROR"),
	), "WARN")
	infoSpec := authSpec(auth,
		httpRoute("/default", nil, backend.url(), nil),
		withLogLevel(httpRoute("/warn", nil, backend.url(), nil), "warn"),
	)
	gateways := map[string]*testGateway{
		"deployment WARN": startOCIGateway(t, testPrefix, warnSpec, fixedClock, false),
		"deployment INFO": startOCIGateway(t, testPrefix, infoSpec, fixedClock, false),
	}
	valid := key.sign(t, claimsAt(nil))
	expired := bearer(key.sign(t, claimsAt(map[string]any{"exp": fixedNow.Unix()})))

	tests := []struct {
		gateway    string
		name       string
		path       string
		header     http.Header
		wantStatus int
		wantLevel  string // the level of the one execution line; "" for none
	}{
		{"deployment WARN", "no token on an inheriting route", "/quiet", nil, 401, ""},
		{"deployment WARN", "invalid token on an inheriting route", "/quiet", expired, 401, ""},
		{"deployment WARN", "insufficient scope on an inheriting route", "/quiet-scope", bearer(valid), 403, ""},
		{"deployment WARN", "no route", "/nowhere", nil, 404, ""},
		{"deployment WARN", "bad path under the prefix", "/a/%2e%2e/quiet", nil, 400, ""},
		{"deployment INFO", "bad path under the prefix", "/a/%2e%2e/default", nil, 400, "INFO"},
		{"deployment WARN", "no token on a route at INFO", "/loud", nil, 401, "INFO"},
		{"deployment WARN", "invalid token on a route at INFO", "/loud", expired, 401, "INFO"},
		{"deployment WARN", "insufficient scope on a route at info", "/loud-scope", bearer(valid), 403, "INFO"},
		{"deployment WARN", "anonymous route, invalid token: WARN kept", "/anon", expired, 200, "WARN"},
		{"deployment WARN", "anonymous route at ERROR, invalid token", "/anon-error", expired, 200, ""},
		{"deployment INFO", "default route", "/default", nil, 401, "INFO"},
		{"deployment INFO", "route at warn", "/warn", nil, 401, ""},
		{"deployment INFO", "route at warn, invalid token", "/warn", expired, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.gateway+"/"+tt.name, func(t *testing.T) {
			g := gateways[tt.gateway]
			r := send(t, g, http.MethodGet, testPrefix+tt.path, tt.header)
			if r.resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.resp.StatusCode, tt.wantStatus)
			}
			lines := execLines(t, g, r.id)
			switch {
			case tt.wantLevel == "" && len(lines) != 0:
				t.Errorf("execution log lines = %v, want none", lines)
			case tt.wantLevel != "" && len(lines) != 1:
				t.Errorf("execution log has %d lines, want one at %s", len(lines), tt.wantLevel)
			case tt.wantLevel != "" && lines[0]["level"] != tt.wantLevel:
				t.Errorf("execution log level = %v, want %s", lines[0]["level"], tt.wantLevel)
			}
			// The access log does not follow the execution log level.
			accessLine(t, g, r.id)
		})
	}
}
