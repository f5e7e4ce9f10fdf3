package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestCompileRouteOrdersByPhase: policies run in phase order whatever order
// they were listed in, each once, and the terminal handler last.
func TestCompileRouteOrdersByPhase(t *testing.T) {
	var ran []string
	step := func(p phase, name string) routePolicy {
		return routePolicy{p, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = append(ran, name)
				next.ServeHTTP(w, r)
			})
		}}
	}
	terminal := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = append(ran, "backend") })
	h := compileRoute([]routePolicy{step(phaseSanitize, "sanitize"), step(phaseValidate, "validate"),
		step(phaseAuthenticate, "authenticate"), step(phaseAuthorize, "authorize"), step(phaseCORS, "cors")}, terminal)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if want := []string{"cors", "authenticate", "authorize", "validate", "sanitize", "backend"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q", ran, want)
	}
}

// TestRoutePoliciesOnlyWhatTheRouteUses: a route has a step only for the
// policies that apply to it.
func TestRoutePoliciesOnlyWhatTheRouteUses(t *testing.T) {
	auth := jwtAuth(newRSAKey(t, "k").staticJWK(t))
	auth["isAnonymousAccessAllowed"] = true
	route := func(authorization map[string]any) map[string]any {
		r := stockResponseRoute("/r", nil, 200, "")
		if authorization != nil {
			r["requestPolicies"] = map[string]any{"authorization": authorization}
		}
		return r
	}
	validatedRoute := func(policies map[string]any) map[string]any {
		r := stockResponseRoute("/r", nil, 200, "")
		r["requestPolicies"] = policies
		return r
	}
	required := map[string]any{"headerValidations": headerPolicy("", item("X-A", true))}
	tests := []struct {
		name string
		spec map[string]any
		want []phase
	}{
		{"open deployment", authSpec(nil, route(nil)), []phase{phaseSanitize}},
		{"AUTHENTICATION_ONLY route", authSpec(auth, route(nil)), []phase{phaseAuthenticate, phaseAuthorize, phaseSanitize}},
		{"ANY_OF route", authSpec(auth, route(anyOf("a"))), []phase{phaseAuthenticate, phaseAuthorize, phaseSanitize}},
		{"ANONYMOUS route", authSpec(auth, route(map[string]any{"type": "ANONYMOUS"})), []phase{phaseAuthenticate, phaseSanitize}},
		{"header validation", authSpec(nil, validatedRoute(required)), []phase{phaseValidate, phaseSanitize}},
		{"validation after authorization", authSpec(auth, validatedRoute(required)), []phase{phaseAuthenticate, phaseAuthorize, phaseValidate, phaseSanitize}},
		{"PERMISSIVE body validation", authSpec(nil, validatedRoute(map[string]any{"bodyValidation": bodyPolicy("PERMISSIVE", false, "*/*")})),
			[]phase{phaseValidate, phaseSanitize}},
		{"DISABLED validations", authSpec(nil, validatedRoute(map[string]any{
			"headerValidations":         headerPolicy("DISABLED", item("X-A", true)),
			"queryParameterValidations": queryPolicy("DISABLED", item("a", true)),
			"bodyValidation":            bodyPolicy("DISABLED", true, "application/json")})), []phase{phaseSanitize}},
		{"nothing required", authSpec(nil, validatedRoute(map[string]any{
			"headerValidations":         headerPolicy("ENFORCING", item("X-A", false)),
			"queryParameterValidations": queryPolicy("ENFORCING")})), []phase{phaseSanitize}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _, err := buildGateway(testPrefix, tt.spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			dep := g.deployments[0]
			c := &compiler{g: g}
			var got []phase
			for _, p := range c.routePolicies(dep.routes[0], dep) {
				got = append(got, p.phase)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("phases %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHTTPErrorWrapsItsCause: a refusal is an error that keeps its cause
// for errors.Is and errors.As, and carries its response headers.
func TestHTTPErrorWrapsItsCause(t *testing.T) {
	a := &tokenAuthenticator{realm: "/p"}
	e := a.credentialError(errMultipleCredentials)
	if !errors.Is(e, errMultipleCredentials) {
		t.Errorf("errors.Is(%v, errMultipleCredentials) = false", e)
	}
	if e.reason != reasonMultipleTokens || e.Error() != "multiple_tokens: more than one token in the request" {
		t.Errorf("reason %q, Error() %q", e.reason, e.Error())
	}
	if got := e.header.Get("WWW-Authenticate"); got != `Bearer realm="/p", error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	var asErr *httpError
	if !errors.As(fmt.Errorf("wrapped: %w", e), &asErr) || asErr != e {
		t.Error("errors.As does not find the httpError through a wrap")
	}
}
