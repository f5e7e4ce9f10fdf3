package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/keys"
)

// Provider defaults.
const (
	// DefaultRefresh is how long a loaded document is used before it is
	// fetched again (OCI's maxCacheDurationInHours default).
	DefaultRefresh = time.Hour
	// DefaultFetchTimeout bounds one discovery fetch, connection to last
	// byte.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultWait bounds how long Discovery waits for a first load it
	// started or joined: a request never waits longer for a provider that
	// is down.
	DefaultWait = 2 * time.Second
	// DefaultMinRefetch is the least time between two fetches that callers
	// (not the refresh schedule) caused.
	DefaultMinRefetch = 5 * time.Second
	defaultRetryBase  = time.Second
	defaultRetryCap   = time.Minute
)

// Errors of a Provider.
var (
	// ErrNotLoaded: no discovery document has been fetched yet (the
	// provider has not answered since start): requests get 503.
	ErrNotLoaded = errors.New("the discovery document has not been loaded")
	// ErrFetch is wrapped by every failed fetch of a provider document
	// (discovery, and by Introspector every failed introspection call).
	ErrFetch = errors.New("identity provider call failed")
)

// Option configures a Provider.
type Option func(*Provider)

// WithRefresh sets how long a loaded document is used before it is fetched
// again. Default DefaultRefresh.
func WithRefresh(d time.Duration) Option { return func(p *Provider) { p.refresh.Store(int64(d)) } }

// WithFetchTimeout bounds one fetch. Default DefaultFetchTimeout.
func WithFetchTimeout(d time.Duration) Option { return func(p *Provider) { p.fetchTimeout = d } }

// WithWait bounds how long Discovery waits for a first load. Default
// DefaultWait.
func WithWait(d time.Duration) Option { return func(p *Provider) { p.wait = d } }

// WithRetry shapes the exponential backoff after a failed scheduled fetch.
// Defaults 1s and 1m.
func WithRetry(base, limit time.Duration) Option {
	return func(p *Provider) { p.retryBase, p.retryCap = base, limit }
}

// WithObserve receives every fetch outcome (metrics).
func WithObserve(f func(Event)) Option { return func(p *Provider) { p.observe = f } }

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// Loaded: a fetch succeeded and its document is in use.
	Loaded EventKind = iota
	// Failed: a fetch failed; the last good document (if any) stays in use.
	Failed
)

// String returns the kind as a metrics label.
func (k EventKind) String() string {
	if k == Loaded {
		return "loaded"
	}
	return "failed"
}

// Event is one outcome of a Provider's fetch.
type Event struct {
	Kind EventKind
	URI  string
	// Stale: a document is in use but the latest fetch failed.
	Stale bool
	Err   error
}

// Provider fetches and caches one discovery URI: fetched by Run at once and
// every refresh period, retried with capped backoff after a failure, the
// last good document kept on error (stale-on-error), ErrNotLoaded before
// the first load. It logs the first failure of an outage and the recovery,
// not every retry.
type Provider struct {
	uri          string
	client       *http.Client
	log          *slog.Logger
	refresh      atomic.Int64
	fetchTimeout time.Duration
	wait         time.Duration
	retryBase    time.Duration
	retryCap     time.Duration
	observe      func(Event)

	doc      atomic.Pointer[Discovery]
	loadedAt atomic.Int64

	mu        sync.Mutex
	ctx       context.Context // lives as long as Run (Background before)
	inflight  chan struct{}
	lastAsked time.Time // last fetch a caller caused
	lastErr   error     // latest fetch's error, nil after a success
	lastFetch time.Time
	outage    bool // a failure has been logged and no success since
}

