package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keygate/keygate/internal/oidc"
)

// loginFlow is a login in progress: what the callback needs to finish it
// and to check that the browser that comes back is the one that left.
type loginFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v,omitempty"`
	// RedirectURI is the redirect_uri sent, to be sent again with the code.
	RedirectURI string `json:"r,omitempty"`
	// Return is the path and query the browser asked for, to go back to.
	Return string `json:"u,omitempty"`
	// Issuer is the provider the login was sent to (mix-up defence).
	Issuer  string `json:"i,omitempty"`
	Created int64  `json:"c"`
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// flowCookieName names the cookie of the login with state: a digest of it,
// so the name says nothing and several logins can be in progress.
func flowCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return flowCookiePrefix + hex.EncodeToString(sum[:6])
}

// startLogin answers a request without a session: a GET or HEAD is sent
// to the provider, and comes back to the same URL; any other method goes
// to fallbackRedirectPath, or gets 401.
func (l *oauth2Login) startLogin(r *http.Request, ex *exchange) *httpError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if l.fallbackPath == "" {
			e := &httpError{status: http.StatusUnauthorized, code: codeOAuthLogin, reason: reasonMissingToken,
				detail: r.Method + " request without a session, and no fallbackRedirectPath", level: slog.LevelInfo}
			return e.setHeader("WWW-Authenticate", l.challenge(""))
		}
		e := &httpError{status: http.StatusFound, code: codeOAuthLogin, reason: reasonLoginRequired,
			detail: r.Method + " request without a session: sent to the fallbackRedirectPath", level: slog.LevelInfo}
		return e.setHeader("Location", l.prefix+l.fallbackPath)
	}
	if ex.decision != nil {
		// Offline: say what would happen, ask the provider nothing.
		e := &httpError{status: http.StatusFound, code: codeOAuthLogin, reason: reasonLoginRequired,
			detail: "no session: the browser would be sent to the provider's login", level: slog.LevelInfo}
		return e.setHeader("Location", l.provider.URI())
	}
	ctx, cancel := context.WithTimeout(ex.ctx, idpTimeout)
	defer cancel()
	doc, err := l.provider.Discovery(ctx)
	if err != nil {
		return l.idpFailure("discovery", err)
	}
	if doc.AuthorizationEndpoint == "" || doc.TokenEndpoint == "" {
		return l.idpFailure("discovery", errors.New("the discovery document names no authorization or token endpoint"))
	}
	flow := loginFlow{State: randomToken(), Nonce: randomToken(), Issuer: doc.Issuer, Created: l.now().Unix()}
	flow.RedirectURI = l.redirectURI(r, ex)
	flow.Return = l.returnPath(r, ex)
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(flow.Nonce)}
	if l.usesPKCE(doc) {
		flow.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(flow.Verifier))
	}
	name := flowCookieName(flow.State)
	stored := flow
	if l.flows != nil {
		if !l.flows.put(flow, l.now()) {
			return &httpError{status: http.StatusServiceUnavailable, code: codeOAuthStepFailed, reason: reasonLoginStep,
				detail: "too many logins in progress in this gateway", level: slog.LevelWarn}
		}
		stored = loginFlow{State: flow.State, Created: flow.Created} // the browser keeps only the binding
	}
	plain, _ := json.Marshal(stored)
	attrs := l.cookieAttrs(r)
	e := &httpError{status: http.StatusFound, code: codeOAuthLogin, reason: reasonLoginRequired,
		detail: "no session: sent to the provider's login", level: slog.LevelInfo}
	e.setHeader("Location", l.oauth2Config(doc, flow.RedirectURI).AuthCodeURL(flow.State, opts...))
	e.header.Add("Set-Cookie", attrs.cookie(name, l.sealer.seal(name, l.prefix, plain), flowLifetime))
	return e
}

// usesPKCE: usePkce, and the provider does not say it lacks S256.
func (l *oauth2Login) usesPKCE(doc *oidc.Discovery) bool {
	return l.pkce && (len(doc.CodeChallengeMethodsSupported) == 0 || slices.Contains(doc.CodeChallengeMethodsSupported, "S256"))
}

