package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Introspection defaults.
const (
	// DefaultIntrospectTimeout bounds one introspection call, connection
	// to last byte: the longest a request waits on a slow provider (plus
	// DefaultWait when the discovery document is not loaded yet).
	DefaultIntrospectTimeout = 3 * time.Second
	// DefaultMaxCache is how long an active answer is cached at most
	// (OCI's maxCacheDurationInHours default).
	DefaultMaxCache = time.Hour
	// DefaultMaxEntries bounds the answers cached per introspector.
	DefaultMaxEntries = 10000
	// maxIntrospectionBytes bounds an introspection answer.
	maxIntrospectionBytes = 64 << 10
)

// Errors of introspection. ErrFetch (the call failed), ErrNotLoaded (no
// discovery document) and ErrBadIntrospection mean the token could not be
// checked (503); the others that it is not valid (401).
var (
	// ErrNoIntrospectionEndpoint: the discovery document names no
	// introspection_endpoint.
	ErrNoIntrospectionEndpoint = errors.New("the provider advertises no introspection_endpoint")
	// ErrNoClientAuthMethod: the provider accepts neither
	// client_secret_basic nor client_secret_post at its introspection
	// endpoint.
	ErrNoClientAuthMethod = errors.New("the provider accepts neither client_secret_basic nor client_secret_post for introspection")
	// ErrBadIntrospection: the answer is not an RFC 7662 JSON object with
	// a boolean "active".
	ErrBadIntrospection = errors.New("bad introspection response")
	// ErrInactive: the provider says the token is not active.
	ErrInactive = errors.New("the provider says the token is not active")
	// ErrExpiryNonNumeric: an active answer whose exp is absent or not a
	// number (OCI's idpTokenExpiryNonNumeric).
	ErrExpiryNonNumeric = errors.New("the introspection answer has no numeric exp")
	// ErrIntrospectedExpired: an active answer whose exp has passed.
	ErrIntrospectedExpired = errors.New("the introspection answer's exp has passed")
	// ErrIssuerMismatch: the answer's iss is not the discovered issuer.
	ErrIssuerMismatch = errors.New("the introspection answer's iss is not the discovered issuer")
)

// Client is a confidential client's credentials (OCI's clientDetails of
// type CUSTOM). Secret is never logged or put in an error.
type Client struct {
	ID, Secret string
}

// IntrospectorConfig configures an Introspector.
type IntrospectorConfig struct {
	// Provider finds the introspection endpoint. Required.
	Provider *Provider
	// Client authenticates the calls. Required.
	Client Client
	// HTTP makes the calls. Default NewHTTPClient(false).
	HTTP *http.Client
	// Timeout bounds one call. Default DefaultIntrospectTimeout.
	Timeout time.Duration
	// MaxCache is the longest an active answer is cached; it never
	// outlives the token's exp. Default DefaultMaxCache.
	MaxCache time.Duration
	// MaxEntries bounds the cache; the least recently used answer goes
	// first. Default DefaultMaxEntries.
	MaxEntries int
	// Skew is the clock skew allowed on exp. Default 0.
	Skew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log receives the first failed call of an outage (ERROR) and the
	// recovery (INFO), not every failed call. Default: discard.
	Log *slog.Logger
	// Observe receives every answer's outcome for metrics: "cached",
	// "active", "inactive", "invalid" (active but refused: exp, iss) or
	// "failed". Default: nothing.
	Observe func(result string)
}

// Introspector asks a provider whether tokens are active (RFC 7662),
// caching active answers by the token's SHA-256 until their exp (at most
// MaxCache), and making one call for concurrent requests with the same
// token. Inactive answers are not cached: a token just issued that a
// provider's replica does not know yet is asked about again.
type Introspector struct {
	cfg    IntrospectorConfig
	cache  *answerCache
	outage atomic.Bool
}

// NewIntrospector returns an introspector for cfg.
func NewIntrospector(cfg IntrospectorConfig) *Introspector {
	if cfg.HTTP == nil {
		cfg.HTTP = NewHTTPClient(false)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultIntrospectTimeout
	}
	if cfg.MaxCache <= 0 {
		cfg.MaxCache = DefaultMaxCache
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string) {}
	}
	return &Introspector{cfg: cfg, cache: newAnswerCache(cfg.MaxEntries)}
}

