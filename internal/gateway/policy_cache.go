package gateway

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// cacheStatusHeader tells the client where a response came from (OCI's):
// HIT (the cache), MISS (the backend, and stored when it may be), BYPASS
// (the backend; the cache was not asked).
const cacheStatusHeader = "X-Cache-Status"

// cachePolicy is a route's compiled responseCacheLookup and
// responseCacheStore. A route has one only when both are there, the
// lookup is enabled and keygate's config has a responseCache.
type cachePolicy struct {
	cache *ResponseCache
	ttl   time.Duration
	// private: isPrivateCachingEnabled; requests with a credential are
	// cached under it instead of bypassing the cache.
	private bool
	// additions are the cacheKeyAdditions, then the request.headers the
	// backend url reads (a header that picks the backend's path must pick
	// the entry too), a dynamic routing selector, and the headers the
	// request transformations set or rename.
	additions []config.ContextVariable
	// scope is the digest of what makes this route's responses what they
	// are besides the request (deployment, route, backend, request
	// transformations), the first part of every key: a reload that changes
	// them starts with fresh entries.
	scope [sha256.Size]byte
	// tokenQuery is the authentication policy's token query parameter;
	// readsCert: the route's request transformations pass the client
	// certificate on, so it is a credential.
	tokenQuery string
	readsCert  bool
	counters   cacheCounters
	log        *slog.Logger
	now        func() time.Time
}

// cacheState is where a request stands with its route's cache.
type cacheState uint8

const (
	cacheBypass cacheState = iota + 1
	cacheMiss
	cacheHit
)

func (s cacheState) String() string {
	switch s {
	case cacheHit:
		return "HIT"
	case cacheMiss:
		return "MISS"
	}
	return "BYPASS"
}

// cacheExchange is one request's dealings with the cache, on the exchange.
type cacheExchange struct {
	policy *cachePolicy
	state  cacheState
	// private: the request carries a credential; fingerprint digests it.
	private     bool
	fingerprint [sha256.Size]byte
	// key is the entry's key (hex digest); why says why a request
	// bypassed or why its response was not stored.
	key string
	why string
}

// compileCache compiles r's cache policies, or returns nil when the route
// does not cache (no responseCache in keygate's config: OCI's type NONE).
// Compiled for a configuration that names a responseCache but without its
// connection (keygate validate), the policy only describes the route.
func (c *compiler) compileCache(r *config.Route, dep *deployment) *cachePolicy {
	var lookup *config.ResponseCacheLookup
	var store *config.ResponseCacheStore
	if r.RequestPolicies != nil {
		lookup = r.RequestPolicies.ResponseCacheLookup
	}
	if r.ResponsePolicies != nil {
		store = r.ResponsePolicies.ResponseCacheStore
	}
	if lookup == nil || store == nil || !lookup.Enabled() || store.TimeToLiveInSeconds < 1 {
		return nil
	}
	configured := c.cfg != nil && c.cfg.ResponseCache != nil && c.cfg.ResponseCache.Type == config.ResponseCacheExternal
	if c.cache == nil && !configured {
		c.g.log.Warn("configuration: the route's response cache policies have no effect: keygate's config has no responseCache of type EXTERNAL_RESP_CACHE",
			"deployment", dep.prefix, "route", r.Path, "reason", "config_warning")
		return nil
	}
	p := &cachePolicy{cache: c.cache, ttl: time.Duration(store.TimeToLiveInSeconds) * time.Second,
		private: lookup.IsPrivateCachingEnabled, log: c.g.log, now: c.g.now,
		counters: c.g.metrics.cacheCountersFor(dep.prefix)}
	for _, s := range lookup.CacheKeyAdditions {
		if v, ok := config.CacheKeyVariable(s); ok { // validated already
			p.additions = append(p.additions, v)
		}
	}
	p.additions = appendBackendKeyVariables(p.additions, &r.Backend)
	if rq := r.RequestPolicies; rq != nil && rq.HeaderTransformations != nil {
		// The headers the transformations set or rename are read as the
		// backend gets them: their values are what the request's own
		// headers made of them (a tenant header copied or renamed).
		ht := rq.HeaderTransformations
		var names []string
		if ht.SetHeaders != nil {
			for _, it := range ht.SetHeaders.Items {
				names = append(names, it.Name)
			}
		}
		if ht.RenameHeaders != nil {
			for _, it := range ht.RenameHeaders.Items {
				names = append(names, it.To)
			}
		}
		for _, name := range names {
			v := config.ContextVariable{Table: config.VarHeaders, Key: http.CanonicalHeaderKey(name)}
			if !slices.Contains(p.additions, v) {
				p.additions = append(p.additions, v)
			}
		}
	}
	if dep.auth != nil {
		p.tokenQuery = dep.auth.credentialQueryParam()
	}
	scope := sha256.New()
	writeField(scope, "keygate-response-cache-v1")
	writeField(scope, dep.prefix)
	writeField(scope, r.Path)
	writeField(scope, strings.Join(r.Methods, ","))
	backend, _ := json.Marshal(r.Backend)
	writeField(scope, string(backend))
	if rq := r.RequestPolicies; rq != nil {
		transforms, _ := json.Marshal([]any{rq.HeaderTransformations, rq.QueryParameterTransformations})
		writeField(scope, string(transforms))
		p.readsCert = strings.Contains(string(transforms), "request.cert")
	}
	scope.Sum(p.scope[:0])
	return p
}

