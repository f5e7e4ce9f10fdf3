package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/keygate/keygate/internal/token"
)

// Why a request's session is not accepted (it is then forgotten, and the
// browser logs in again).
var (
	errNoSession      = errors.New("no session")
	errSessionEnded   = errors.New("the session has ended (maxExpiryDurationInHours)")
	errSessionExpired = errors.New("the session's access token has expired and there is no refresh token")
	errRefreshRefused = errors.New("the provider refused to refresh the session")
)

// session is what a sealed session cookie (or X-APIGW-TOKEN) holds: the
// provider's tokens and the bounds keygate puts on them.
type session struct {
	// Issued is the login time and Expires its hard end (login +
	// maxExpiryDurationInHours), Unix seconds; a refresh keeps them.
	Issued  int64 `json:"iat"`
	Expires int64 `json:"exp"`
	// AccessToken and its expiry (0: the provider did not say).
	AccessToken  string `json:"at"`
	AccessExpiry int64  `json:"ate,omitempty"`
	RefreshToken string `json:"rt,omitempty"`
	IDToken      string `json:"it,omitempty"`
	// Scope is the granted scope, space-separated.
	Scope string `json:"sc,omitempty"`
	// CSRF is the session's anti-CSRF token (X-CSRF-TOKEN).
	CSRF    string `json:"x"`
	Subject string `json:"sub,omitempty"`

	// who is the principal, made once when the session is first opened
	// (cached sessions share it: it is only read).
	who *principal
}

// setTokens stores a token response; a response without a refresh token
// keeps the previous one (RFC 6749 §6).
func (s *session) setTokens(tok *oauth2.Token, idToken string, requested []string) {
	s.AccessToken = tok.AccessToken
	s.AccessExpiry = 0
	if !tok.Expiry.IsZero() {
		s.AccessExpiry = tok.Expiry.Unix()
	}
	if tok.RefreshToken != "" {
		s.RefreshToken = tok.RefreshToken
	}
	if idToken != "" {
		s.IDToken = idToken
	}
	if scope, _ := tok.Extra("scope").(string); scope != "" {
		s.Scope = scope
	} else if s.Scope == "" {
		s.Scope = strings.Join(requested, " ")
	}
}

// principal is who the session authenticates: the ID token's claims (it
// was verified at login, and the session is sealed), and the context
// variables OCI documents for this policy.
func (s *session) principal() principal {
	if s.who != nil {
		return *s.who
	}
	claims := token.Claims{}
	if idc := jwtPayload(s.IDToken); idc != nil {
		for k, v := range idc {
			claims[k] = v
		}
		claims["id_token_claims"] = idc
	}
	if atc := jwtPayload(s.AccessToken); atc != nil {
		claims["access_token_claims"] = atc
	}
	claims["id_token"] = s.IDToken
	claims["access_token"] = s.AccessToken
	claims["apigw_csrf_token"] = s.CSRF
	return principal{scopes: strings.Fields(s.Scope), claims: claims}
}

// jwtPayload decodes a JWT's claims without verifying them; nil when raw
// is no JWT (an opaque access token).
func jwtPayload(raw string) map[string]any {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var claims map[string]any
	if dec.Decode(&claims) != nil {
		return nil
	}
	return claims
}

// sessionName is the name a sealed session is bound to.
func (l *oauth2Login) sessionName() string {
	if l.cookieSession {
		return sessionCookie
	}
	return apigwTokenHeader
}

// sealSession seals s for this deployment.
func (l *oauth2Login) sealSession(s *session) string {
	plain, _ := json.Marshal(s)
	return l.sealer.seal(l.sessionName(), l.prefix, plain)
}

