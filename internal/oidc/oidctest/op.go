// Package oidctest runs a real OpenID provider for tests: the example OP of
// github.com/zitadel/oidc/v3 (example/server/exampleop with its in-memory
// storage), on 127.0.0.1 with a free port, with the knobs keygate's tests
// need (key rotation, stop and start on the same port, a slow provider,
// request counts).
package oidctest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The example storage's test user, as NewUserStore makes it for an issuer
// on 127.0.0.1.
const (
	Username = "test-user@127.0.0.1"
	Password = "verysecure"
	// UserID is the test user's subject.
	UserID = "id1"
)

// Clients registered by Start. Both are confidential web clients with
// secret ClientSecret, allowed to introspect the tokens issued to them.
const (
	// ClientID's access tokens are opaque.
	ClientID = "keygate"
	// JWTClientID's access tokens are JWTs signed by the OP.
	JWTClientID = "keygate-jwt"
	// ClientSecret is both clients' secret.
	ClientSecret = "keygate-secret"
	// RedirectURI is both clients' redirect URI; tokens are obtained
	// without following it.
	RedirectURI = "http://127.0.0.1/oidctest/callback"
)

// OP is a real OpenID provider running on 127.0.0.1 for tests.
type OP struct {
	// Issuer is the provider's issuer, without a trailing slash; its
	// discovery document is at Issuer + "/.well-known/openid-configuration".
	Issuer string
	// DiscoveryURI is Issuer + "/.well-known/openid-configuration".
	DiscoveryURI string

	t       testing.TB
	addr    string
	handler http.Handler
	store   *keyedStorage

	mu     sync.Mutex
	server *http.Server
	counts map[string]int
	// lastIntrospectionAuth is how the latest introspection call
	// authenticated.
	lastIntrospectionAuth string

	delay atomic.Int64
}

// Start runs a provider until the test ends.
func Start(t testing.TB) *OP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("oidctest: listen: %v", err)
	}
	issuer := "http://" + ln.Addr().String()
	store, err := newKeyedStorage(storage.NewUserStore(issuer))
	if err != nil {
		t.Fatalf("oidctest: storage: %v", err)
	}
	o := &OP{Issuer: issuer, DiscoveryURI: issuer + "/.well-known/openid-configuration",
		t: t, addr: ln.Addr().String(), store: store, counts: map[string]int{}}
	o.RegisterClient(storage.WebClient(ClientID, ClientSecret, RedirectURI), ClientSecret, false)
	o.RegisterClient(storage.WebClient(JWTClientID, ClientSecret, RedirectURI), ClientSecret, true)
	router := exampleop.SetupServer(issuer, store, nil, false)
	o.handler = o.instrument(router)
	o.serve(ln)
	t.Cleanup(o.Stop)
	return o
}

// RegisterClient adds a client (storage.WebClient(id, secret, redirects...)
// for a confidential one) while the OP runs; secret is what the client
// authenticates with at the token and introspection endpoints, jwt makes
// its access tokens JWTs.
func (o *OP) RegisterClient(c *storage.Client, secret string, jwt bool) {
	o.store.register(c, secret, jwt)
}

// instrument counts requests by path and applies the configured delay
// before the OP answers (a slow provider).
func (o *OP) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.counts[r.URL.Path]++
		if r.URL.Path == IntrospectionPath {
			o.lastIntrospectionAuth = introspectionAuthOf(r)
		}
		o.mu.Unlock()
		if d := time.Duration(o.delay.Load()); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// IntrospectionAuthSeen returns how the latest introspection call
// authenticated: "client_secret_basic", "client_secret_post" or "".
func (o *OP) IntrospectionAuthSeen() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastIntrospectionAuth
}

func (o *OP) serve(ln net.Listener) {
	srv := &http.Server{Handler: o.handler, ReadHeaderTimeout: 5 * time.Second}
	o.mu.Lock()
	o.server = srv
	o.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop takes the provider down (connections refused); its state (keys,
// clients, tokens) is kept for Restart.
func (o *OP) Stop() {
	o.mu.Lock()
	srv := o.server
	o.server = nil
	o.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart brings a stopped provider back on the same address.
func (o *OP) Restart() {
	o.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger a moment after Close
		if ln, err = net.Listen("tcp", o.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		o.t.Fatalf("oidctest: listen again on %s: %v", o.addr, err)
	}
	o.serve(ln)
}

// SetDelay makes every answer wait d (0: none), as a slow provider does.
func (o *OP) SetDelay(d time.Duration) { o.delay.Store(int64(d)) }

// Requests returns how many requests reached path (e.g. IntrospectionPath).
func (o *OP) Requests(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[path]
}

// introspectionAuthOf tells how a request authenticates its client, without
// consuming its body (the form is read from a copy).
func introspectionAuthOf(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return "client_secret_basic"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("client_secret") != "" {
		return "client_secret_post"
	}
	return ""
}

// Paths of the example OP's endpoints.
const (
	DiscoveryPath     = "/.well-known/openid-configuration"
	KeysPath          = "/keys"
	IntrospectionPath = "/oauth/introspect"
	TokenPath         = "/oauth/token"
	RevocationPath    = "/revoke"
)

// KeyID returns the kid of the key that signs now.
func (o *OP) KeyID() string { return o.store.signing().id }

// RotateKey makes a new signing key and returns its kid; with keepOld the
// previous keys stay published (tokens they signed still verify), without
// it they are withdrawn.
func (o *OP) RotateKey(keepOld bool) string {
	o.t.Helper()
	kid, err := o.store.rotate(keepOld)
	if err != nil {
		o.t.Fatalf("oidctest: rotate: %v", err)
	}
	return kid
}

// errStop ends redirect following at the client's redirect URI.
var errStop = errors.New("stop at the redirect uri")

func isRedirectURI(u string) bool { return strings.HasPrefix(u, RedirectURI) }

func (o *OP) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
