package keys

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Remote JWKS defaults. The refresh period is OCI's maxCacheDurationInHours.
const (
	defaultRemoteRefresh     = time.Hour
	defaultFetchTimeout      = 10 * time.Second
	defaultUnknownKIDRefresh = 10 * time.Second
	defaultUnknownKIDWait    = 2 * time.Second
	defaultRetryBase         = time.Second
	defaultRetryCap          = time.Minute
)

// RemoteConfig configures a RemoteSet.
type RemoteConfig struct {
	// URL is the JWKS document's http or https address.
	URL string
	// InsecureSkipVerify turns off TLS certificate checks of URL
	// (isSslVerifyDisabled). Default false. Ignored when Client is set.
	InsecureSkipVerify bool
	// Refresh is how long a loaded set is used before it is fetched again.
	// Default 1h.
	Refresh time.Duration
	// FetchTimeout bounds one fetch, connection to last byte. Default 10s.
	FetchTimeout time.Duration
	// UnknownKIDRefresh is the least time between two fetches caused by
	// tokens naming kids the set does not hold. Default 10s.
	UnknownKIDRefresh time.Duration
	// UnknownKIDWait bounds how long a lookup of an unknown kid waits for
	// the refresh it caused or joined; a slow key server then costs that
	// request this much, not a whole FetchTimeout. Default 2s.
	UnknownKIDWait time.Duration
	// RetryBase and RetryCap shape the exponential backoff after a failed
	// fetch. Defaults 1s and 1m.
	RetryBase, RetryCap time.Duration
	// Client fetches the document. Default: NewJWKSClient(InsecureSkipVerify).
	Client *http.Client
	// Observe receives every fetch outcome and skipped key, for logs and
	// metrics (this package never logs). Default: nothing.
	Observe func(RemoteEvent)
	// Locate, when set, gives the JWKS address at each fetch (an OpenID
	// provider's discovery document names it); URL then only names the
	// set. A Locate error fails the fetch like a download error. Default
	// nil: the set is at URL.
	Locate func(ctx context.Context) (string, error)
}

// RemoteEventKind says what a RemoteEvent reports.
type RemoteEventKind int

// RemoteEvent kinds.
const (
	// RemoteLoaded: a fetch succeeded and its keys are in use.
	RemoteLoaded RemoteEventKind = iota
	// RemoteFailed: a fetch failed; the last good keys (if any) stay in use.
	RemoteFailed
	// RemoteKeySkipped: one key of a fetched document was left out.
	RemoteKeySkipped
)

// String returns the kind as a metrics label: loaded, failed, key_skipped.
func (k RemoteEventKind) String() string {
	switch k {
	case RemoteLoaded:
		return "loaded"
	case RemoteFailed:
		return "failed"
	}
	return "key_skipped"
}

// RemoteEvent is one outcome of a RemoteSet's work.
type RemoteEvent struct {
	Kind RemoteEventKind
	URL  string
	// Keys is the number of keys in use after the event.
	Keys int
	// Stale is true when keys are in use but the latest fetch failed.
	Stale bool
	// Err says what failed (RemoteFailed, RemoteKeySkipped).
	Err error
}

// ErrJWKSFetch is wrapped by every failed fetch.
var ErrJWKSFetch = errors.New("jwks fetch failed")

// RemoteSet is a key set published as a JWKS at a URL: fetched in the
// background, refreshed periodically and when a token names an unknown kid
// (rate-limited), and kept when a refresh fails, so a key-server outage never
// turns verifiable tokens into errors.
type RemoteSet struct {
	cfg    RemoteConfig
	client *http.Client
	// refresh is cfg.Refresh, changeable while Run runs (SetRefresh).
	refresh atomic.Int64
	// byKID is nil until the first successful fetch.
	byKID    atomic.Pointer[map[string]*Key]
	loadedAt atomic.Int64 // unix nanoseconds of the last successful fetch

	mu          sync.Mutex
	ctx         context.Context // lives as long as Run
	inflight    chan struct{}   // closed when the running fetch ends
	lastUnknown time.Time       // last fetch caused by an unknown kid
	stale       bool
}

var _ Resolver = (*RemoteSet)(nil)

// NewRemoteSet returns a set for cfg; it holds no keys until Run fetched.
func NewRemoteSet(cfg RemoteConfig) *RemoteSet {
	setDefault(&cfg.Refresh, defaultRemoteRefresh)
	setDefault(&cfg.FetchTimeout, defaultFetchTimeout)
	setDefault(&cfg.UnknownKIDRefresh, defaultUnknownKIDRefresh)
	setDefault(&cfg.UnknownKIDWait, defaultUnknownKIDWait)
	setDefault(&cfg.RetryBase, defaultRetryBase)
	setDefault(&cfg.RetryCap, defaultRetryCap)
	client := cfg.Client
	if client == nil {
		client = NewJWKSClient(cfg.InsecureSkipVerify)
	}
	s := &RemoteSet{cfg: cfg, client: client, ctx: context.Background()}
	s.refresh.Store(int64(cfg.Refresh))
	return s
}

// SetRefresh changes the refresh period (a reload changed
// maxCacheDurationInHours); it applies from the next scheduled fetch on.
func (s *RemoteSet) SetRefresh(d time.Duration) {
	if d > 0 {
		s.refresh.Store(int64(d))
	}
}

