package gateway

import (
	"crypto/sha256"
	"time"

	"github.com/keygate/keygate/internal/oidc"
)

// providerSource is what makes two REMOTE_DISCOVERY policies the same
// provider.
type providerSource struct {
	uri      string
	insecure bool
}

type providerEntry struct {
	p *oidc.Provider
	runner
}

// introspectorSource is what makes two REMOTE_DISCOVERY policies share an
// introspection client and its cache: the same provider, client and
// secret (by hash), cache bound and clock skew.
type introspectorSource struct {
	provider providerSource
	clientID string
	secret   [sha256.Size]byte
	maxCache time.Duration
	skew     time.Duration
}

// ObserveIDP makes f receive every identity-provider call's outcome
// (metrics): call is discovery or introspection, result loaded, failed,
// active, inactive, ... Call it before Start.
func (ks *KeySets) ObserveIDP(f func(call, uri, result string)) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.observeIDP = f
}

func (ks *KeySets) idpEvent(call, uri, result string) {
	ks.mu.Lock()
	f := ks.observeIDP
	ks.mu.Unlock()
	if f != nil {
		f(call, uri, result)
	}
}

// provider returns the provider for src, made (and run, once Start ran) on
// first use with refresh.
func (ks *KeySets) provider(src providerSource, refresh time.Duration) *oidc.Provider {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if e, ok := ks.providers[src]; ok {
		return e.p
	}
	e := &providerEntry{}
	e.p = oidc.NewProvider(src.uri, oidc.NewHTTPClient(src.insecure), ks.log.With("component", "oidc"),
		oidc.WithRefresh(refresh), oidc.WithObserve(func(ev oidc.Event) {
			ks.idpEvent("discovery", ev.URI, ev.Kind.String())
		}))
	ks.providers[src] = e
	if ks.ctx != nil {
		e.start(ks.ctx, e.p.Run)
	}
	return e.p
}

// introspector returns the introspection client for src, made on first
// use; its cache of active answers outlives reloads.
func (ks *KeySets) introspector(src introspectorSource, p *oidc.Provider, secret string) *oidc.Introspector {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if in, ok := ks.introspectors[src]; ok {
		return in
	}
	in := oidc.NewIntrospector(oidc.IntrospectorConfig{Provider: p, Client: oidc.Client{ID: src.clientID, Secret: secret},
		HTTP: oidc.NewHTTPClient(src.provider.insecure), MaxCache: src.maxCache, Skew: src.skew,
		Log: ks.log.With("component", "oidc"), Observe: func(result string) { ks.idpEvent("introspection", src.provider.uri, result) }})
	ks.introspectors[src] = in
	return in
}

// retainProvidersLocked stops and forgets every provider and introspector
// g does not use (a client whose id or secret a reload changed starts with
// an empty cache); ks.mu is held.
func (ks *KeySets) retainProvidersLocked(g *Gateway) {
	for src, e := range ks.providers {
		if _, used := g.providers[e.p]; !used {
			e.stop()
			delete(ks.providers, src)
		}
	}
	for src, in := range ks.introspectors {
		if !g.introspectors[in] {
			delete(ks.introspectors, src) // its cache goes with it
		}
	}
}

// ProviderStatus describes every OpenID provider in use (console, CLI).
func (ks *KeySets) ProviderStatus() []oidc.Status {
	ks.mu.Lock()
	list := make([]*oidc.Provider, 0, len(ks.providers))
	for _, e := range ks.providers {
		list = append(list, e.p)
	}
	ks.mu.Unlock()
	out := make([]oidc.Status, 0, len(list))
	for _, p := range list {
		out = append(out, p.Status())
	}
	return out
}
