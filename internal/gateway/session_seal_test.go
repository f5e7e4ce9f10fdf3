package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

func sessionKey(t testing.TB, id string) config.SessionKey {
	t.Helper()
	k := config.SessionKey{ID: id}
	if _, err := rand.Read(k.Key[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSealer(t testing.TB, keys ...config.SessionKey) *sealer {
	t.Helper()
	s, err := newSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealerRotation: a value sealed with the old key opens after a new
// key is put first; once the old key is removed it no longer does.
func TestSealerRotation(t *testing.T) {
	oldKey, newKey := sessionKey(t, "old"), sessionKey(t, "new")
	before := mustSealer(t, oldKey)
	sealed := before.seal(sessionCookie, "/app", []byte("tokens"))

	rotated := mustSealer(t, newKey, oldKey)
	got, err := rotated.open(sessionCookie, "/app", sealed)
	if err != nil || string(got) != "tokens" {
		t.Fatalf("after rotation: got %q, %v; want the old session to open", got, err)
	}
	resealed := rotated.seal(sessionCookie, "/app", []byte("tokens"))
	if _, err := before.open(sessionCookie, "/app", resealed); !errors.Is(err, errUnsealable) {
		t.Errorf("a value sealed with the new key opened with the old ring alone: %v", err)
	}
	retired := mustSealer(t, newKey)
	if _, err := retired.open(sessionCookie, "/app", sealed); !errors.Is(err, errUnsealable) {
		t.Errorf("old key retired: got %v, want errUnsealable", err)
	}
	if _, err := retired.open(sessionCookie, "/app", resealed); err != nil {
		t.Errorf("resealed value: %v", err)
	}
}

// TestSealerRefuses: every alteration, and every other name or
// deployment, is refused the same way.
func TestSealerRefuses(t *testing.T) {
	s := mustSealer(t, sessionKey(t, "k"))
	sealed := s.seal(sessionCookie, "/app", []byte(`{"at":"x"}`))
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	cases := []struct {
		name, cookie, prefix, value string
	}{
		{"flipped version", sessionCookie, "/app", flip(0)},
		{"flipped key id", sessionCookie, "/app", flip(2)},
		{"flipped nonce", sessionCookie, "/app", flip(8)},
		{"flipped ciphertext", sessionCookie, "/app", flip(len(raw) - 20)},
		{"flipped tag", sessionCookie, "/app", flip(len(raw) - 1)},
		{"truncated", sessionCookie, "/app", sealed[:len(sealed)-4]},
		{"empty", sessionCookie, "/app", ""},
		{"not base64", sessionCookie, "/app", "%%%"},
		{"other deployment", sessionCookie, "/other", sealed},
		{"other cookie", flowCookiePrefix + "abc", "/app", sealed},
		{"header name", apigwTokenHeader, "/app", sealed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.open(c.cookie, c.prefix, c.value); !errors.Is(err, errUnsealable) {
				t.Errorf("got %v, want errUnsealable", err)
			}
		})
	}
	if got, err := s.open(sessionCookie, "/app", sealed); err != nil || string(got) != `{"at":"x"}` {
		t.Fatalf("the untouched value: %q, %v", got, err)
	}
}

// TestChunkedCookies: a large session is split into bounded cookies and
// joined again; a shorter one deletes the chunks it no longer needs; one
// past the bound is refused.
func TestChunkedCookies(t *testing.T) {
	value := strings.Repeat("a", cookieChunkSize*2+10)
	h := http.Header{}
	attrs := cookieAttrs{path: "/app", secure: true}
	if err := setChunked(h, httptest.NewRequest("GET", "/", nil), attrs, value, 3600e9); err != nil {
		t.Fatal(err)
	}
	cookies := (&http.Response{Header: h}).Cookies()
	if len(cookies) != 3 {
		t.Fatalf("%d cookies, want 3", len(cookies))
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/app" || len(c.Value) > cookieChunkSize {
			t.Errorf("cookie %s: HttpOnly %v Secure %v SameSite %v Path %q len %d", c.Name, c.HttpOnly, c.Secure, c.SameSite, c.Path, len(c.Value))
		}
		r.AddCookie(c)
	}
	if got := readChunked(r); got != value {
		t.Fatalf("joined %d bytes, want %d", len(got), len(value))
	}
	h = http.Header{}
	if err := setChunked(h, r, attrs, "short", 3600e9); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.MaxAge < 0 {
			deleted++
		}
	}
	if deleted != 2 {
		t.Errorf("%d chunks deleted, want 2: %v", deleted, h["Set-Cookie"])
	}
	if err := setChunked(http.Header{}, r, attrs, strings.Repeat("a", cookieChunkSize*maxSessionChunks+1), 1); !errors.Is(err, errSessionTooLarge) {
		t.Errorf("over the bound: %v, want errSessionTooLarge", err)
	}
}

// TestStripLoginCookies: the login's cookies never reach a backend; the
// application's own do, unchanged.
func TestStripLoginCookies(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Cookie", sessionCookie+"=a; app=1; "+sessionCookie+"_1=b")
	r.Header.Add("Cookie", flowCookiePrefix+"0a0b=c; theme=dark")
	r.Header.Add("Cookie", sessionCookie+"=only")
	stripLoginCookies(r)
	if got := r.Header["Cookie"]; len(got) != 2 || got[0] != "app=1" || got[1] != "theme=dark" {
		t.Errorf("Cookie = %q", got)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	s := mustSealer(b, sessionKey(b, "new"), sessionKey(b, "old"))
	plain := bytes.Repeat([]byte("x"), 2500) // a session with JWT access and ID tokens
	sealed := s.seal(sessionCookie, "/app", plain)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.open(sessionCookie, "/app", sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCookieSecureFlag: Secure is left off only for plain HTTP on a
// loopback address of the gateway (a browser on the same machine).
func TestCookieSecureFlag(t *testing.T) {
	at := func(local string, tls bool) *http.Request {
		r := httptest.NewRequest("GET", "/app/x", nil)
		if !tls {
			r.TLS = nil
		}
		addr, _ := net.ResolveTCPAddr("tcp", local)
		return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
	}
	cases := []struct {
		name      string
		r         *http.Request
		forwarded bool
		want      bool
	}{
		{"plain on 127.0.0.1", at("127.0.0.1:8080", false), false, false},
		{"plain on ::1", at("[::1]:8080", false), false, false},
		{"plain on a LAN address", at("10.1.2.3:8080", false), false, true},
		{"TLS on loopback", func() *http.Request { r := at("127.0.0.1:8443", false); r.TLS = &tls.ConnectionState{}; return r }(), false, true},
		{"behind a TLS proxy", at("127.0.0.1:8080", false), true, true},
		{"no local address known", httptest.NewRequest("GET", "/", nil), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "no local address known" {
				c.r.TLS = nil
			}
			a := cookieAttrsFor(c.r, "/app", c.forwarded)
			if a.secure != c.want || a.path != "/app" {
				t.Errorf("secure %v path %q, want secure %v path /app", a.secure, a.path, c.want)
			}
			set := a.cookie(sessionCookie, "v", time.Hour)
			if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || strings.Contains(set, "Secure") != c.want {
				t.Errorf("Set-Cookie %q", set)
			}
		})
	}
}

// TestPostLogoutURL: with allowedPostLogoutUris empty only paths of the
// deployment are accepted (keygate's answer to OCI's "any URL"); with a
// list, only its entries.
func TestPostLogoutURL(t *testing.T) {
	l := &oauth2Login{prefix: "/app"}
	open := &logoutBackend{login: l}
	list := &logoutBackend{login: l, allowed: []config.Template{{{Literal: "https://app.example.com/bye"}}, {{Literal: "/signed-out"}}}}
	cases := []struct {
		b      *logoutBackend
		target string
		want   string
		ok     bool
	}{
		{open, "", "", true},
		{open, "/bye", "http://gw.example.com/app/bye", true},
		{open, "https://evil.example.com/", "", false},
		{open, "//evil.example.com/", "", false},
		{open, "/\\evil.example.com/", "", false},
		{open, "javascript:alert(1)", "", false},
		{list, "https://app.example.com/bye", "https://app.example.com/bye", true},
		{list, "/signed-out", "http://gw.example.com/app/signed-out", true},
		{list, "/bye", "", false},
		{list, "https://app.example.com/bye/../evil", "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "http://gw.example.com/app/logout?postLogoutUrl="+url.QueryEscape(c.target), nil)
		if c.target == "" {
			r = httptest.NewRequest("GET", "http://gw.example.com/app/logout", nil)
		}
		got, ok := c.b.postLogoutURL(r, &exchange{})
		if got != c.want || ok != c.ok {
			t.Errorf("postLogoutUrl %q (list %v): got %q %v, want %q %v", c.target, c.b.allowed != nil, got, ok, c.want, c.ok)
		}
	}
}

// FuzzSessionOpen: whatever a browser sends as a session or login cookie,
// opening it fails cleanly (never a panic) unless it is a value the key
// sealed.
func FuzzSessionOpen(f *testing.F) {
	s := mustSealer(f, config.SessionKey{ID: "k", Key: [32]byte{1, 2, 3}})
	f.Add(s.seal(sessionCookie, "/app", []byte(`{"at":"x","exp":1}`)))
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("A", 80))
	f.Fuzz(func(t *testing.T, value string) {
		plain, err := s.open(sessionCookie, "/app", value)
		if err != nil {
			if !errors.Is(err, errUnsealable) {
				t.Fatalf("error %v is not errUnsealable", err)
			}
			return
		}
		var sess session
		_ = json.Unmarshal(plain, &sess)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+value)
		_ = readChunked(r)
	})
}

// TestOpenedSessions: a cached session is used only until it ends or its
// access token enters the refresh margin, and the cache is bounded.
func TestOpenedSessions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var c openedSessions
	s := &session{Expires: now.Add(time.Hour).Unix(), AccessExpiry: now.Add(10 * time.Minute).Unix(), IDToken: "x.eyJzdWIiOiJ1In0.y", Scope: "openid"}
	d := [32]byte{1}
	c.put(d, s)
	if got := c.get(d, now); got != s || got.principal().claims.Subject() != "u" {
		t.Fatalf("fresh entry: %v", got)
	}
	if got := c.get(d, now.Add(10*time.Minute-refreshMargin)); got != nil {
		t.Error("an entry in the refresh margin was used")
	}
	ended := &session{Expires: now.Unix()}
	c.put([32]byte{2}, ended)
	if got := c.get([32]byte{2}, now); got != nil {
		t.Error("an ended session was used")
	}
	for i := 0; i < maxOpenedSessions+10; i++ {
		c.put([32]byte{3, byte(i), byte(i >> 8)}, &session{Expires: now.Add(time.Hour).Unix()})
	}
	if n := len(c.entries); n > maxOpenedSessions {
		t.Errorf("%d entries, bound %d", n, maxOpenedSessions)
	}
}