// Refresh returns the refresh period in use.
func (s *RemoteSet) Refresh() time.Duration { return time.Duration(s.refresh.Load()) }

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// NewJWKSClient returns the HTTP client key sets are fetched with: no
// redirects (a JWKS that moves is a configuration change, not something to
// follow silently), and TLS checks unless insecure.
func NewJWKSClient(insecure bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // isSslVerifyDisabled, set by the operator
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// URL returns the address the set is fetched from.
func (s *RemoteSet) URL() string { return s.cfg.URL }

// Run fetches the set and keeps it fresh until ctx is done: at once, then
// every Refresh; after a failure it retries with capped exponential backoff.
func (s *RemoteSet) Run(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	failures := 0
	for {
		err := s.fetchAndWait()
		delay := s.Refresh()
		if err != nil {
			failures++
			delay = backoff(s.cfg.RetryBase, s.cfg.RetryCap, failures)
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

// backoff is base·2^(n-1), capped.
func backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Loaded reports whether a fetch has ever succeeded.
func (s *RemoteSet) Loaded() bool { return s.byKID.Load() != nil }

// LoadedAt returns when the keys in use were fetched (zero if never).
func (s *RemoteSet) LoadedAt() time.Time {
	if ns := s.loadedAt.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Keys returns the keys in use, in no particular order.
func (s *RemoteSet) Keys() []*Key {
	m := s.byKID.Load()
	if m == nil {
		return nil
	}
	out := make([]*Key, 0, len(*m))
	for _, k := range *m {
		out = append(out, k)
	}
	return out
}

// Key returns the key named kid. Before the first successful fetch it fails
// with ErrKeysUnavailable. An unknown kid triggers a refresh (at most one
// per UnknownKIDRefresh, whatever the number of unknown kids) and waits for
// it (at most UnknownKIDWait), so a key published a moment ago is found on
// first use.
func (s *RemoteSet) Key(kid string) (*Key, error) {
	m := s.byKID.Load()
	if m == nil {
		return nil, fmt.Errorf("%w: the jwks at %s has not been loaded yet", ErrKeysUnavailable, s.cfg.URL)
	}
	if k, ok := (*m)[kid]; ok {
		return k, nil
	}
	if done := s.refreshForUnknownKID(); done != nil {
		wait := time.NewTimer(s.cfg.UnknownKIDWait)
		select {
		case <-done:
		case <-wait.C:
		}
		wait.Stop()
		if k, ok := (*s.byKID.Load())[kid]; ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownKID, quoteKID(kid))
}

// refreshForUnknownKID starts (or joins) a fetch unless one was caused by
// an unknown kid less than UnknownKIDRefresh ago. It returns the channel
// closed when that fetch ends, or nil when rate-limited.
func (s *RemoteSet) refreshForUnknownKID() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight
	}
	now := time.Now()
	if !s.lastUnknown.IsZero() && now.Sub(s.lastUnknown) < s.cfg.UnknownKIDRefresh {
		return nil
	}
	s.lastUnknown = now
	return s.startFetchLocked()
}

// fetchAndWait runs one fetch (or joins the running one) and returns its
// result.
func (s *RemoteSet) fetchAndWait() error {
	s.mu.Lock()
	done := s.startFetchLocked()
	s.mu.Unlock()
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stale || !s.Loaded() {
		return ErrJWKSFetch
	}
	return nil
}

// startFetchLocked starts a fetch unless one is running; s.mu is held.
func (s *RemoteSet) startFetchLocked() chan struct{} {
	if s.inflight != nil {
		return s.inflight
	}
	done := make(chan struct{})
	s.inflight = done
	ctx := s.ctx
	go func() {
		err := s.fetch(ctx)
		s.mu.Lock()
		s.stale = err != nil
		s.inflight = nil
		s.mu.Unlock()
		close(done)
	}()
	return done
}

// fetch downloads and parses the document and swaps the keys in. On any
// failure the keys in use stay as they were.
func (s *RemoteSet) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	ks, skipped, err := s.download(ctx)
	for _, e := range skipped {
		s.observe(RemoteEvent{Kind: RemoteKeySkipped, Err: e})
	}
	if err == nil && len(ks) == 0 {
		err = errors.New("the jwks holds no usable key")
	}
	if err != nil {
		err = fmt.Errorf("%w: %s: %w", ErrJWKSFetch, s.cfg.URL, err)
		s.observe(RemoteEvent{Kind: RemoteFailed, Err: err, Stale: s.Loaded()})
		return err
	}
	m := make(map[string]*Key, len(ks))
	for _, k := range ks {
		m[k.ID] = k
	}
	s.byKID.Store(&m)
	s.loadedAt.Store(time.Now().UnixNano())
	s.observe(RemoteEvent{Kind: RemoteLoaded})
	return nil
}

func (s *RemoteSet) download(ctx context.Context) ([]*Key, []error, error) {
	url := s.cfg.URL
	if s.cfg.Locate != nil {
		located, err := s.cfg.Locate(ctx)
		if err != nil {
			return nil, nil, err
		}
		url = located
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("status %d (redirects are not followed)", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("the document is larger than %d bytes", maxJWKSBytes)
	}
	return ParseJWKS(body)
}

func (s *RemoteSet) observe(e RemoteEvent) {
	if s.cfg.Observe == nil {
		return
	}
	e.URL = s.cfg.URL
	if m := s.byKID.Load(); m != nil {
		e.Keys = len(*m)
	}
	s.cfg.Observe(e)
}