// NewProvider returns a provider for the discovery document at uri, fetched
// with client (nil: NewHTTPClient(false)). It fetches nothing until Run or
// Discovery.
func NewProvider(uri string, client *http.Client, log *slog.Logger, opts ...Option) *Provider {
	if client == nil {
		client = NewHTTPClient(false)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Provider{uri: uri, client: client, log: log, fetchTimeout: DefaultFetchTimeout, wait: DefaultWait,
		retryBase: defaultRetryBase, retryCap: defaultRetryCap, ctx: context.Background()}
	p.refresh.Store(int64(DefaultRefresh))
	for _, o := range opts {
		o(p)
	}
	if p.refresh.Load() <= 0 {
		p.refresh.Store(int64(DefaultRefresh))
	}
	return p
}

// NewHTTPClient returns the client provider calls are made with: no
// redirects (a provider endpoint that moves is a configuration change, not
// something to follow silently; a redirect could also carry client
// credentials elsewhere), and TLS checks unless insecure
// (isSslVerifyDisabled). Each call is bounded by its own timeout. It is the
// key sets' client: one place holds those settings.
func NewHTTPClient(insecure bool) *http.Client { return keys.NewJWKSClient(insecure) }

// URI returns the discovery URI.
func (p *Provider) URI() string { return p.uri }

// SetRefresh changes the refresh period from the next scheduled fetch on.
func (p *Provider) SetRefresh(d time.Duration) {
	if d > 0 {
		p.refresh.Store(int64(d))
	}
}

// Refresh returns the refresh period in use.
func (p *Provider) Refresh() time.Duration { return time.Duration(p.refresh.Load()) }

// Loaded reports whether a fetch has ever succeeded.
func (p *Provider) Loaded() bool { return p.doc.Load() != nil }

// Status is what the latest fetches of a Provider came to.
type Status struct {
	URI string
	// Loaded: a document is in use, fetched at LoadedAt.
	Loaded   bool
	LoadedAt time.Time
	// LastFetch is when the latest fetch ended; LastError is its error
	// ("" after a success).
	LastFetch time.Time
	LastError string
}

// Status describes the provider's fetches (readiness, console, CLI).
func (p *Provider) Status() Status {
	st := Status{URI: p.uri, Loaded: p.Loaded()}
	if ns := p.loadedAt.Load(); ns != 0 {
		st.LoadedAt = time.Unix(0, ns)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st.LastFetch = p.lastFetch
	if p.lastErr != nil {
		st.LastError = p.lastErr.Error()
	}
	return st
}

// Current returns the document in use, or nil before the first load; it
// never fetches.
func (p *Provider) Current() *Discovery { return p.doc.Load() }

// Discovery returns the document in use. Before the first load it starts
// (or joins) a fetch, at most one per DefaultMinRefetch, and waits for it
// at most the WithWait bound (and ctx); if that does not load the document
// it fails with ErrNotLoaded, which says why.
func (p *Provider) Discovery(ctx context.Context) (*Discovery, error) {
	if d := p.doc.Load(); d != nil {
		return d, nil
	}
	if done := p.askFetch(); done != nil {
		wait := time.NewTimer(p.wait)
		select {
		case <-done:
		case <-wait.C:
		case <-ctx.Done():
		}
		wait.Stop()
		if d := p.doc.Load(); d != nil {
			return d, nil
		}
	}
	p.mu.Lock()
	last := p.lastErr
	p.mu.Unlock()
	if last != nil {
		return nil, fmt.Errorf("%w from %s: %w", ErrNotLoaded, p.uri, last)
	}
	return nil, fmt.Errorf("%w from %s yet", ErrNotLoaded, p.uri)
}

// JWKSURI returns the discovered jwks_uri, waiting for a first load as
// Discovery does. It is the Locate of a keys.RemoteSet that holds the
// provider's signing keys (ID tokens, JWT access tokens).
func (p *Provider) JWKSURI(ctx context.Context) (string, error) {
	d, err := p.Discovery(ctx)
	if err != nil {
		return "", err
	}
	return d.JWKSURI, nil
}

// Load fetches the document now (or joins the running fetch) and waits for
// the outcome, bounded by ctx; for one-shot users such as the CLI.
func (p *Provider) Load(ctx context.Context) (*Discovery, error) {
	ended, err := p.fetchAndWait(ctx)
	if !ended {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return p.doc.Load(), nil
}

// fetchAndWait starts a fetch (or joins the running one) and waits for it:
// ended is false when ctx was done first; err is the fetch's error.
func (p *Provider) fetchAndWait(ctx context.Context) (ended bool, err error) {
	p.mu.Lock()
	done := p.startFetchLocked()
	p.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return false, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return true, p.lastErr
}

// askFetch starts or joins a fetch unless a caller caused one less than
// DefaultMinRefetch ago; nil when rate-limited.
func (p *Provider) askFetch() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inflight != nil {
		return p.inflight
	}
	now := time.Now()
	if !p.lastAsked.IsZero() && now.Sub(p.lastAsked) < DefaultMinRefetch {
		return nil
	}
	p.lastAsked = now
	return p.startFetchLocked()
}

// Run fetches the document and keeps it fresh until ctx is done: at once,
// then every refresh period; after a failure it retries with capped
// exponential backoff.
func (p *Provider) Run(ctx context.Context) {
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	failures := 0
	for {
		ended, err := p.fetchAndWait(ctx)
		if !ended {
			return
		}
		delay := p.Refresh()
		if err != nil {
			failures++
			delay = backoff(p.retryBase, p.retryCap, failures)
		} else {
			failures = 0
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

func backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// startFetchLocked starts a fetch unless one is running; p.mu is held.
func (p *Provider) startFetchLocked() chan struct{} {
	if p.inflight != nil {
		return p.inflight
	}
	done := make(chan struct{})
	p.inflight = done
	ctx := p.ctx
	go func() {
		err := p.fetch(ctx)
		p.mu.Lock()
		p.lastErr, p.lastFetch, p.inflight = err, time.Now(), nil
		wasOutage := p.outage
		p.outage = err != nil
		p.mu.Unlock()
		p.report(err, wasOutage)
		close(done)
	}()
	return done
}

// report logs the first failure of an outage (ERROR before the first
// load: requests get 503; WARN after: the last good document stays in
// use), the recovery, and every outcome to the observer.
func (p *Provider) report(err error, wasOutage bool) {
	stale := p.Loaded()
	if p.observe != nil {
		kind := Loaded
		if err != nil {
			kind = Failed
		}
		p.observe(Event{Kind: kind, URI: p.uri, Stale: err != nil && stale, Err: err})
	}
	attrs := []slog.Attr{slog.String("discoveryUri", p.uri)}
	switch {
	case err == nil && wasOutage:
		p.log.LogAttrs(context.Background(), slog.LevelInfo, "discovery document loaded again; the provider is back",
			append(attrs, slog.String("code", "tokenAuthentication.loadingDiscoveryEndpointResponse"))...)
	case err == nil:
		p.log.LogAttrs(context.Background(), slog.LevelDebug, "discovery document loaded",
			append(attrs, slog.String("code", "tokenAuthentication.loadingDiscoveryEndpointResponse"))...)
	case wasOutage:
		p.log.LogAttrs(context.Background(), slog.LevelDebug, "discovery fetch failed again: "+err.Error(),
			append(attrs, slog.String("code", "authentication.idpCallFailed"))...)
	case stale:
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "discovery fetch failed; the last good document stays in use: "+err.Error(),
			append(attrs, slog.String("code", "authentication.idpCallFailed"), slog.String("reason", "idp_unavailable"))...)
	default:
		p.log.LogAttrs(context.Background(), slog.LevelError, "discovery fetch failed; requests get 503 until it loads: "+err.Error(),
			append(attrs, slog.String("code", "authentication.idpCallFailed"), slog.String("reason", "idp_unavailable"))...)
	}
}

// fetch downloads, parses and swaps in the document; on any failure the
// document in use stays.
func (p *Provider) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.fetchTimeout)
	defer cancel()
	d, err := p.download(ctx)
	if err != nil {
		return fmt.Errorf("%w: discovery %s: %w", ErrFetch, p.uri, err)
	}
	p.doc.Store(d)
	p.loadedAt.Store(time.Now().UnixNano())
	return nil
}

func (p *Provider) download(ctx context.Context) (*Discovery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d (redirects are not followed)", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxDiscoveryBytes {
		return nil, fmt.Errorf("the document is larger than %d bytes", maxDiscoveryBytes)
	}
	return ParseDiscovery(p.uri, body)
}