// redirectURI is where the provider sends the browser back: the
// loginPath's route, or else the URL that started the login (without its
// query), which must then be registered with the provider.
func (l *oauth2Login) redirectURI(r *http.Request, ex *exchange) string {
	if l.loginPath != "" {
		return l.origin(r) + l.prefix + l.loginPath
	}
	return l.origin(r) + ex.escapedPath
}

// returnPath is the path and query the browser asked for, always a path of
// this gateway (never "//host": the redirect back cannot leave it).
func (l *oauth2Login) returnPath(r *http.Request, ex *exchange) string {
	p := ex.escapedPath
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		p = l.prefix + "/"
	}
	if r.URL.RawQuery != "" {
		p += "?" + r.URL.RawQuery
	}
	return p
}

// oauth2Config is the client for doc's endpoints.
func (l *oauth2Login) oauth2Config(doc *oidc.Discovery, redirectURI string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader // client_secret_basic, RFC 6749's default
	if m := doc.TokenEndpointAuthMethodsSupported; len(m) > 0 && !slices.Contains(m, "client_secret_basic") && slices.Contains(m, "client_secret_post") {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: l.clientID, ClientSecret: l.secret.Reveal(), RedirectURL: redirectURI, Scopes: l.scopes,
		Endpoint: oauth2.Endpoint{AuthURL: doc.AuthorizationEndpoint, TokenURL: doc.TokenEndpoint, AuthStyle: style},
	}
}

// callback finishes a login: the browser is the one that started it (its
// flow cookie opens and names the same state), the provider is the one it
// was sent to, the code is exchanged (with the PKCE verifier), the ID
// token verified with its nonce. It always ends the request: a redirect
// back with the session, or a refusal; in X-APIGW-TOKEN mode with the
// route's own URL as redirect, the original GET goes on in place instead
// (nil).
func (l *oauth2Login) callback(r *http.Request, ex *exchange) error {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" || len(q["state"]) > 1 {
		return l.stepFailed(http.StatusBadRequest, reasonLoginDirect, "the login route was called without the provider's state")
	}
	if ex.decision != nil {
		return l.stepFailed(http.StatusBadRequest, reasonStateMismatch, "a callback is checked against the browser's login cookie, which an offline check has not")
	}
	attrs := l.cookieAttrs(r)
	name := flowCookieName(state)
	c, err := r.Cookie(name)
	if err != nil {
		return l.stepFailed(http.StatusBadRequest, reasonStateMismatch, "no login of this browser has this state (login CSRF, an old link, or cookies blocked)")
	}
	del := attrs.cookie(name, "", -1)
	flow, err := l.openFlow(name, c.Value, state)
	if err != nil {
		return l.stepFailed(http.StatusBadRequest, reasonStateMismatch, err.Error()).withCookie(del)
	}
	if l.now().Sub(time.Unix(flow.Created, 0)) > flowLifetime {
		e := &httpError{status: http.StatusFound, code: codeOAuthLogin, reason: reasonLoginRequired,
			detail: "the login took longer than " + flowLifetime.String() + ": started again", level: slog.LevelInfo}
		return e.setHeader("Location", flow.Return).withCookie(del)
	}
	if code := q.Get("error"); code != "" {
		e := l.stepFailed(http.StatusUnauthorized, reasonProviderRefusal, "the provider refused the login: "+bounded(code))
		return e.withCookie(del)
	}
	ctx, cancel := context.WithTimeout(ex.ctx, idpTimeout)
	defer cancel()
	doc, err := l.provider.Discovery(ctx)
	if err != nil {
		return l.idpFailure("discovery", err).withCookie(del)
	}
	if !doc.IssuerMatches(flow.Issuer) || (q.Has("iss") && !doc.IssuerMatches(q.Get("iss"))) {
		// RFC 9207: the response names the provider that sent it; one that
		// is not where this login went is a mix-up attack.
		return l.stepFailed(http.StatusBadRequest, reasonIssuerMismatch, "the authorization response comes from another issuer than the login went to").withCookie(del)
	}
	s, err := l.redeem(ctx, doc, flow, q.Get("code"))
	if err != nil {
		var e *httpError
		if errors.As(err, &e) {
			return e.withCookie(del)
		}
		return l.stepFailed(http.StatusUnauthorized, reasonLoginStep, err.Error()).withCookie(del)
	}
	return l.loggedIn(r, ex, flow, s, attrs, del)
}

