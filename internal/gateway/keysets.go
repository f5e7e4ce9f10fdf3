package gateway

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/oidc"
)

// KeySets owns the remote key sets (REMOTE_JWKS) of the gateways built with
// it. A reload builds its new Gateway with the same KeySets, so a JWKS whose
// source did not change keeps its loaded keys and its refresh schedule: a
// reload never sends requests back to "keys not loaded yet".
type KeySets struct {
	log *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // nil until Start: sets are made but not fetched
	sets    map[remoteSource]*remoteEntry
	observe func(keys.RemoteEvent)
	// providers and introspectors are the OpenID providers
	// (REMOTE_DISCOVERY) and their introspection clients with their
	// caches, kept across reloads like the key sets.
	providers     map[providerSource]*providerEntry
	introspectors map[introspectorSource]*oidc.Introspector
	observeIDP    func(call, uri, result string)
}

// remoteSource is what makes two REMOTE_JWKS policies the same key set.
// The refresh period is not part of it: a reload that only changes
// maxCacheDurationInHours keeps the loaded keys (Retain applies the period).
type remoteSource struct {
	url      string
	insecure bool
	// discovery: url is a discovery URI and the set is at its jwks_uri.
	discovery bool
}

type remoteEntry struct {
	set *keys.RemoteSet
	runner
	// status is what the console shows of the set's fetches; guarded by
	// KeySets.mu.
	status fetchStatus
}

// fetchStatus is the outcome of a set's latest fetch.
type fetchStatus struct {
	lastFetch time.Time
	lastError string
	// skipped are the keys the latest fetch left out; pending collects
	// them while the fetch runs (they are reported before its outcome).
	skipped, pending []string
}

// RemoteStatus describes a remote key set for the admin console.
type RemoteStatus struct {
	URI string
	// Loaded: a fetch has succeeded; LoadedAt is when the keys in use
	// were fetched (zero if never).
	Loaded   bool
	LoadedAt time.Time
	// LastFetch is when the latest fetch ended (zero if none has);
	// LastError is its error, "" when it succeeded.
	LastFetch time.Time
	LastError string
	// Refresh is how long loaded keys are used before the next fetch.
	Refresh time.Duration
	Keys    []KeySummary
	// Skipped says why each key of the latest fetched document was left out.
	Skipped []string
}

// NewKeySets returns an empty registry whose fetch outcomes go to log.
// observe, if not nil, also receives every event (metrics).
func NewKeySets(log *slog.Logger, observe func(keys.RemoteEvent)) *KeySets {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &KeySets{log: log, sets: map[remoteSource]*remoteEntry{}, observe: observe,
		providers: map[providerSource]*providerEntry{}, introspectors: map[introspectorSource]*oidc.Introspector{}}
}

// Start begins fetching every set, now and as they are added, until ctx is
// done. Without Start nothing is fetched (keygate validate).
func (ks *KeySets) Start(ctx context.Context) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.ctx = ctx
	for _, e := range ks.sets {
		e.start(ctx, e.set.Run)
	}
	for _, e := range ks.providers {
		e.start(ctx, e.p.Run)
	}
}

// remote returns the set for src, made on first use with the given refresh
// period and log code (the first deployment's, if several of different
// authentication types share the set). An existing set keeps its period
// until Retain.
func (ks *KeySets) remote(src remoteSource, refresh time.Duration, logCode string) *keys.RemoteSet {
	return ks.remoteLocated(src, refresh, logCode, nil)
}

// remoteLocated is remote for a set whose address locate gives at each
// fetch (nil: src.url).
func (ks *KeySets) remoteLocated(src remoteSource, refresh time.Duration, logCode string, locate func(context.Context) (string, error)) *keys.RemoteSet {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if e, ok := ks.sets[src]; ok {
		return e.set
	}
	e := &remoteEntry{}
	e.set = keys.NewRemoteSet(keys.RemoteConfig{
		URL: src.url, InsecureSkipVerify: src.insecure, Refresh: refresh, Locate: locate,
		Observe: func(ev keys.RemoteEvent) {
			ks.record(e, ev)
			ks.logEvent(logCode, ev)
		},
	})
	ks.sets[src] = e
	if ks.ctx != nil {
		e.start(ks.ctx, e.set.Run)
	}
	return e.set
}

// runner is the Run goroutine of a registry entry (a key set or a
// provider): started once, while KeySets runs, and stopped when a reload
// drops the entry; guarded by KeySets.mu.
type runner struct {
	cancel context.CancelFunc
}

// start runs run until parent is done or stop, unless it runs already.
func (r *runner) start(parent context.Context, run func(context.Context)) {
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(parent)
	r.cancel = cancel
	go run(ctx)
}

// stop ends the goroutine start began, if any.
func (r *runner) stop() {
	if r.cancel != nil {
		r.cancel()
	}
}

