package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// logoutBackend is an OAUTH2_LOGOUT_BACKEND (oci-policies.md §9): it
// checks the postLogoutUrl the client names, forgets the session, and
// sends the browser to the provider's end_session_endpoint (with the ID
// token as id_token_hint) or straight to the post-logout URL.
type logoutBackend struct {
	g     *Gateway
	login *oauth2Login
	// allowed are allowedPostLogoutUris, compiled; nil: relative paths of
	// this deployment only (no open redirect).
	allowed []config.Template
	// state is postLogoutState; nil for none.
	state config.Template
}

func (b *logoutBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := exchangeFrom(r)
	l := b.login
	target, ok := b.postLogoutURL(r, ex)
	if !ok {
		b.g.writeError(w, ex, &httpError{status: http.StatusBadRequest, code: codeLogoutRedirect, reason: reasonPostLogoutURL,
			detail: "postLogoutUrl " + strconv.Quote(bounded(r.URL.Query().Get("postLogoutUrl"))) + " is not in allowedPostLogoutUris",
			level:  slog.LevelWarn})
		return
	}
	h := w.Header()
	if l.cookieSession {
		clearAllChunks(h, l.cookieAttrs(r))
	}
	h.Set("Cache-Control", "no-store")
	state := ""
	if b.state != nil {
		state = evalTemplate(b.state, r, ex)
	}
	s := ex.loginSession
	if s != nil && s.IDToken != "" {
		ctx, cancel := context.WithTimeout(ex.ctx, idpTimeout)
		doc, err := l.provider.Discovery(ctx)
		cancel()
		switch {
		case err != nil:
			b.g.log.LogAttrs(ex.ctx, slog.LevelWarn, "logout: the provider's discovery document is not loaded; the provider's session stays: "+err.Error(),
				slog.String("code", codeLogoutError), slog.String("opcRequestId", ex.requestID))
		case doc.EndSessionEndpoint != "":
			q := url.Values{"id_token_hint": {s.IDToken}, "client_id": {l.clientID}}
			if target != "" {
				q.Set("post_logout_redirect_uri", target)
			}
			if state != "" {
				q.Set("state", state)
			}
			redirect(w, withQuery(doc.EndSessionEndpoint, q))
			return
		}
	}
	if target == "" {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(errorBody(http.StatusOK, "logged out"))
		return
	}
	if s != nil && state != "" {
		target = withQuery(target, url.Values{"state": {state}})
	}
	redirect(w, target)
}

// postLogoutURL returns the absolute URL of the request's postLogoutUrl
// ("" when it names none), and false when the URL is not allowed: not in
// allowedPostLogoutUris, or, with that list empty, not a path of this
// deployment. A relative URL is a path of the deployment.
func (b *logoutBackend) postLogoutURL(r *http.Request, ex *exchange) (string, bool) {
	values := r.URL.Query()["postLogoutUrl"]
	switch {
	case len(values) == 0:
		return "", true
	case len(values) > 1 || values[0] == "":
		return "", false
	}
	target := values[0]
	relative := isLocalPath(target)
	if b.allowed == nil {
		if !relative {
			return "", false
		}
	} else {
		found := false
		for _, t := range b.allowed {
			if evalTemplate(t, r, ex) == target {
				found = true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	if relative {
		return b.login.origin(r) + b.login.prefix + target, true
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", false
	}
	return target, true
}

// isLocalPath: p is a path on this host ("/x"), not "//host" or "/\host"
// that browsers read as another host.
func isLocalPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") &&
		!strings.ContainsAny(p, "\r\n\t")
}

// withQuery adds q to the query of u.
func withQuery(u string, q url.Values) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + q.Encode()
}

// redirect sends a 302 to location.
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}