// loggedIn answers the callback of a login that succeeded: the session
// goes out in a cookie with a redirect back to the page that asked, or as
// X-APIGW-TOKEN (the original GET resumed in place without loginPath:
// nil).
func (l *oauth2Login) loggedIn(r *http.Request, ex *exchange, flow loginFlow, s *session, attrs cookieAttrs, del string) error {
	sealed := l.sealSession(s)
	l.log.LogAttrs(ex.ctx, slog.LevelInfo, "browser logged in", slog.String("code", codeIdPCallSuccess),
		slog.String("opcRequestId", ex.requestID), slog.String("sub", bounded(s.Subject)))
	if !l.cookieSession {
		ex.header.Add("Set-Cookie", del)
		ex.header.Set(apigwTokenHeader, sealed)
		if l.loginPath == "" {
			// Resume the original GET right here, with its own query.
			ret, _ := url.Parse(flow.Return)
			if ret != nil && r.Method == http.MethodGet {
				r.URL.RawQuery = ret.RawQuery
				r.RequestURI = ""
				ex.loginSession = s
				return nil
			}
		}
		e := &httpError{status: http.StatusFound, code: codeOAuthLogin, reason: reasonLoginRequired, detail: "logged in", level: slog.LevelInfo}
		return e.setHeader("Location", flow.Return)
	}
	e := &httpError{status: http.StatusFound, code: codeOAuthLogin, reason: reasonLoginRequired,
		detail: "logged in: back to the page that asked", level: slog.LevelInfo}
	e.setHeader("Location", flow.Return)
	e.header.Add("Set-Cookie", del)
	if err := setChunked(e.header, r, attrs, sealed, l.maxAge); err != nil {
		return &httpError{status: http.StatusBadGateway, code: codeOAuthStepFailed, reason: reasonSessionTooLarge,
			detail: "the provider's tokens make a session larger than the cookie bound", cause: err, level: slog.LevelError}
	}
	return e
}

// openFlow opens the flow cookie of state (and, without cookies for
// intermediate steps, takes the flow the gateway kept).
func (l *oauth2Login) openFlow(name, value, state string) (loginFlow, error) {
	var flow loginFlow
	plain, err := l.sealer.open(name, l.prefix, value)
	if err != nil {
		return flow, errors.New("the login cookie does not open")
	}
	if json.Unmarshal(plain, &flow) != nil || subtle.ConstantTimeCompare([]byte(flow.State), []byte(state)) != 1 {
		return flow, errors.New("the login cookie is for another state")
	}
	if l.flows != nil {
		kept, ok := l.flows.take(state, l.now())
		if !ok {
			return flow, errors.New("the gateway keeps no login with this state (ended, or started at another replica)")
		}
		flow = kept
	}
	return flow, nil
}

// redeem exchanges the code and verifies the ID token: signature, issuer,
// audience, expiry (go-oidc), nonce, and at_hash when present.
func (l *oauth2Login) redeem(ctx context.Context, doc *oidc.Discovery, flow loginFlow, code string) (*session, error) {
	if code == "" {
		return nil, l.stepFailed(http.StatusBadRequest, reasonLoginStep, "the provider's redirect holds no code")
	}
	var opts []oauth2.AuthCodeOption
	if flow.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(flow.Verifier))
	}
	tok, err := l.oauth2Config(doc, flow.RedirectURI).Exchange(l.clientContext(ctx), code, opts...)
	if err != nil {
		return nil, l.tokenEndpointFailure("code exchange", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, l.stepFailed(http.StatusBadGateway, reasonBadTokenResponse, "the token response holds no id_token (is openid among the scopes?)")
	}
	idt, err := l.verifier(ctx, doc).Verify(l.clientContext(ctx), raw)
	if err != nil {
		return nil, l.stepFailed(http.StatusUnauthorized, reasonLoginStep, "the ID token is not valid: "+err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return nil, l.stepFailed(http.StatusUnauthorized, reasonNonceMismatch, "the ID token's nonce is not the login's (token injection)")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, l.stepFailed(http.StatusUnauthorized, reasonLoginStep, "the ID token's at_hash does not match the access token")
		}
	}
	now := l.now()
	s := &session{Issued: now.Unix(), Expires: now.Add(l.maxAge).Unix(), CSRF: randomToken(), Subject: idt.Subject}
	s.setTokens(tok, raw, l.scopes)
	return s, nil
}