// all returns every set in the registry.
func (ks *KeySets) all() []*keys.RemoteSet {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := make([]*keys.RemoteSet, 0, len(ks.sets))
	for _, e := range ks.sets {
		out = append(out, e.set)
	}
	return out
}

// record keeps a fetch outcome for Status.
func (ks *KeySets) record(e *remoteEntry, ev keys.RemoteEvent) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	st := &e.status
	switch ev.Kind {
	case keys.RemoteKeySkipped:
		if len(st.pending) < 100 {
			st.pending = append(st.pending, ev.Err.Error())
		}
		return
	case keys.RemoteFailed:
		st.lastError = ev.Err.Error()
	default:
		st.lastError = ""
	}
	st.lastFetch = time.Now()
	st.skipped, st.pending = st.pending, nil
}

// Status describes every remote key set, by URI.
func (ks *KeySets) Status() []RemoteStatus {
	ks.mu.Lock()
	out := make([]RemoteStatus, 0, len(ks.sets))
	sets := make([]*keys.RemoteSet, 0, len(ks.sets))
	for _, e := range ks.sets {
		out = append(out, RemoteStatus{URI: e.set.URL(), LastFetch: e.status.lastFetch, LastError: e.status.lastError,
			Skipped: slices.Clone(e.status.skipped), Refresh: e.set.Refresh()})
		sets = append(sets, e.set)
	}
	ks.mu.Unlock()
	for i, set := range sets {
		out[i].Loaded, out[i].LoadedAt = set.Loaded(), set.LoadedAt()
		list := set.Keys()
		slices.SortFunc(list, func(a, b *keys.Key) int { return strings.Compare(a.ID, b.ID) })
		out[i].Keys = keySummaries(list, func(string) string { return config.KeySetRemoteJWKS })
	}
	slices.SortFunc(out, func(a, b RemoteStatus) int { return strings.Compare(a.URI, b.URI) })
	return out
}

// Retain makes the registry match g, the gateway now live: every set g
// uses refreshes at the shortest period g's deployments ask of it, and every
// other set (named only by a replaced configuration, or by one a reload
// refused) is stopped and forgotten.
func (ks *KeySets) Retain(g *Gateway) {
	for set, refresh := range g.remoteRefresh {
		set.SetRefresh(refresh)
	}
	for p, refresh := range g.providers {
		p.SetRefresh(refresh)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for src, e := range ks.sets {
		if _, used := g.remoteRefresh[e.set]; !used {
			e.stop()
			delete(ks.sets, src)
		}
	}
	ks.retainProvidersLocked(g)
}

// logEvent writes a fetch outcome to the execution log: a failure before
// the first load is an ERROR (requests get 503), a failure with keys in use
// a WARN (they keep verifying), a skipped key a WARN naming it.
func (ks *KeySets) logEvent(code string, e keys.RemoteEvent) {
	if ks.observe != nil {
		ks.observe(e)
	}
	attrs := []slog.Attr{slog.String("code", code), slog.String("jwksUri", e.URL), slog.Int("keys", e.Keys)}
	switch e.Kind {
	case keys.RemoteLoaded:
		ks.log.LogAttrs(context.Background(), slog.LevelInfo, "jwks loaded", attrs...)
	case keys.RemoteFailed:
		level, msg := slog.LevelError, "jwks fetch failed; requests get 503 until it loads: "
		if e.Stale {
			level, msg = slog.LevelWarn, "jwks refresh failed; the last good keys stay in use: "
		}
		ks.log.LogAttrs(context.Background(), level, msg+e.Err.Error(), append(attrs, slog.String("reason", "jwks_fetch_failed"))...)
	case keys.RemoteKeySkipped:
		ks.log.LogAttrs(context.Background(), slog.LevelWarn, "jwks key skipped: "+e.Err.Error(), append(attrs, slog.String("reason", "jwks_key_skipped"))...)
	}
}

// Ready reports whether every remote key set of g has loaded: a deployment
// on a JWKS that never answered cannot serve authenticated routes.
func (g *Gateway) Ready() bool {
	for s := range g.remoteRefresh {
		if !s.Loaded() {
			return false
		}
	}
	for p := range g.providers {
		if !p.Loaded() {
			return false
		}
	}
	return true
}

// NotReady says why g is not Ready: each discovery document and key set
// that has not loaded, with its latest error; nil when Ready.
func (g *Gateway) NotReady() []string {
	var out []string
	for p := range g.providers {
		if st := p.Status(); !st.Loaded {
			why := "not fetched yet"
			if st.LastError != "" {
				why = st.LastError
			}
			out = append(out, "discovery document "+st.URI+" not loaded: "+why)
		}
	}
	for s := range g.remoteRefresh {
		if !s.Loaded() {
			out = append(out, "jwks "+s.URL()+" not loaded")
		}
	}
	slices.Sort(out)
	return out
}

// WaitReady waits until Ready or ctx is done, and reports Ready.
func (g *Gateway) WaitReady(ctx context.Context) bool {
	for !g.Ready() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}
