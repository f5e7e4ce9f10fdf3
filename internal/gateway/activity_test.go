package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// activityGateway serves /r (authenticated) with Activity on clock.
func activityGateway(t *testing.T, clock func() time.Time) (*Gateway, *Activity, testKey) {
	t.Helper()
	key := newECKey(t, "k1")
	spec := routesSpec(stockResponseRoute("/r", nil, 200, "ok"))
	spec["requestPolicies"] = map[string]any{"authentication": jwtAuth(key.staticJWK(t))}
	data, _ := json.Marshal(spec)
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		t.Fatal(err)
	}
	a := NewActivity(clock)
	g, err := New(&config.Gateway{Deployments: []config.Deployment{{PathPrefix: testPrefix, Specification: s}}},
		Options{Now: clock, Activity: a, DisableAccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	return g, a, key
}

func sumRequests(ms []Minute) (requests int, rejections map[string]int) {
	rejections = map[string]int{}
	for _, m := range ms {
		requests += m.Requests
		for r, n := range m.Rejections {
			rejections[r] += n
		}
	}
	return requests, rejections
}

// TestActivityWindows: counts land in the minute they happen, the 5-minute
// window forgets what is older, and an hour later a bucket starts afresh.
func TestActivityWindows(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 30, 0, time.UTC)}
	g, a, key := activityGateway(t, clock.now)
	good := "Bearer " + key.sign(t, validClaims(clock.now().Add(-time.Minute)))
	send := func(auth string) {
		r := httptest.NewRequest(http.MethodGet, testPrefix+"/r", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		g.ServeHTTP(httptest.NewRecorder(), r)
	}
	send(good)
	send("")
	send("Bearer x.y.z")
	clock.advance(10 * time.Minute)
	send(good)
	send("")

	tests := []struct {
		name           string
		advance        time.Duration
		window         int
		wantRequests   int
		wantRejections map[string]int
	}{
		{"last 5 minutes", 0, 5, 2, map[string]int{"missing_token": 1}},
		{"last 60 minutes", 0, 60, 5, map[string]int{"missing_token": 2, "malformed_token": 1}},
		{"50 minutes on, the first minute has left the hour", 50 * time.Minute, 60, 2, map[string]int{"missing_token": 1}},
		{"an hour after the last request, nothing", 60 * time.Minute, 60, 0, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.advance(tt.advance)
			ms := a.Minutes(tt.window)
			if len(ms) != tt.window {
				t.Fatalf("got %d minutes, want %d", len(ms), tt.window)
			}
			if last := ms[len(ms)-1].Start; !last.Equal(clock.now().Truncate(time.Minute)) {
				t.Errorf("the last minute starts %v, want the current one %v", last, clock.now().Truncate(time.Minute))
			}
			requests, rejections := sumRequests(ms)
			if requests != tt.wantRequests || fmt.Sprint(rejections) != fmt.Sprint(tt.wantRejections) {
				t.Errorf("got %d requests, rejections %v; want %d, %v", requests, rejections, tt.wantRequests, tt.wantRejections)
			}
		})
	}
}

// TestActivityRecent: a rejection keeps who and why, never the token, and
// the ring holds the newest recentRejections.
func TestActivityRecent(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 30, 0, time.UTC)}
	g, a, key := activityGateway(t, clock.now)
	claims := validClaims(clock.now())
	claims["aud"] = "someone-else"
	claims["sub"] = "mallory"
	tok := key.sign(t, claims)
	r := httptest.NewRequest(http.MethodDelete, testPrefix+"/r", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, r)

	got := a.Recent()
	if len(got) != 1 {
		t.Fatalf("got %d rejections, want 1", len(got))
	}
	want := Rejection{Time: clock.now(), RequestID: rec.Header().Get(requestIDHeader), Method: "DELETE", Status: 401,
		Deployment: testPrefix, Route: "/r", Reason: "wrong_audience", KID: "k1", Issuer: testIssuer, Subject: "mallory"}
	if got[0] != want {
		t.Errorf("got %+v\nwant %+v", got[0], want)
	}
	if strings.Contains(fmt.Sprintf("%+v", got[0]), tok) {
		t.Error("the rejection holds the token")
	}

	// A Decide call is a question, not traffic.
	d := httptest.NewRequest(http.MethodGet, testPrefix+"/r", nil)
	if g.Decide(d).Accepted || len(a.Recent()) != 1 {
		t.Errorf("Decide was recorded: %d rejections", len(a.Recent()))
	}

	for i := range recentRejections + 5 {
		clock.advance(time.Second)
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("%s/r?n=%d", testPrefix, i), nil)
		g.ServeHTTP(httptest.NewRecorder(), r)
	}
	got = a.Recent()
	if len(got) != recentRejections {
		t.Fatalf("got %d rejections, want the ring's %d", len(got), recentRejections)
	}
	if !got[0].Time.Equal(clock.now()) || !got[0].Time.After(got[len(got)-1].Time) {
		t.Errorf("want newest first: first %v, last %v, now %v", got[0].Time, got[len(got)-1].Time, clock.now())
	}
}

func TestConfigHistoryBounded(t *testing.T) {
	h := NewConfigHistory()
	for i := range configHistorySize + 3 {
		h.Add(ConfigEvent{Cause: fmt.Sprint(i)})
	}
	got := h.Events()
	if len(got) != configHistorySize || got[0].Cause != fmt.Sprint(configHistorySize+2) || got[len(got)-1].Cause != "3" {
		t.Errorf("got %d events, first %q, last %q; want %d, newest first, the oldest 3 dropped",
			len(got), got[0].Cause, got[len(got)-1].Cause, configHistorySize)
	}
	var none *ConfigHistory
	none.Add(ConfigEvent{}) // a nil history records nothing, without panicking
	if none.Events() != nil {
		t.Error("a nil history has events")
	}
}

// TestKeySetStatus: the console sees a remote set's keys with their
// thumbprints, when it was fetched, and the keys the fetch skipped.
func TestKeySetStatus(t *testing.T) {
	key := newECKey(t, "good")
	jwk := key.staticJWK(t)
	delete(jwk, "format")
	doc, _ := json.Marshal(map[string]any{"keys": []any{jwk, map[string]any{"kty": "oct", "kid": "shared", "k": "c2VjcmV0"}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(doc) }))
	defer srv.Close()
	ks := NewKeySets(nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ks.Start(ctx)
	set := ks.remote(remoteSource{url: srv.URL}, time.Hour, codeJWTKeysLoading)
	deadline := time.Now().Add(5 * time.Second)
	for !set.Loaded() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := ks.Status()
	if len(st) != 1 {
		t.Fatalf("got %d sets, want 1", len(st))
	}
	s := st[0]
	if s.URI != srv.URL || !s.Loaded || s.LastFetch.IsZero() || s.LastError != "" || s.Refresh != time.Hour {
		t.Errorf("got %+v, want a set loaded now from %s", s, srv.URL)
	}
	if len(s.Keys) != 1 || s.Keys[0].KID != "good" || s.Keys[0].Thumbprint == "" || s.Keys[0].Source != "REMOTE_JWKS" {
		t.Errorf("got keys %+v, want the one usable key with its thumbprint", s.Keys)
	}
	if len(s.Skipped) != 1 || !strings.Contains(s.Skipped[0], "shared") {
		t.Errorf("got skipped %q, want the oct key named", s.Skipped)
	}
}
