package gatewaytest

// Spec builders. Each returns a new map, so a test may change what it got
// (auth["isAnonymousAccessAllowed"] = true) without touching another's.

// Spec is an OCI deployment specification with the authentication policy
// auth (nil: none, every route open) and routes.
func Spec(auth map[string]any, routes ...map[string]any) map[string]any {
	rs := make([]any, len(routes))
	for i, r := range routes {
		rs[i] = r
	}
	s := map[string]any{"routes": rs}
	if auth != nil {
		s["requestPolicies"] = map[string]any{"authentication": auth}
	}
	return s
}

// HTTPRoute is a route at path to the HTTP_BACKEND url (which may hold
// context variables), for every method, with the authorization policy
// authorization (nil: the deployment's default, AUTHENTICATION_ONLY when it
// authenticates).
func HTTPRoute(path, url string, authorization map[string]any) map[string]any {
	return route(path, map[string]any{"type": "HTTP_BACKEND", "url": url}, authorization)
}

// StockRoute is a route at path to a STOCK_RESPONSE_BACKEND answering status
// with body, with the authorization policy authorization (nil: the default).
func StockRoute(path string, status int, body string, authorization map[string]any) map[string]any {
	backend := map[string]any{"type": "STOCK_RESPONSE_BACKEND", "status": status}
	if body != "" {
		backend["body"] = body
	}
	return route(path, backend, authorization)
}

func route(path string, backend, authorization map[string]any) map[string]any {
	r := map[string]any{"path": path, "backend": backend}
	if authorization != nil {
		r["requestPolicies"] = map[string]any{"authorization": authorization}
	}
	return r
}

// Methods limits route to methods and returns it.
func Methods(route map[string]any, methods ...string) map[string]any {
	ms := make([]any, len(methods))
	for i, m := range methods {
		ms[i] = m
	}
	route["methods"] = ms
	return route
}

// JWTAuth is a JWT_AUTHENTICATION policy in the seed's form (the token in
// Authorization, scheme Bearer) trusting Issuer and Audience, with
// publicKeys (StaticKeys, or a REMOTE_JWKS value).
func JWTAuth(publicKeys map[string]any) map[string]any {
	return map[string]any{
		"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
		"issuers": []any{Issuer}, "audiences": []any{Audience}, "publicKeys": publicKeys,
	}
}

// TokenInHeader makes auth read the whole value of header as the token (no
// scheme) and returns it.
func TokenInHeader(auth map[string]any, header string) map[string]any {
	auth["tokenHeader"] = header
	delete(auth, "tokenAuthScheme")
	return auth
}

// TokenInQuery makes auth read the token from the query parameter param
// instead of a header and returns it.
func TokenInQuery(auth map[string]any, param string) map[string]any {
	delete(auth, "tokenHeader")
	delete(auth, "tokenAuthScheme")
	auth["tokenQueryParam"] = param
	return auth
}

// StaticKeys is a STATIC_KEYS publicKeys value holding entries (Key.JWK,
// Key.PEM, JWK).
func StaticKeys(entries ...map[string]any) map[string]any {
	ks := make([]any, len(entries))
	for i, e := range entries {
		ks[i] = e
	}
	return map[string]any{"type": "STATIC_KEYS", "keys": ks}
}

// RemoteJWKS is a REMOTE_JWKS publicKeys value fetching uri, cached an hour.
func RemoteJWKS(uri string) map[string]any {
	return map[string]any{"type": "REMOTE_JWKS", "uri": uri, "maxCacheDurationInHours": 1}
}

// AnyOf is an ANY_OF authorization granting any of scopes.
func AnyOf(scopes ...string) map[string]any {
	s := make([]any, len(scopes))
	for i, v := range scopes {
		s[i] = v
	}
	return map[string]any{"type": "ANY_OF", "allowedScope": s}
}

// Anonymous is the ANONYMOUS authorization: the route is open even in an
// authenticating deployment.
func Anonymous() map[string]any { return map[string]any{"type": "ANONYMOUS"} }
