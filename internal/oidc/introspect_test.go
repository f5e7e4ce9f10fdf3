package oidc_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/oidc"
	"github.com/keygate/keygate/internal/oidc/oidctest"
)

func newIntrospector(op *oidctest.OP, opts ...func(*oidc.IntrospectorConfig)) *oidc.Introspector {
	cfg := oidc.IntrospectorConfig{
		Provider: oidc.NewProvider(op.DiscoveryURI, nil, nil),
		Client:   oidc.Client{ID: oidctest.ClientID, Secret: oidctest.ClientSecret},
	}
	for _, o := range opts {
		o(&cfg)
	}
	return oidc.NewIntrospector(cfg)
}

func TestIntrospectAgainstTheRealOP(t *testing.T) {
	op := oidctest.Start(t)
	in := newIntrospector(op)
	ctx := context.Background()

	active := op.AccessToken("openid", "email")
	got, err := in.Introspect(ctx, active)
	if err != nil {
		t.Fatalf("active token: %v", err)
	}
	if got.Claims["sub"] != oidctest.UserID || got.Claims["scope"] != "openid email" || got.Cached {
		t.Errorf("answer = %+v, want sub %s, scope \"openid email\", not cached", got, oidctest.UserID)
	}
	if until := time.Until(got.Expiry); until <= 0 || until > 10*time.Minute {
		t.Errorf("expiry in %v, want the OP's few minutes", until)
	}
	calls := op.Requests(oidctest.IntrospectionPath)
	again, err := in.Introspect(ctx, active)
	if err != nil || !again.Cached || op.Requests(oidctest.IntrospectionPath) != calls {
		t.Errorf("second ask: cached=%v err=%v calls %d→%d; want a cache hit", again != nil && again.Cached, err, calls, op.Requests(oidctest.IntrospectionPath))
	}

	if _, err := in.Introspect(ctx, "not-a-token-the-op-issued"); !errors.Is(err, oidc.ErrInactive) {
		t.Errorf("unknown token: err = %v, want ErrInactive", err)
	}

	revoked := op.AccessToken("openid")
	op.Revoke(oidctest.ClientID, revoked)
	before := op.Requests(oidctest.IntrospectionPath)
	for range 2 {
		if _, err := in.Introspect(ctx, revoked); !errors.Is(err, oidc.ErrInactive) {
			t.Errorf("revoked token: err = %v, want ErrInactive", err)
		}
	}
	if n := op.Requests(oidctest.IntrospectionPath) - before; n != 2 {
		t.Errorf("inactive answers made %d calls for 2 asks, want 2 (never cached)", n)
	}

	// A JWT access token is introspected like any other (its revocation is seen).
	jwt := op.Login(oidctest.JWTClientID, "openid").AccessToken
	jin := newIntrospector(op, func(c *oidc.IntrospectorConfig) { c.Client.ID = oidctest.JWTClientID })
	if _, err := jin.Introspect(ctx, jwt); err != nil {
		t.Errorf("JWT access token: %v", err)
	}
}

func TestIntrospectWrongClientSecret(t *testing.T) {
	op := oidctest.Start(t)
	in := newIntrospector(op, func(c *oidc.IntrospectorConfig) { c.Client.Secret = "wrong" })
	_, err := in.Introspect(context.Background(), op.AccessToken())
	if !errors.Is(err, oidc.ErrFetch) {
		t.Errorf("err = %v, want ErrFetch (the provider refused the client)", err)
	}
	if err != nil && contains([]string{err.Error()}, "wrong") {
		t.Errorf("the error shows the secret: %v", err)
	}
}

func TestIntrospectConcurrentSameTokenOneCall(t *testing.T) {
	op := oidctest.Start(t)
	in := newIntrospector(op)
	tok := op.AccessToken()
	if _, err := in.Provider().Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	op.SetDelay(200 * time.Millisecond)
	before := op.Requests(oidctest.IntrospectionPath)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := in.Introspect(context.Background(), tok)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent ask: %v", err)
		}
	}
	if n := op.Requests(oidctest.IntrospectionPath) - before; n != 1 {
		t.Errorf("20 concurrent asks made %d calls, want 1", n)
	}
}

func TestIntrospectProviderDownAndSlow(t *testing.T) {
	op := oidctest.Start(t)
	in := newIntrospector(op, func(c *oidc.IntrospectorConfig) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	cachedTok, fresh := op.AccessToken(), op.AccessToken()
	if _, err := in.Introspect(ctx, cachedTok); err != nil {
		t.Fatal(err)
	}
	op.Stop()
	if got, err := in.Introspect(ctx, cachedTok); err != nil || !got.Cached {
		t.Errorf("cached token with the OP down: %v, %v; want the cached answer", got, err)
	}
	if _, err := in.Introspect(ctx, fresh); !errors.Is(err, oidc.ErrFetch) {
		t.Errorf("uncached token with the OP down: err = %v, want ErrFetch", err)
	}
	op.Restart()
	op.SetDelay(2 * time.Second)
	start := time.Now()
	_, err := in.Introspect(ctx, fresh)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("slow OP held the call %v, want the 300ms timeout", elapsed)
	}
	if !errors.Is(err, oidc.ErrFetch) {
		t.Errorf("slow OP: err = %v, want ErrFetch", err)
	}
}

func TestIntrospectCacheBoundedAndCappedByMaxCache(t *testing.T) {
	op := oidctest.Start(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	in := newIntrospector(op, func(c *oidc.IntrospectorConfig) {
		c.MaxEntries, c.MaxCache, c.Now = 2, time.Minute, clock
	})
	ctx := context.Background()
	toks := []string{op.AccessToken(), op.AccessToken(), op.AccessToken()}
	for _, tok := range toks {
		if _, err := in.Introspect(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := in.CacheSize(); n != 2 {
		t.Errorf("cache holds %d answers, want the bound 2", n)
	}
	mu.Lock()
	now = now.Add(61 * time.Second) // past MaxCache, before the OP's 5-minute exp
	mu.Unlock()
	got, err := in.Introspect(ctx, toks[2])
	if err != nil || got.Cached {
		t.Errorf("after MaxCache: cached=%v err=%v, want a new call", got != nil && got.Cached, err)
	}
}

// TestIntrospectClientAuthBasic: the example OP advertises and accepts only
// client_secret_basic at its introspection endpoint, and gets it (the
// _post choice is TestClientAuthMethod's).
func TestIntrospectClientAuthBasic(t *testing.T) {
	op := oidctest.Start(t)
	in := newIntrospector(op)
	if _, err := in.Introspect(context.Background(), op.AccessToken()); err != nil {
		t.Fatal(err)
	}
	if got := op.IntrospectionAuthSeen(); got != "client_secret_basic" {
		t.Errorf("the OP saw %q, want client_secret_basic", got)
	}
}