// Provider returns the provider the introspector asks.
func (i *Introspector) Provider() *Provider { return i.cfg.Provider }

// Introspection is an active token's introspection answer.
type Introspection struct {
	// Claims is the answer's JSON object; numbers are json.Number.
	Claims map[string]any
	// Expiry is the answer's exp.
	Expiry time.Time
	// Cached: the answer came from the cache, not from a call.
	Cached bool
}

// Introspect returns the provider's answer for tok: an active, unexpired
// answer whose iss (if any) is the discovered issuer; or ErrInactive,
// ErrExpiryNonNumeric, ErrIntrospectedExpired, ErrIssuerMismatch (the token
// is not valid); or ErrNotLoaded, ErrFetch, ErrBadIntrospection,
// ErrNoIntrospectionEndpoint, ErrNoClientAuthMethod (it could not be
// checked). A call takes at most the configured Timeout.
func (i *Introspector) Introspect(ctx context.Context, tok string) (*Introspection, error) {
	key := hashToken(tok)
	now := i.cfg.Now()
	if a, ok := i.cache.get(key, now); ok {
		i.cfg.Observe("cached")
		return &Introspection{Claims: a.claims, Expiry: a.expiry, Cached: true}, nil
	}
	a, err := i.cache.do(ctx, key, func() (*answer, error) {
		a, err := i.call(ctx, tok, true)
		i.report(err)
		return a, err
	})
	if err != nil {
		return nil, err
	}
	return &Introspection{Claims: a.claims, Expiry: a.expiry}, nil
}

// report counts a call's outcome and logs the first failure of an outage
// and the recovery.
func (i *Introspector) report(err error) {
	switch {
	case err == nil:
		i.cfg.Observe("active")
	case errors.Is(err, ErrInactive):
		i.cfg.Observe("inactive")
	case errors.Is(err, ErrExpiryNonNumeric), errors.Is(err, ErrIntrospectedExpired), errors.Is(err, ErrIssuerMismatch):
		i.cfg.Observe("invalid")
	default:
		i.cfg.Observe("failed")
		if !i.outage.Swap(true) {
			i.cfg.Log.LogAttrs(context.Background(), slog.LevelError,
				"introspection failed; tokens without a cached answer get 503 until the provider answers: "+err.Error(),
				slog.String("code", "authentication.idpCallFailed"), slog.String("discoveryUri", i.cfg.Provider.URI()),
				slog.String("reason", "idp_unavailable"))
		}
		return
	}
	if i.outage.Swap(false) {
		i.cfg.Log.LogAttrs(context.Background(), slog.LevelInfo, "introspection answers again",
			slog.String("code", "authentication.idpCallSuccess"), slog.String("discoveryUri", i.cfg.Provider.URI()))
	}
}

// Cached returns the cached answer for tok, if any, without calling the
// provider (an explanation of a request reads what serve knows).
func (i *Introspector) Cached(tok string) (*Introspection, bool) {
	a, ok := i.cache.get(hashToken(tok), i.cfg.Now())
	if !ok {
		return nil, false
	}
	return &Introspection{Claims: a.claims, Expiry: a.expiry, Cached: true}, true
}

// IntrospectUncached asks the provider like Introspect but neither reads
// nor fills the cache, and is not counted: for explanations, which are
// questions, not traffic.
func (i *Introspector) IntrospectUncached(ctx context.Context, tok string) (*Introspection, error) {
	a, err := i.call(ctx, tok, false)
	if err != nil {
		return nil, err
	}
	return &Introspection{Claims: a.claims, Expiry: a.expiry}, nil
}

// Endpoint returns the introspection endpoint in use, "" when the
// discovery document is not loaded or names none.
func (i *Introspector) Endpoint() string {
	if d := i.cfg.Provider.Current(); d != nil {
		return d.IntrospectionEndpoint
	}
	return ""
}

