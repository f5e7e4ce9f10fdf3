package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func loadSpecFile(t *testing.T, path string) *Spec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := DecodeSpec(path, data)
	if err != nil {
		t.Fatalf("DecodeSpec(%s):\n%v", path, err)
	}
	return spec
}

func TestValidJWT(t *testing.T) {
	spec := loadSpecFile(t, "testdata/valid/jwt.json")
	auth := spec.RequestPolicies.Authentication
	v := auth.Verification()
	if got, want := v.Issuers, []string{"suitable_issuer"}; !reflect.DeepEqual(got, want) {
		t.Errorf("issuers = %q, want %q", got, want)
	}
	if got, want := v.Audiences, []string{"suitable_audience"}; !reflect.DeepEqual(got, want) {
		t.Errorf("audiences = %q, want %q", got, want)
	}
	if v.Keys == nil || v.Keys.Type != KeySetStatic || len(v.Keys.Keys) != 1 {
		t.Fatalf("keys = %+v, want one static key", v.Keys)
	}
	if k := v.Keys.Keys[0]; k.Kid != "name_from_step" || k.Kty != "RSA" || k.Alg != "RS256" || k.E != "AQAB" {
		t.Errorf("key = %+v", k)
	}
	if got, want := auth.TokenSource(), (TokenSource{Header: "Authorization", Scheme: "Bearer"}); got != want {
		t.Errorf("token source = %+v, want %+v", got, want)
	}
	r := &spec.Routes[0]
	if got, want := r.Methods, []string{"POST"}; !reflect.DeepEqual(got, want) {
		t.Errorf("methods = %q, want %q", got, want)
	}
	if got, want := r.Authorization(), (RouteAuthorization{Type: AuthorizationAnyOf, AllowedScope: []string{"Desired_scopes"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("authorization = %+v, want %+v", got, want)
	}
	if got := r.Backend.ConnectTimeout(); got != 60*time.Second {
		t.Errorf("connect timeout = %v, want 60s", got)
	}
	if got := EffectiveLogLevel(spec.LoggingPolicies, r.LoggingPolicies); got != LogLevelInfo {
		t.Errorf("log level = %q, want INFO", got)
	}
}

func TestValidToken(t *testing.T) {
	spec := loadSpecFile(t, "testdata/valid/token.json")
	auth := spec.RequestPolicies.Authentication
	v := auth.Verification()
	if v.MaxClockSkew != 30*time.Second {
		t.Errorf("skew = %v, want 30s", v.MaxClockSkew)
	}
	if got, want := v.Issuers, []string{"suitable_issuer"}; !reflect.DeepEqual(got, want) {
		t.Errorf("issuers = %q, want %q", got, want)
	}
	if len(v.Claims) != 1 || v.Claims[0].Key != "sub" || !v.Claims[0].IsRequired {
		t.Errorf("claims = %+v", v.Claims)
	}
	if v.Keys == nil || len(v.Keys.Keys) != 1 || v.Keys.Keys[0].Kid != "name_from_step" {
		t.Errorf("keys = %+v", v.Keys)
	}
	if got := auth.ValidationFailurePolicy.ResponseCode.Int(); got != 403 {
		t.Errorf("response code = %d, want 403", got)
	}
	r := &spec.Routes[0]
	if got, want := r.Methods, []string{"POST"}; !reflect.DeepEqual(got, want) {
		t.Errorf("methods = %q, want %q (upper-cased)", got, want)
	}
	b := r.Backend
	if *b.ConnectTimeoutInSeconds != 60 || *b.ReadTimeoutInSeconds != 10 || *b.SendTimeoutInSeconds != 10 {
		t.Errorf("timeouts = %v %v %v, want defaults 60 10 10", *b.ConnectTimeoutInSeconds, *b.ReadTimeoutInSeconds, *b.SendTimeoutInSeconds)
	}
	if got := EffectiveLogLevel(spec.LoggingPolicies, r.LoggingPolicies); got != LogLevelWarn {
		t.Errorf("route log level = %q, want WARN", got)
	}
	if got := spec.LoggingPolicies.ExecutionLog.LogLevel; got != LogLevelInfo {
		t.Errorf("deployment log level = %q, want default INFO", got)
	}
}

func TestValidYAML(t *testing.T) {
	spec := loadSpecFile(t, "testdata/valid/spec.yaml")
	auth := spec.RequestPolicies.Authentication
	if got, want := auth.TokenSource(), (TokenSource{QueryParam: "access_token"}); got != want {
		t.Errorf("token source = %+v, want %+v", got, want)
	}
	if k := auth.PublicKeys.Keys[0]; k.Format != KeyFormatPEM || k.Kid != "pem-1" {
		t.Errorf("key = %+v", k)
	}
	health, items := &spec.Routes[0], &spec.Routes[1]
	if got, want := health.Methods, []string{"ANY"}; !reflect.DeepEqual(got, want) {
		t.Errorf("default methods = %q, want %q", got, want)
	}
	if health.Backend.Status == nil || *health.Backend.Status != 200 || health.Backend.ConnectTimeoutInSeconds != nil {
		t.Errorf("stock backend = %+v", health.Backend)
	}
	if got := health.Authorization().Type; got != AuthorizationAnonymous {
		t.Errorf("authorization = %q, want ANONYMOUS", got)
	}
	if got := items.Authorization().Type; got != AuthorizationAuthenticationOnly {
		t.Errorf("default authorization = %q, want AUTHENTICATION_ONLY", got)
	}
	if got := items.Backend.ReadTimeout(); got != 2500*time.Millisecond {
		t.Errorf("read timeout = %v, want 2.5s", got)
	}
	if !items.AllowsMethod("get") || items.AllowsMethod("POST") {
		t.Errorf("AllowsMethod wrong for %q", items.Methods)
	}
	if got := EffectiveLogLevel(spec.LoggingPolicies, items.LoggingPolicies); got != LogLevelError {
		t.Errorf("log level = %q, want ERROR", got)
	}
}

func TestValidGateway(t *testing.T) {
	g, err := LoadGateway("testdata/valid/gateway.yaml")
	if err != nil {
		t.Fatalf("LoadGateway:\n%v", err)
	}
	if g.Listen != "127.0.0.1:9090" || len(g.Deployments) != 2 {
		t.Fatalf("gateway = %+v", g)
	}
	file, inline := g.Deployments[0], g.Deployments[1]
	if want := (Source{File: filepath.Join("testdata", "valid", "jwt.json")}); file.Source != want {
		t.Errorf("file source = %+v, want %+v", file.Source, want)
	}
	if file.Specification == nil || file.Specification.Routes[0].Path != "/1" {
		t.Errorf("file spec not loaded: %+v", file.Specification)
	}
	if want := (Source{File: "testdata/valid/gateway.yaml", Path: "deployments[1].specification"}); inline.Source != want {
		t.Errorf("inline source = %+v, want %+v", inline.Source, want)
	}
	r := inline.Specification.Routes[0]
	if got, want := r.Methods, []string{"ANY"}; !reflect.DeepEqual(got, want) {
		t.Errorf("inline methods = %q, want %q", got, want)
	}
	if got := r.Backend.SendTimeout(); got != 10*time.Second {
		t.Errorf("inline send timeout = %v, want 10s", got)
	}
	if got := inline.Source.Problem("routes[0].path", "x").Error(); got != "testdata/valid/gateway.yaml: deployments[1].specification.routes[0].path: x" {
		t.Errorf("Source.Problem = %q", got)
	}
	// backends[0] is HTTP://127.0.0.1:9000, keepAlive false: matched by
	// scheme and host whatever their case, with the default port filled in.
	for _, tt := range []struct {
		scheme, host string
		want         bool
	}{
		{"http", "127.0.0.1:9000", false},
		{"HTTP", "127.0.0.1:9000", false},
		{"https", "127.0.0.1:9000", true},
		{"http", "127.0.0.1:9001", true},
		{"https", "backend.example.com", true},
	} {
		if got := g.KeepAlive(tt.scheme, tt.host); got != tt.want {
			t.Errorf("KeepAlive(%q, %q) = %v, want %v", tt.scheme, tt.host, got, tt.want)
		}
	}
}

func TestOriginOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://a.example.com", "http://a.example.com:80"},
		{"https://A.example.com", "https://a.example.com:443"},
		{"http://a.example.com:8080/x/${request.path[id]}?q=1", "http://a.example.com:8080"},
		{"http://[::1]:9000/", "http://[::1]:9000"},
		{"http://[::1]/", "http://[::1]:80"},
		{"ftp://a.example.com", ""},
		{"http://user@a.example.com", ""},
		{"http:///path", ""},
	}
	for _, tt := range tests {
		if got := originOf(tt.in); got != tt.want {
			t.Errorf("originOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoadSpecGateway(t *testing.T) {
	g, err := LoadSpecGateway("testdata/valid/jwt.json", "/test3", "")
	if err != nil {
		t.Fatalf("LoadSpecGateway:\n%v", err)
	}
	if g.Listen != DefaultListen || len(g.Deployments) != 1 || g.Deployments[0].PathPrefix != "/test3" {
		t.Errorf("gateway = %+v", g)
	}
	if g.Deployments[0].Source.File != "testdata/valid/jwt.json" || g.Deployments[0].Specification == nil {
		t.Errorf("deployment = %+v", g.Deployments[0])
	}

	_, err = LoadSpecGateway("testdata/valid/nope.json", "test3/", "localhost")
	// Flag values are named by their flags, the spec file by its name.
	want := `--listen: "localhost" is not host:port; use e.g. 127.0.0.1:8080
--path-prefix: "test3/" does not start with '/'; write it as "/test3/"
testdata/valid/nope.json: cannot read file: file does not exist; check the path`
	if err == nil || err.Error() != want {
		t.Errorf("LoadSpecGateway error:\n%v\nwant:\n%s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %T", err)
	}
}

func TestValidRemoteJWKS(t *testing.T) {
	spec := loadSpecFile(t, "testdata/valid/remote_jwks.json")
	v := spec.RequestPolicies.Authentication.Verification()
	if v.Keys == nil || v.Keys.Type != KeySetRemoteJWKS || v.Keys.URI != "https://idp.example.com/jwks" {
		t.Fatalf("keys = %+v, want the remote JWKS", v.Keys)
	}
	if got := v.Keys.CacheDuration(); got != time.Hour {
		t.Errorf("cache duration = %v, want 1h", got)
	}
}

// TestValidValidations: validation modes default to ENFORCING and are
// stored upper case, as are validation types; content keys stay as written.
func TestValidValidations(t *testing.T) {
	spec := loadSpecFile(t, "testdata/valid/validations.json")
	rq := spec.Routes[0].RequestPolicies
	hv, qv, bv := rq.HeaderValidations, rq.QueryParameterValidations, rq.BodyValidation
	if hv.ValidationMode != ValidationEnforcing || qv.ValidationMode != ValidationPermissive || bv.ValidationMode != ValidationDisabled {
		t.Errorf("modes = %q, %q, %q; want ENFORCING (default), PERMISSIVE, DISABLED", hv.ValidationMode, qv.ValidationMode, bv.ValidationMode)
	}
	if want := []ValidationItem{{Name: "X-Username", Required: true}, {Name: "X-Trace-Id"}}; !reflect.DeepEqual(hv.Headers, want) {
		t.Errorf("headers = %+v, want %+v", hv.Headers, want)
	}
	want := map[string]ContentValidation{"application/json": {"NONE"}, "text/*": {"NONE"}, "*/*": {"NONE"}}
	if !bv.Required || !reflect.DeepEqual(bv.Content, want) {
		t.Errorf("body = %+v, want required with content %+v", bv, want)
	}
}