// appendBackendKeyVariables appends the request variables that pick what
// backend b reaches besides the path, query and host the key holds
// already: the request.headers a backend url reads, and a
// DYNAMIC_ROUTING_BACKEND's selector and those of its backends (one
// tenant's entry must never answer a request routed to another tenant's
// backend).
func appendBackendKeyVariables(vars []config.ContextVariable, b *config.Backend) []config.ContextVariable {
	if t, err := config.ParseTemplate(b.URL); err == nil {
		for _, v := range t.Variables() {
			if v.Table == config.VarHeaders && !slices.Contains(vars, v) {
				vars = append(vars, v)
			}
		}
	}
	if b.SelectionSource != nil {
		if v, err := b.SelectionSource.Variable(); err == nil && !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	for i := range b.RoutingBackends {
		vars = appendBackendKeyVariables(vars, &b.RoutingBackends[i].Backend)
	}
	return vars
}

// writeField writes s length-prefixed, so that no two sequences of fields
// hash alike.
func writeField(h hash.Hash, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}

// cacheableMethod: OCI caches GET, HEAD and OPTIONS only.
func cacheableMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// withCacheCredential runs before the request transformations: it decides
// whether the request, as the client sent it, carries a credential. A
// credential is the Authorization header, the authentication policy's
// token (header or query parameter), a Cookie, the client certificate
// when the route passes it on, or a usage plan's client token; and any
// request that authenticated. On a
// route without private caching such a request bypasses the cache (OCI
// stores none of them; keygate does not look them up either, so an
// authenticated caller never gets an anonymous caller's entry). With
// private caching the credential's digest is part of the key.
func (g *Gateway) withCacheCredential(p *cachePolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		if ex.decision != nil || !cacheableMethod(r.Method) {
			next.ServeHTTP(w, r) // a Decide call neither reads nor fills the cache
			return
		}
		cx := &cacheExchange{policy: p, state: cacheMiss}
		cx.private = p.credential(r, ex, &cx.fingerprint)
		switch {
		case cx.private && !p.private:
			cx.state, cx.why = cacheBypass, "credential"
		case r.ContentLength != 0:
			// A body is no part of the key, and a backend may read one
			// even on GET (a search): such a request neither reads nor
			// fills the cache.
			cx.state, cx.why = cacheBypass, "body"
		}
		ex.cache = cx
		next.ServeHTTP(w, r)
	})
}

// credential digests the request's credentials into fp and reports
// whether it has any.
func (p *cachePolicy) credential(r *http.Request, ex *exchange, fp *[sha256.Size]byte) bool {
	var h hash.Hash
	add := func(label string, values []string) {
		if len(values) == 0 {
			return
		}
		if h == nil {
			h = sha256.New()
		}
		writeField(h, label)
		for _, v := range values {
			writeField(h, v)
		}
	}
	add("authorization", r.Header["Authorization"])
	if ex.credentialHeader != "" && ex.credentialHeader != "Authorization" {
		add("token", r.Header[ex.credentialHeader])
	}
	add("cookie", r.Header["Cookie"])
	if p.tokenQuery != "" && r.URL.RawQuery != "" {
		add("token-query", r.URL.Query()[p.tokenQuery])
	}
	if c := ex.usageClient; c != nil {
		// A usage plan's client token names a subscriber, whose data a
		// backend may answer with: one subscriber's entry is never
		// another's.
		add("usage-client", []string{string(c.token)})
	}
	if p.readsCert && ex.clientCert != nil {
		add("certificate", []string{string(ex.clientCert.Raw)})
	}
	if ex.principal != nil && h == nil {
		add("principal", []string{ex.requestID}) // a credential this code does not know: never shared
	}
	if h == nil {
		return false
	}
	h.Sum(fp[:0])
	return true
}