// call asks the provider and checks the answer; with store, an active
// valid answer is cached until min(exp, now+MaxCache).
func (i *Introspector) call(ctx context.Context, tok string, store bool) (*answer, error) {
	d, err := i.cfg.Provider.Discovery(ctx)
	if err != nil {
		return nil, err
	}
	if d.IntrospectionEndpoint == "" {
		return nil, fmt.Errorf("%w (discovery %s)", ErrNoIntrospectionEndpoint, i.cfg.Provider.URI())
	}
	method, err := clientAuthMethod(d)
	if err != nil {
		return nil, err
	}
	// The call is the provider's, not the first caller's: it is not
	// cancelled when that caller gives up, since others may be waiting.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.cfg.Timeout)
	defer cancel()
	claims, err := i.post(cctx, d.IntrospectionEndpoint, method, tok)
	if err != nil {
		return nil, err
	}
	a, err := i.check(d, claims)
	if err != nil {
		return nil, err
	}
	if !store {
		return a, nil
	}
	until := a.expiry
	if limit := i.cfg.Now().Add(i.cfg.MaxCache); limit.Before(until) {
		until = limit
	}
	i.cache.put(hashToken(tok), a, until)
	return a, nil
}

// check applies RFC 7662 and keygate's rules to an answer.
func (i *Introspector) check(d *Discovery, claims map[string]any) (*answer, error) {
	active, ok := claims["active"].(bool)
	if !ok {
		return nil, fmt.Errorf(`%w: "active" is missing or not a boolean`, ErrBadIntrospection)
	}
	if !active {
		return nil, ErrInactive
	}
	n, ok := claims["exp"].(json.Number)
	if !ok {
		return nil, ErrExpiryNonNumeric
	}
	secs, err := strconv.ParseFloat(string(n), 64)
	if err != nil || secs <= 0 || secs > 1e12 {
		return nil, fmt.Errorf("%w: exp %q", ErrExpiryNonNumeric, n)
	}
	exp := time.Unix(int64(secs), 0)
	if now := i.cfg.Now(); !now.Before(exp.Add(i.cfg.Skew)) {
		return nil, fmt.Errorf("%w: expired at %s", ErrIntrospectedExpired, exp.UTC().Format(time.RFC3339))
	}
	if raw, present := claims["iss"]; present {
		iss, _ := raw.(string)
		if !d.IssuerMatches(iss) {
			return nil, fmt.Errorf("%w: iss %q, discovered issuer %q", ErrIssuerMismatch, iss, d.Issuer)
		}
	}
	return &answer{claims: claims, expiry: exp}, nil
}

// clientAuthMethod picks how the client authenticates: client_secret_basic
// unless the provider lists methods without it but with
// client_secret_post. Without a list, basic (RFC 6749 §2.3.1).
func clientAuthMethod(d *Discovery) (string, error) {
	methods := d.IntrospectionEndpointAuthMethodsSupported
	if len(methods) == 0 {
		methods = d.TokenEndpointAuthMethodsSupported
	}
	switch {
	case len(methods) == 0 || slices.Contains(methods, "client_secret_basic"):
		return "client_secret_basic", nil
	case slices.Contains(methods, "client_secret_post"):
		return "client_secret_post", nil
	}
	return "", fmt.Errorf("%w (it lists %s)", ErrNoClientAuthMethod, strings.Join(methods, ", "))
}

// post makes the RFC 7662 call and decodes the JSON object it returns.
func (i *Introspector) post(ctx context.Context, endpoint, method, tok string) (map[string]any, error) {
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	if method == "client_secret_post" {
		form.Set("client_id", i.cfg.Client.ID)
		form.Set("client_secret", i.cfg.Client.Secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: introspection %s: %w", ErrFetch, endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if method == "client_secret_basic" {
		// RFC 6749 §2.3.1: both are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(i.cfg.Client.ID), url.QueryEscape(i.cfg.Client.Secret))
	}
	resp, err := i.cfg.HTTP.Do(req)
	if err != nil {
		// The error names the endpoint, never the form (it holds the token).
		return nil, fmt.Errorf("%w: introspection %s: %w", ErrFetch, endpoint, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: introspection %s: status %d", ErrFetch, endpoint, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: introspection %s: %w", ErrFetch, endpoint, err)
	}
	if len(body) > maxIntrospectionBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadIntrospection, maxIntrospectionBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadIntrospection)
	}
	return claims, nil
}

// unwrapURLError drops url.Error's wrapping, which repeats the URL and
// method, keeping the cause (timeout, refused).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
