package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/oidc"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

func TestProviderDiscoversTheRealOP(t *testing.T) {
	op := oidctest.Start(t)
	p := oidc.NewProvider(op.DiscoveryURI, nil, nil)
	d, err := p.Discovery(context.Background())
	if err != nil {
		t.Fatalf("Discovery: %v", err)
	}
	if d.Issuer != op.Issuer {
		t.Errorf("issuer = %q, want %q", d.Issuer, op.Issuer)
	}
	for name, got := range map[string]string{"jwks_uri": d.JWKSURI, "token_endpoint": d.TokenEndpoint,
		"introspection_endpoint": d.IntrospectionEndpoint, "authorization_endpoint": d.AuthorizationEndpoint,
		"end_session_endpoint": d.EndSessionEndpoint} {
		if !strings.HasPrefix(got, op.Issuer+"/") {
			t.Errorf("%s = %q, want an endpoint of %s", name, got, op.Issuer)
		}
	}
	if !contains(d.TokenEndpointAuthMethodsSupported, "client_secret_basic") {
		t.Errorf("token_endpoint_auth_methods_supported = %v, want client_secret_basic in it", d.TokenEndpointAuthMethodsSupported)
	}
	if !contains(d.CodeChallengeMethodsSupported, "S256") {
		t.Errorf("code_challenge_methods_supported = %v, want S256", d.CodeChallengeMethodsSupported)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestProviderNotLoadedWhileTheOPIsDown(t *testing.T) {
	op := oidctest.Start(t)
	op.Stop()
	p := oidc.NewProvider(op.DiscoveryURI, nil, nil, oidc.WithWait(time.Second))
	_, err := p.Discovery(context.Background())
	if !errors.Is(err, oidc.ErrNotLoaded) {
		t.Fatalf("Discovery with the OP down: err = %v, want ErrNotLoaded", err)
	}
	if !strings.Contains(err.Error(), "connect") {
		t.Errorf("err = %q, want the reason (connection refused) in it", err)
	}
	if st := p.Status(); st.Loaded || st.LastError == "" {
		t.Errorf("Status = %+v, want not loaded with the last error", st)
	}
	op.Restart()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for !p.Loaded() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := p.Discovery(context.Background()); err != nil {
		t.Fatalf("Discovery after the OP came back: %v", err)
	}
}

func TestProviderKeepsTheLastGoodDocument(t *testing.T) {
	op := oidctest.Start(t)
	var mu sync.Mutex
	var events []oidc.Event
	p := oidc.NewProvider(op.DiscoveryURI, nil, nil, oidc.WithRefresh(20*time.Millisecond),
		oidc.WithRetry(20*time.Millisecond, 20*time.Millisecond), oidc.WithObserve(func(e oidc.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}))
	ctx, cancel := context.WithCancel(context.Background())
	go p.Run(ctx)
	if _, err := p.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	op.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for p.Status().LastError == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Status().LastError == "" {
		t.Fatal("no failed refresh seen while the OP was down")
	}
	d, err := p.Discovery(context.Background())
	if err != nil || d.Issuer != op.Issuer {
		t.Fatalf("Discovery while the OP is down = %v, %v; want the last good document", d, err)
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	stale := false
	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		stale = stale || (e.Kind == oidc.Failed && e.Stale)
	}
	if !stale {
		t.Errorf("events %v hold no stale failure", events)
	}
}

func TestProviderSlowOPBounded(t *testing.T) {
	op := oidctest.Start(t)
	op.SetDelay(3 * time.Second)
	p := oidc.NewProvider(op.DiscoveryURI, nil, nil, oidc.WithWait(200*time.Millisecond), oidc.WithFetchTimeout(500*time.Millisecond))
	start := time.Now()
	_, err := p.Discovery(context.Background())
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Discovery took %v with a slow OP, want at most the 200ms wait bound", elapsed)
	}
	if !errors.Is(err, oidc.ErrNotLoaded) {
		t.Errorf("err = %v, want ErrNotLoaded", err)
	}
}

func TestParseDiscoveryRefuses(t *testing.T) {
	const uri = "https://idp.example.com/oauth2" + oidc.WellKnownSuffix
	tests := []struct {
		name, body, want string
	}{
		{"not json", `{`, "unexpected end"},
		{"no issuer", `{"jwks_uri":"https://idp.example.com/keys"}`, "issuer is missing"},
		{"other issuer", `{"issuer":"https://evil.example.com/oauth2","jwks_uri":"https://idp.example.com/keys"}`, "is not the issuer"},
		{"no jwks", `{"issuer":"https://idp.example.com/oauth2"}`, "jwks_uri is missing"},
		{"http endpoint in an https document", `{"issuer":"https://idp.example.com/oauth2","jwks_uri":"https://idp.example.com/keys","introspection_endpoint":"http://idp.example.com/i"}`, "plain http"},
		{"bad endpoint", `{"issuer":"https://idp.example.com/oauth2","jwks_uri":"https://idp.example.com/keys","introspection_endpoint":"ftp://x/y"}`, "introspection_endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oidc.ParseDiscovery(uri, []byte(tt.body))
			if !errors.Is(err, oidc.ErrBadDiscovery) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadDiscovery mentioning %q", err, tt.want)
			}
		})
	}
	d, err := oidc.ParseDiscovery(uri, []byte(`{"issuer":"https://idp.example.com/oauth2/","jwks_uri":"https://idp.example.com/keys"}`))
	if err != nil || !d.IssuerMatches("https://idp.example.com/oauth2") {
		t.Errorf("a trailing slash on the issuer: %v, %v; want accepted", d, err)
	}
}

func TestProviderDoesNotFollowRedirects(t *testing.T) {
	op := oidctest.Start(t)
	srv := httptest.NewServer(http.RedirectHandler(op.DiscoveryURI, http.StatusFound))
	defer srv.Close()
	p := oidc.NewProvider(srv.URL+oidc.WellKnownSuffix, nil, nil)
	if _, err := p.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("Load through a redirect: err = %v, want status 302 refused", err)
	}
}
