package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/oidc"
)

// oauth2Login compiles a TOKEN_AUTHENTICATION whose
// validationFailurePolicy is OAUTH2; inner is the validation policy's own
// check of a token in the request (nil when it could not be compiled).
func (c *compiler) oauth2Login(a *config.Authentication, fp *config.ValidationFailurePolicy, prefix string,
	src config.Source, inner authentication) *oauth2Login {
	const at = "requestPolicies.authentication.validationFailurePolicy"
	l := &oauth2Login{
		inner: inner, prefix: prefix, realm: prefix, scopes: fp.Scopes,
		pkce:          config.OAuth2Flag(fp.UsePkce),
		cookieSession: config.OAuth2Flag(fp.UseCookiesForSession),
		fallbackPath:  fp.FallbackRedirectPath, logoutPath: fp.LogoutPath, loginPath: fp.LoginPath,
		maxAge:  time.Duration(fp.MaxExpiryHours()) * time.Hour,
		trusted: c.g.trusted, now: c.g.now, log: c.g.log,
	}
	if !config.OAuth2Flag(fp.UseCookiesForIntermediateSteps) {
		l.flows = newFlowStore()
	}
	uri, insecure, clientID, secretID := loginClient(a.ValidationPolicy, fp)
	l.clientID = clientID
	if c.cfg != nil {
		if v, ok := c.cfg.Secret(secretID); ok {
			l.secret = v
		} else if secretID != "" {
			c.problem(src, at+".clientDetails.clientSecretId", "secret "+secretID+" is not in the gateway file's secrets list")
		}
	}
	l.client = oidc.NewHTTPClient(insecure)
	refresh := time.Hour
	if vp := a.ValidationPolicy; vp != nil {
		refresh = vp.KeySet.CacheDuration()
	}
	l.provider = c.loginProvider(uri, insecure, refresh)
	var keys []config.SessionKey
	if c.cfg != nil {
		keys = c.cfg.SessionKeys
	} else {
		keys = []config.SessionKey{{ID: "check"}} // CheckSpec serves nothing
	}
	s, err := newSealer(keys)
	if err != nil {
		c.problem(src, at, "an OAUTH2 login needs session keys; add sessions.keys to the gateway file")
	}
	l.sealer = s
	l.summary = AuthSummary{Type: a.Type + " + OAUTH2 login", TokenFrom: loginTokenFrom(l, a), Anonymous: a.IsAnonymousAccessAllowed}
	if inner != nil {
		is := inner.describe()
		l.summary.Issuers, l.summary.Audiences, l.summary.VerifyClaims = is.Issuers, is.Audiences, is.VerifyClaims
		l.summary.MaxClockSkew, l.summary.Keys, l.summary.JWKS = is.MaxClockSkew, is.Keys, is.JWKS
		l.summary.Discovery = is.Discovery
	}
	return l
}

// loginTokenFrom says in words where the login's requests carry their
// credential.
func loginTokenFrom(l *oauth2Login, a *config.Authentication) string {
	s := "session cookie " + sessionCookie
	if !l.cookieSession {
		s = "header X-APIGW-TOKEN (sealed session)"
	}
	return s + ", else " + tokenFrom(a.TokenSource()) + "; without one, a GET logs in at the provider"
}

// loginClient reads the provider and the client of an OAUTH2 policy: its
// own, or the validation policy's (VALIDATION_BLOCK).
func loginClient(vp *config.ValidationPolicy, fp *config.ValidationFailurePolicy) (uri string, insecure bool, clientID, secretID string) {
	if vp != nil {
		insecure = vp.IsSslVerifyDisabled
		if sd := vp.SourceURIDetails; sd != nil {
			uri = sd.URI
		}
		if cd := vp.ClientDetails; cd != nil {
			clientID, secretID = cd.ClientID, cd.ClientSecretID
		}
	}
	if sd := fp.SourceURIDetails; sd != nil && strings.EqualFold(sd.Type, config.SourceURIDiscovery) {
		uri = sd.URI
	}
	if cd := fp.ClientDetails; cd != nil && strings.EqualFold(cd.Type, config.ClientDetailsCustom) {
		clientID, secretID = cd.ClientID, cd.ClientSecretID
	}
	return uri, insecure, clientID, secretID
}

// loginProvider returns the discovery Provider of uri: the validation
// policy's own (VALIDATION_BLOCK, the same URI) or one of its own, kept and
// refreshed by the key set registry like REMOTE_DISCOVERY's.
func (c *compiler) loginProvider(uri string, insecure bool, refresh time.Duration) *oidc.Provider {
	p := c.keySets.provider(providerSource{uri: uri, insecure: insecure}, refresh)
	if c.g.providers != nil {
		if old, ok := c.g.providers[p]; !ok || refresh < old {
			c.g.providers[p] = refresh
		}
	}
	return p
}

// logoutBackend compiles an OAUTH2_LOGOUT_BACKEND of a deployment whose
// authentication is login (validation made sure it is an OAUTH2 one).
func (c *compiler) logoutBackend(b *config.Backend, dep *deployment) http.Handler {
	l, ok := dep.auth.(*oauth2Login)
	if !ok {
		return nil // an invalid spec in CheckSpec: validation named it
	}
	lb := &logoutBackend{g: c.g, login: l}
	for _, u := range b.AllowedPostLogoutUris {
		if t, err := config.ParseTemplate(u); err == nil {
			lb.allowed = append(lb.allowed, t)
		}
	}
	if b.PostLogoutState != "" {
		if t, err := config.ParseTemplate(b.PostLogoutState); err == nil {
			lb.state = t
		}
	}
	return lb
}

// loginBackend is an OAUTH2_LOGIN_BACKEND: the provider's redirect back is
// handled by the login policy before it; a request that reaches the
// backend called the route directly, and gets 400 (§9).
func (c *compiler) loginBackend() http.Handler {
	g := c.g
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.writeError(w, exchangeFrom(r), &httpError{status: http.StatusBadRequest, code: codeOAuthStepFailed,
			reason: reasonLoginDirect, detail: "the login route was called directly", level: slog.LevelInfo})
	})
}

// oauth2Summary says in one line what an OAUTH2 policy does, for the
// console and keygate validate.
func oauth2Summary(fp *config.ValidationFailurePolicy) string {
	s := "authentication failure: OAUTH2 login (scopes " + strings.Join(fp.Scopes, " ")
	if config.OAuth2Flag(fp.UsePkce) {
		s += ", PKCE S256"
	}
	if config.OAuth2Flag(fp.UseCookiesForSession) {
		s += ", session in a sealed cookie"
	} else {
		s += ", session in X-APIGW-TOKEN"
	}
	s += ", at most " + strconv.Itoa(fp.MaxExpiryHours()) + "h"
	if fp.FallbackRedirectPath != "" {
		s += "; other methods to " + fp.FallbackRedirectPath
	}
	if fp.LogoutPath != "" {
		s += "; logout at " + fp.LogoutPath
	}
	return s + ")"
}