// clientContext makes go-oidc and x/oauth2 call the provider with the
// policy's client.
func (l *oauth2Login) clientContext(ctx context.Context) context.Context {
	return context.WithValue(gooidc.ClientContext(ctx, l.client), oauth2.HTTPClient, l.client)
}

// verifier returns the ID token verifier for doc's issuer and keys.
func (l *oauth2Login) verifier(ctx context.Context, doc *oidc.Discovery) *gooidc.IDTokenVerifier {
	c := &l.verifiers
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verifier == nil || c.jwks != doc.JWKSURI || c.issuer != doc.Issuer {
		// The key set outlives the request that made it.
		keys := gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), l.client), doc.JWKSURI)
		c.verifier = gooidc.NewVerifier(doc.Issuer, keys, &gooidc.Config{ClientID: l.clientID, Now: l.now})
		c.jwks, c.issuer = doc.JWKSURI, doc.Issuer
	}
	return c.verifier
}

// stepFailed is a refused step of the login.
func (l *oauth2Login) stepFailed(status int, why reason, detail string) *httpError {
	return &httpError{status: status, code: codeOAuthStepFailed, reason: why, detail: detail, level: slog.LevelWarn}
}

// idpFailure is a provider that could not be asked: 503.
func (l *oauth2Login) idpFailure(what string, err error) *httpError {
	return &httpError{status: http.StatusServiceUnavailable, code: codeIdPCallFailed, reason: reasonIdPUnavailable,
		detail: what + ": " + err.Error(), cause: err, level: slog.LevelError}
}

// tokenEndpointFailure tells a provider that refused (invalid_grant: a
// replayed or injected code, a revoked refresh token; 401) from one that
// could not be reached (503). The provider's error text is logged, never
// the code or a token.
func (l *oauth2Login) tokenEndpointFailure(what string, err error) *httpError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		code := re.ErrorCode
		if code == "" {
			code = fmt.Sprintf("status %d", re.Response.StatusCode)
		}
		return l.stepFailed(http.StatusUnauthorized, reasonLoginStep, what+" refused by the provider: "+bounded(code))
	}
	if errors.As(err, &re) && re.Response != nil {
		err = fmt.Errorf("token endpoint answered %d", re.Response.StatusCode)
	}
	return l.idpFailure(what, err)
}

// withCookie adds a Set-Cookie to the refusal.
func (e *httpError) withCookie(c string) *httpError {
	if e.header == nil {
		e.header = make(http.Header, 1)
	}
	e.header.Add("Set-Cookie", c)
	return e
}

// flowStore keeps logins in progress in the gateway
// (useCookiesForIntermediateSteps false), bounded in number and time.
type flowStore struct {
	mu    sync.Mutex
	flows map[string]loginFlow
}

func newFlowStore() *flowStore { return &flowStore{flows: map[string]loginFlow{}} }

// put keeps f; false when the store is full of logins still in time.
func (s *flowStore) put(f loginFlow, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flows) >= maxFlowsInMemory {
		for k, v := range s.flows {
			if now.Sub(time.Unix(v.Created, 0)) > flowLifetime {
				delete(s.flows, k)
			}
		}
		if len(s.flows) >= maxFlowsInMemory {
			return false
		}
	}
	s.flows[f.State] = f
	return true
}

// take removes and returns the flow of state: a state is used once.
func (s *flowStore) take(state string, now time.Time) (loginFlow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.flows[state]
	delete(s.flows, state)
	return f, ok && now.Sub(time.Unix(f.Created, 0)) <= flowLifetime
}