// withCacheLookup runs after the request transformations, so the key is
// that of the request the backend would receive: it answers a HIT from
// the cache, or sends a MISS or BYPASS on to the backend through the
// writer that stores the response.
func (g *Gateway) withCacheLookup(p *cachePolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		cx := ex.cache
		if cx == nil {
			next.ServeHTTP(w, r)
			return
		}
		if cx.state == cacheMiss {
			cx.key = p.key(r, ex, cx)
			raw, err := p.cache.get(ex.ctx, cx.key)
			switch {
			case err != nil:
				cx.state, cx.why = cacheBypass, "cache_unavailable"
			case raw != nil:
				e, err := decodeEntry(raw)
				if err == nil && e.varyMatches(r.Header) {
					cx.state = cacheHit
					p.counters.lookup(cacheHit)
					p.debug(ex, codeCacheHit, "response cache: hit")
					p.serve(w, r, e)
					return
				}
				if err != nil {
					cx.why = "bad_entry"
				} else {
					cx.why = "vary"
				}
			}
		}
		p.counters.lookup(cx.state)
		if cx.state == cacheBypass {
			p.counters.bypassed(cx.why)
		} else {
			p.debug(ex, codeCacheMiss, "response cache: miss")
		}
		cw := &cacheWriter{ResponseWriter: w, cx: cx, head: r.Method == http.MethodHead, max: p.cache.maxEntry}
		next.ServeHTTP(cw, r)
		if cx.state == cacheMiss {
			if cw.storing {
				// The client gets the response now, not after the
				// store's round trip (net/http buffers a small one
				// until the handler returns).
				cw.Flush()
			}
			p.store(ex, r, cw)
		}
	})
}

// serve writes a stored response: its status, headers and body, with
// X-Cache-Status HIT and its Age. The writers around it (response header
// transformations, CORS) act on it as on the backend's.
func (p *cachePolicy) serve(w http.ResponseWriter, r *http.Request, e *cacheEntry) {
	h := w.Header()
	for name, values := range e.header {
		h[name] = values
	}
	h.Set(cacheStatusHeader, cacheHit.String())
	age := max(p.now().Sub(e.storedAt)/time.Second, 0)
	h.Set("Age", strconv.Itoa(int(age)))
	bodyless := r.Method == http.MethodHead || e.status == http.StatusNoContent
	if !bodyless {
		h.Set("Content-Length", strconv.Itoa(len(e.body)))
	}
	w.WriteHeader(e.status)
	if !bodyless && len(e.body) > 0 {
		_, _ = w.Write(e.body)
	}
}

// varyMatches reports whether the request carries the values the stored
// response's Vary named, as the request that stored it did, under any
// spelling with '_' for '-' (a backend may have read them).
func (e *cacheEntry) varyMatches(h http.Header) bool {
	for _, hv := range e.vary {
		got := foldedHeaderValues(h, hv.name)
		if len(got) != len(hv.values) {
			return false
		}
		for i := range got {
			if got[i] != hv.values[i] {
				return false
			}
		}
	}
	return true
}

// debug writes a per-request cache line when the logger takes debug lines.
func (p *cachePolicy) debug(ex *exchange, code, msg string, attrs ...slog.Attr) {
	if !p.log.Enabled(ex.ctx, slog.LevelDebug) {
		return
	}
	attrs = append(attrs, slog.String("code", code), slog.String("opcRequestId", ex.requestID))
	if ex.dep != nil {
		attrs = append(attrs, slog.String("deployment", ex.dep.prefix))
	}
	if ex.route != nil {
		attrs = append(attrs, slog.String("route", ex.route.path))
	}
	p.log.LogAttrs(ex.ctx, slog.LevelDebug, msg, attrs...)
}

// cacheSummary says in one line how a route caches.
func cacheSummary(p *cachePolicy) string {
	s := "GET/HEAD/OPTIONS responses kept " + p.ttl.String()
	if p.private {
		s += ", per credential (private caching)"
	} else {
		s += "; requests with a credential bypass"
	}
	if len(p.additions) > 0 {
		names := make([]string, len(p.additions))
		for i, v := range p.additions {
			names[i] = v.String()
		}
		s += "; key adds " + strings.Join(names, ", ")
	}
	return s
}
