package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

// End-to-end tests of dynamicAuthentication (§7): a selector picks a
// static-key JWT server or the real OpenID provider's introspection.

func dynamicSpec(selector string, servers ...map[string]any) map[string]any {
	list := make([]any, len(servers))
	for i, s := range servers {
		list[i] = s
	}
	spec := oidcSpec(map[string]any{}, "")
	spec["requestPolicies"] = map[string]any{"dynamicAuthentication": map[string]any{
		"selectionSource":       map[string]any{"type": "SINGLE", "selector": selector},
		"authenticationServers": list,
	}}
	return spec
}

func server(key map[string]any, detail map[string]any) map[string]any {
	return map[string]any{"key": key, "authenticationServerDetail": detail}
}

func TestDynamicAuthenticationSelectsTheServer(t *testing.T) {
	op := oidctest.Start(t)
	backend := echoBackend(t)
	key := newRSAKey(t, "static-1")
	static := jwtAuth(key.staticJWK(t))
	static["isAnonymousAccessAllowed"] = true
	idp := discoveryAuth(op, oidctest.ClientID)
	idp["isAnonymousAccessAllowed"] = true

	byHeader := dynamicSpec("request.headers[X-Tenant]",
		server(map[string]any{"type": "ANY_OF", "name": "partners", "values": []any{"Acme", "globex"}}, static),
		server(map[string]any{"type": "WILDCARD", "name": "idp", "expression": "idp-+"}, idp))
	withDefault := dynamicSpec("${request.headers[X-Tenant]}",
		server(map[string]any{"type": "ANY_OF", "name": "partners", "values": []any{"acme"}}, static),
		server(map[string]any{"type": "WILDCARD", "name": "idp", "expression": "*-idp", "isDefault": true}, idp))
	for _, spec := range []map[string]any{byHeader, withDefault} {
		for _, r := range spec["routes"].([]any) {
			r.(map[string]any)["backend"].(map[string]any)["url"] = backend
		}
	}
	gw := startOIDCGateway(t, map[string]map[string]any{"/h": byHeader, "/d": withDefault})
	waitReady(t, gw.g)

	now := time.Now()
	jwt := key.sign(t, validClaims(now))
	opaque := op.AccessToken("openid")
	tests := []struct {
		name, path, tenant, tok string
		status                  int
	}{
		{"ANY_OF, case-insensitive", "/h/any", "ACME", jwt, 200},
		{"ANY_OF second value", "/h/any", "globex", jwt, 200},
		{"ANY_OF server refuses the IdP's token", "/h/any", "acme", opaque, 401},
		{"WILDCARD + needs a character", "/h/any", "idp-", opaque, 401},
		{"WILDCARD matches", "/h/any", "idp-eu", opaque, 200},
		{"WILDCARD is case-sensitive", "/h/any", "IDP-eu", opaque, 401},
		{"WILDCARD server refuses the static JWT", "/h/any", "idp-eu", jwt, 401},
		{"no match, no default", "/h/any", "initech", jwt, 401},
		{"no match: 401 even on an ANONYMOUS route", "/h/open", "initech", "", 401},
		{"match, no token, ANONYMOUS route", "/h/open", "acme", "", 200},
		{"default server", "/d/any", "initech", opaque, 200},
		{"no selector value: default", "/d/any", "", opaque, 200},
		{"exact beats default", "/d/any", "acme", jwt, 200},
	}
	// The selected server's verified token reaches the backend, though
	// the other server reads the same header.
	for tenant, tok := range map[string]string{"acme": jwt, "idp-eu": opaque} {
		if status, body := gw.getWith(t, "/h/any", tok, map[string]string{"X-Tenant": tenant}); status != 200 || !strings.Contains(body, "auth=Bearer "+tok) {
			t.Errorf("tenant %s: backend got %q (status %d), want the verified token", tenant, body, status)
		}
	}
	// A refusal names the server and how it was selected.
	gw.send(t, "/d/any", "junk", map[string]string{"X-Tenant": "initech"})
	if !strings.Contains(gw.logs.String(), `"authenticationServer":"idp","selection":"dynamicAuthentication.defaultAuthenticationServerMatched"`) {
		t.Errorf("the refusal's log line lacks the selected server:\n%s", grepLines(gw.logs.String(), "reason"))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := gw.send(t, tt.path, tt.tok, map[string]string{"X-Tenant": tt.tenant})
			if status != tt.status {
				t.Errorf("GET %s X-Tenant %q = %d, want %d", tt.path, tt.tenant, status, tt.status)
			}
		})
	}
}