// readSession opens the request's session and refreshes its access token
// when it is about to expire. errNoSession: the request has none; an
// *httpError: the provider could not be asked; any other error: a session
// to forget.
func (l *oauth2Login) readSession(r *http.Request, ex *exchange) (*session, error) {
	var value string
	if l.cookieSession {
		value = readChunked(r)
	} else {
		value = r.Header.Get(apigwTokenHeader)
	}
	if value == "" {
		return nil, errNoSession
	}
	now := l.now()
	digest := sha256.Sum256([]byte(value))
	if s := l.opened.get(digest, now); s != nil {
		return s, nil
	}
	plain, err := l.sealer.open(l.sessionName(), l.prefix, value)
	if err != nil {
		return nil, err
	}
	var s session
	if json.Unmarshal(plain, &s) != nil {
		return nil, errUnsealable
	}
	if now.Unix() >= s.Expires {
		return nil, errSessionEnded
	}
	if s.AccessExpiry == 0 || now.Add(refreshMargin).Unix() < s.AccessExpiry || ex.decision != nil {
		l.opened.put(digest, &s)
		return &s, nil
	}
	if s.RefreshToken == "" {
		if now.Unix() < s.AccessExpiry {
			return &s, nil
		}
		return nil, errSessionExpired
	}
	fresh, err := l.refresh(ex.ctx, &s)
	if err != nil {
		var e *httpError
		if errors.As(err, &e) && e.status == http.StatusServiceUnavailable && now.Unix() < s.AccessExpiry {
			return &s, nil // the provider is away, the token not yet expired: go on
		}
		return nil, err
	}
	sealed := l.sealSession(fresh)
	l.opened.put(sha256.Sum256([]byte(sealed)), fresh)
	if l.cookieSession {
		if err := setChunked(ex.header, r, l.cookieAttrs(r), sealed, time.Unix(fresh.Expires, 0).Sub(now)); err != nil {
			return nil, err
		}
	} else {
		ex.header.Set(apigwTokenHeader, sealed)
	}
	l.log.LogAttrs(ex.ctx, slog.LevelInfo, "session refreshed", slog.String("code", codeIdPCallSuccess),
		slog.String("opcRequestId", ex.requestID), slog.String("sub", bounded(s.Subject)))
	return fresh, nil
}

// refresh redeems the session's refresh token, once for all the requests
// that carry the same one (a provider that rotates refresh tokens accepts
// each once).
func (l *oauth2Login) refresh(ctx context.Context, s *session) (*session, error) {
	return l.refreshes.do(s.RefreshToken, l.now(), func() (*session, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idpTimeout)
		defer cancel()
		doc, err := l.provider.Discovery(ctx)
		if err != nil {
			return nil, l.idpFailure("discovery", err)
		}
		old := &oauth2.Token{RefreshToken: s.RefreshToken, Expiry: time.Unix(1, 0)}
		tok, err := l.oauth2Config(doc, "").TokenSource(l.clientContext(ctx), old).Token()
		if err != nil {
			e := l.tokenEndpointFailure("refresh", err)
			if e.status == http.StatusUnauthorized {
				return nil, errRefreshRefused
			}
			return nil, e
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw != "" {
			idt, err := l.verifier(ctx, doc).Verify(l.clientContext(ctx), raw)
			if err != nil || idt.Subject != s.Subject {
				return nil, errRefreshRefused
			}
		}
		fresh := *s
		fresh.setTokens(tok, raw, l.scopes)
		return &fresh, nil
	})
}

// flight runs one refresh per refresh token and remembers its outcome for
// a while, so concurrent requests and the requests still carrying the old
// cookie get the same new session.
type flight struct {
	mu    sync.Mutex
	calls map[[32]byte]*flightCall
}

type flightCall struct {
	done  chan struct{}
	at    time.Time
	value *session
	err   error
}

// flightMemory is how long a refresh's outcome is reused.
const flightMemory = time.Minute

func (f *flight) do(key string, now time.Time, fn func() (*session, error)) (*session, error) {
	k := sha256.Sum256([]byte(key))
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[[32]byte]*flightCall{}
	}
	if c, ok := f.calls[k]; ok && now.Sub(c.at) < flightMemory {
		f.mu.Unlock()
		<-c.done
		return c.value, c.err
	}
	for old, c := range f.calls {
		if now.Sub(c.at) >= flightMemory {
			delete(f.calls, old)
		}
	}
	c := &flightCall{done: make(chan struct{}), at: now}
	f.calls[k] = c
	f.mu.Unlock()
	c.value, c.err = fn()
	close(c.done)
	return c.value, c.err
}

// openedSessions remembers the sessions recently opened, by the SHA-256 of
// their sealed value (which the key authenticates: the same value is the
// same session), so a browser's next requests skip the decryption and the
// decoding. An entry is used only until its session ends or its access
// token enters the refresh margin; the cache is bounded.
type openedSessions struct {
	mu      sync.Mutex
	entries map[[32]byte]*session
}

// maxOpenedSessions bounds the cache: about 10 KB each, 40 MB at most.
const maxOpenedSessions = 4096

func (c *openedSessions) get(digest [32]byte, now time.Time) *session {
	c.mu.Lock()
	s := c.entries[digest]
	c.mu.Unlock()
	if s == nil || now.Unix() >= s.Expires || (s.AccessExpiry != 0 && now.Add(refreshMargin).Unix() >= s.AccessExpiry) {
		return nil
	}
	return s
}

// put remembers s (its principal made now, before it is shared).
func (c *openedSessions) put(digest [32]byte, s *session) {
	p := s.principal()
	s.who = &p
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[32]byte]*session)
	}
	if len(c.entries) >= maxOpenedSessions {
		for k := range c.entries { // Go's map order: an arbitrary entry goes
			delete(c.entries, k)
			break
		}
	}
	c.entries[digest] = s
}
