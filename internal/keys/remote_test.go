package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer is a key server the tests control: it serves a document,
// counts fetches, and can fail, serve garbage, stall or redirect.
type jwksServer struct {
	srv     *httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	body    []byte
	status  int
	delay   time.Duration
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	js := &jwksServer{status: http.StatusOK}
	js.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		js.mu.Lock()
		body, status, delay := js.body, js.status, js.delay
		js.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(js.srv.Close)
	return js
}

func (js *jwksServer) serve(status int, body []byte, delay time.Duration) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.status, js.body, js.delay = status, body, delay
}

// publish serves a JWKS of the given keys.
func (js *jwksServer) publish(t *testing.T, ks ...*Key) {
	t.Helper()
	set := JWKS{}
	for _, k := range ks {
		set.Keys = append(set.Keys, k.JWK())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	js.serve(http.StatusOK, b, 0)
}

func remoteTestKey(t *testing.T, kid string) *Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(kid, "", &priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// startRemote runs a RemoteSet against js until the test ends.
func startRemote(t *testing.T, js *jwksServer, cfg RemoteConfig) (*RemoteSet, *eventLog) {
	t.Helper()
	events := &eventLog{}
	cfg.URL = js.srv.URL + "/jwks"
	cfg.Observe = events.add
	setDefault(&cfg.RetryBase, 20*time.Millisecond)
	setDefault(&cfg.RetryCap, 50*time.Millisecond)
	s := NewRemoteSet(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, events
}

type eventLog struct {
	mu     sync.Mutex
	events []RemoteEvent
}

func (l *eventLog) add(e RemoteEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) count(kind RemoteEventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// eventually polls cond for up to two seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRemoteSetUnavailableUntilFirstLoad(t *testing.T) {
	js := newJWKSServer(t)
	js.serve(http.StatusInternalServerError, nil, 0)
	a := remoteTestKey(t, "a")
	s, events := startRemote(t, js, RemoteConfig{})
	eventually(t, "two failed fetches", func() bool { return events.count(RemoteFailed) >= 2 })
	if _, err := s.Key("a"); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("before any load: err = %v, want ErrKeysUnavailable", err)
	}
	js.publish(t, a)
	eventually(t, "a retry that loads", s.Loaded)
	if k, err := s.Key("a"); err != nil || k.ID != "a" {
		t.Fatalf("after load: key %v, err %v", k, err)
	}
}

func TestRemoteSetRotation(t *testing.T) {
	js := newJWKSServer(t)
	oldKey, newKey := remoteTestKey(t, "old"), remoteTestKey(t, "new")
	js.publish(t, oldKey)
	s, _ := startRemote(t, js, RemoteConfig{UnknownKIDRefresh: 50 * time.Millisecond})
	eventually(t, "first load", s.Loaded)

	// A new key is found on first use: the unknown kid triggers a refresh
	// and the lookup waits for it.
	js.publish(t, oldKey, newKey)
	if k, err := s.Key("new"); err != nil || k.ID != "new" {
		t.Fatalf("new key right after publication: %v, %v", k, err)
	}
	// A removed key stops verifying after the refresh that drops it.
	js.publish(t, newKey)
	time.Sleep(60 * time.Millisecond) // let the unknown-kid window pass
	if _, err := s.Key("unknown-kid-forces-refresh"); !errors.Is(err, ErrUnknownKID) {
		t.Fatalf("err = %v, want ErrUnknownKID", err)
	}
	if _, err := s.Key("old"); !errors.Is(err, ErrUnknownKID) {
		t.Fatalf("removed key: err = %v, want ErrUnknownKID", err)
	}
}

func TestRemoteSetUnknownKIDStorm(t *testing.T) {
	js := newJWKSServer(t)
	js.publish(t, remoteTestKey(t, "a"))
	s, _ := startRemote(t, js, RemoteConfig{UnknownKIDRefresh: time.Hour})
	eventually(t, "first load", s.Loaded)
	before := js.fetches.Load()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _ = s.Key("storm-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)))
		}(i)
	}
	wg.Wait()
	if got := js.fetches.Load() - before; got != 1 {
		t.Fatalf("a storm of 200 unknown kids caused %d fetches, want exactly 1", got)
	}
}

func TestRemoteSetStaleOnError(t *testing.T) {
	tests := []struct {
		name  string
		serve func(js *jwksServer)
	}{
		{"server error", func(js *jwksServer) { js.serve(http.StatusServiceUnavailable, nil, 0) }},
		{"garbage", func(js *jwksServer) { js.serve(http.StatusOK, []byte("<html>not json"), 0) }},
		{"empty set", func(js *jwksServer) { js.serve(http.StatusOK, []byte(`{"keys":[]}`), 0) }},
		{"redirect", func(js *jwksServer) { js.serve(http.StatusFound, nil, 0) }},
		{"too large", func(js *jwksServer) {
			js.serve(http.StatusOK, []byte(`{"keys":[],"pad":"`+strings.Repeat("x", 300<<10)+`"}`), 0)
		}},
		{"slow", func(js *jwksServer) { js.serve(http.StatusOK, nil, time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := newJWKSServer(t)
			js.publish(t, remoteTestKey(t, "a"))
			s, events := startRemote(t, js, RemoteConfig{FetchTimeout: 100 * time.Millisecond, Refresh: 10 * time.Millisecond})
			eventually(t, "first load", s.Loaded)
			tt.serve(js)
			eventually(t, "a failed refresh", func() bool { return events.count(RemoteFailed) >= 1 })
			if k, err := s.Key("a"); err != nil || k.ID != "a" {
				t.Fatalf("after a failed refresh the last good key must stay: %v, %v", k, err)
			}
		})
	}
}

func TestRemoteSetSkipsBadKeys(t *testing.T) {
	js := newJWKSServer(t)
	good := remoteTestKey(t, "good")
	set := JWKS{Keys: []JWK{good.JWK(), {Kty: "RSA", Kid: "weak", N: "AQAB", E: "AQAB"}, {Kty: "EC", Kid: "enc", Use: "enc"}}}
	b, _ := json.Marshal(set)
	js.serve(http.StatusOK, b, 0)
	s, events := startRemote(t, js, RemoteConfig{})
	eventually(t, "first load", s.Loaded)
	if got := events.count(RemoteKeySkipped); got != 2 {
		t.Errorf("skipped events = %d, want 2", got)
	}
	if _, err := s.Key("good"); err != nil {
		t.Errorf("good key: %v", err)
	}
	if _, err := s.Key("weak"); !errors.Is(err, ErrUnknownKID) {
		t.Errorf("weak key: err = %v, want ErrUnknownKID", err)
	}
}

// TestRemoteSetUnknownKIDWaitIsBounded: with the key server stalled, a
// lookup of an unknown kid gives up after UnknownKIDWait, not after the
// whole fetch timeout.
func TestRemoteSetUnknownKIDWaitIsBounded(t *testing.T) {
	js := newJWKSServer(t)
	js.publish(t, remoteTestKey(t, "a"))
	s, _ := startRemote(t, js, RemoteConfig{UnknownKIDRefresh: time.Millisecond, UnknownKIDWait: 200 * time.Millisecond,
		FetchTimeout: 5 * time.Second})
	eventually(t, "first load", s.Loaded)
	js.serve(http.StatusOK, nil, 3*time.Second) // the next fetch stalls
	start := time.Now()
	_, err := s.Key("unknown")
	elapsed := time.Since(start)
	if !errors.Is(err, ErrUnknownKID) {
		t.Fatalf("err = %v, want ErrUnknownKID", err)
	}
	if elapsed < 150*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("unknown kid answered after %v, want about the 200ms wait", elapsed)
	}
	if k, err := s.Key("a"); err != nil || k.ID != "a" {
		t.Errorf("known kid during the stalled fetch: %v, %v", k, err)
	}
}

// TestRemoteLocateAtEachFetch: a set whose address Locate gives (an OpenID
// provider's jwks_uri) fetches from wherever Locate says at each fetch, and
// a Locate error fails the fetch while the last good keys stay.
func TestRemoteLocateAtEachFetch(t *testing.T) {
	first, second := newJWKSServer(t), newJWKSServer(t)
	first.publish(t, remoteTestKey(t, "a"))
	second.publish(t, remoteTestKey(t, "b"))
	var mu sync.Mutex
	where, fail := first.srv.URL+"/jwks", false
	locate := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return "", errors.New("discovery document not loaded")
		}
		return where, nil
	}
	s, _ := startRemote(t, first, RemoteConfig{Locate: locate, UnknownKIDRefresh: time.Millisecond})
	eventually(t, "first load", s.Loaded)
	if _, err := s.Key("a"); err != nil {
		t.Fatalf("key a from the first location: %v", err)
	}
	mu.Lock()
	where = second.srv.URL + "/jwks"
	mu.Unlock()
	if _, err := s.Key("b"); err != nil {
		t.Fatalf("key b after the location moved: %v", err)
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := s.Key("c"); !errors.Is(err, ErrUnknownKID) {
		t.Errorf("unknown kid while Locate fails: %v, want ErrUnknownKID", err)
	}
	if _, err := s.Key("b"); err != nil {
		t.Errorf("the last good keys are gone after a failed Locate: %v", err)
	}
}