func TestDynamicAuthenticationByUnverifiedClaim(t *testing.T) {
	backend := echoBackend(t)
	a, b := newRSAKey(t, "a"), newRSAKey(t, "b")
	authA := jwtAuth(a.staticJWK(t))
	authA["isAnonymousAccessAllowed"] = true
	spec := dynamicSpec("request.auth[tenant]",
		server(map[string]any{"type": "ANY_OF", "name": "a", "values": []any{"a"}}, authA),
		server(map[string]any{"type": "ANY_OF", "name": "b", "values": []any{"b"}}, jwtAuth(b.staticJWK(t))))
	for _, r := range spec["routes"].([]any) {
		r.(map[string]any)["backend"].(map[string]any)["url"] = backend
	}
	gw := startOIDCGateway(t, map[string]map[string]any{"/c": spec})
	claims := func(tenant string) map[string]any {
		c := validClaims(time.Now())
		c["tenant"] = tenant
		return c
	}
	tests := []struct {
		name, tok string
		status    int
	}{
		{"tenant a, a's key", a.sign(t, claims("a")), 200},
		{"tenant b, b's key", b.sign(t, claims("b")), 200},
		{"claims tenant a, signed by b: a's server refuses", b.sign(t, claims("a")), 401},
		{"undecodable token", "not.a.jwt", 401},
		{"no token", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status := gw.send(t, "/c/any", tt.tok, nil); status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
		})
	}
}

// TestDynamicAuthenticationByHostAndQueryTokens: request.subdomain picks
// the server; no server's query token reaches the backend.
func TestDynamicAuthenticationByHostAndQueryTokens(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	t.Cleanup(backend.Close)
	a, b := newRSAKey(t, "a"), newRSAKey(t, "b")
	inHeader := jwtAuth(a.staticJWK(t))
	inHeader["isAnonymousAccessAllowed"] = true
	inQuery := jwtAuth(b.staticJWK(t))
	delete(inQuery, "tokenHeader")
	delete(inQuery, "tokenAuthScheme")
	inQuery["tokenQueryParam"] = "access_token"
	spec := dynamicSpec("request.subdomain[example.com]",
		server(map[string]any{"type": "ANY_OF", "name": "a", "values": []any{"acme"}}, inHeader),
		server(map[string]any{"type": "ANY_OF", "name": "b", "values": []any{"globex"}}, inQuery))
	for _, r := range spec["routes"].([]any) {
		r.(map[string]any)["backend"].(map[string]any)["url"] = backend.URL
	}
	gw := startOIDCGateway(t, map[string]map[string]any{"/s": spec})
	tokA, tokB := a.sign(t, validClaims(time.Now())), b.sign(t, validClaims(time.Now()))
	tests := []struct {
		name, host, query, header string
		status                    int
		backendSees               string
	}{
		{"acme by header; b's query token dropped", "ACME.example.com:8443", "access_token=" + tokB + "&x=1", tokA, 200, "x=1 auth=Bearer " + tokA},
		{"globex by query; a's header dropped", "globex.example.com", "access_token=" + tokB + "&x=2", tokA, 200, "x=2 auth="},
		{"host of no server", "initech.example.com", "", tokA, 401, ""},
		{"host outside the suffix", "acme.example.org", "", tokA, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			req := httptest.NewRequest(http.MethodGet, "/s/any?"+tt.query, nil)
			req.Host = tt.host
			req.Header.Set("Authorization", "Bearer "+tt.header)
			rec := httptest.NewRecorder()
			gw.g.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.backendSees != "" && (len(seen) != 1 || seen[0] != tt.backendSees) {
				t.Errorf("backend saw %q, want %q", seen, tt.backendSees)
			}
		})
	}
}

// TestDynamicAuthenticationOtherServersUnderscoreSpelling: a server the
// selector did not pick reads no token, so it cannot know a spelling of
// its header with '_' for '-' was sent; it still removes every spelling,
// or X_Client_Token would reach a backend that folds '_' into '-' as a
// credential nobody verified (attack R11 across servers).
func TestDynamicAuthenticationOtherServersUnderscoreSpelling(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
	}))
	t.Cleanup(backend.Close)
	a, b := newRSAKey(t, "a"), newRSAKey(t, "b")
	bearerServer := jwtAuth(a.staticJWK(t))
	clientServer := jwtAuth(b.staticJWK(t))
	clientServer["tokenHeader"] = "X-Client-Token"
	bearerServer["isAnonymousAccessAllowed"] = true
	delete(clientServer, "tokenAuthScheme")
	spec := dynamicSpec("request.headers[X-Kind]",
		server(map[string]any{"type": "ANY_OF", "name": "bearer", "values": []any{"bearer"}}, bearerServer),
		server(map[string]any{"type": "ANY_OF", "name": "client", "values": []any{"client"}}, clientServer))
	for _, r := range spec["routes"].([]any) {
		r.(map[string]any)["backend"].(map[string]any)["url"] = backend.URL
	}
	gw := startOIDCGateway(t, map[string]map[string]any{"/s": spec})
	tokA := a.sign(t, validClaims(time.Now()))
	tg := &testGateway{srv: gw.srv, log: gw.logs}
	for _, forged := range []string{"X_Client_Token: forged", "x_client_token: forged", "X-Client_Token: forged"} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		resp, _ := tg.raw(t, http.MethodGet, "/s/any", "X-Kind: bearer", "Authorization: Bearer "+tokA, forged)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, want 200 (the bearer server accepts its token)", forged, resp.StatusCode)
		}
		mu.Lock()
		if len(seen) != 1 {
			t.Fatalf("%s: the backend got %d requests, want 1", forged, len(seen))
		}
		for name, values := range seen[0] {
			if sameHeaderFolded(name, "X-Client-Token") {
				t.Errorf("%s: the backend got %s: %q, a credential no server verified", forged, name, values)
			}
		}
		mu.Unlock()
	}
}
