package gateway

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// methodOverrideHeaders let a client ask some frameworks to treat a request
// as another method than the one the gateway authorized (attack R5).
var methodOverrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// ClientHeadersDropped are the request headers a client may never pass to a
// backend, because backends and their frameworks trust them for routing or
// identity: the forwarding headers the gateway sets itself (X-Forwarded-For,
// -Host, -Proto and opc-request-id are set again after the drop), the
// URL-rewrite headers that IIS, Symfony and Zend route by (X-Original-URL
// alone re-routes an anonymous request to /admin), and the client-address
// and user headers that some backends take as who is calling (attacks R7,
// R15). A spelling with '_' for '-' is dropped too (backends that fold '_'
// into '-'). The README's "What backends receive" lists them; header
// transformations may still set them deliberately.
var ClientHeadersDropped = []string{
	// Forwarding, as proxies write them.
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-Prefix", "X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Scheme",
	"X-Forwarded-Ssl", "Front-End-Https", "X-Url-Scheme", "X-Original-Host", "X-Host",
	// URL rewrites a backend routes by.
	"X-Original-Url", "X-Rewrite-Url", "X-Original-Uri",
	// The client's address, as a backend may believe it.
	"X-Real-Ip", "X-Client-Ip", "True-Client-Ip", "Client-Ip", "X-Cluster-Client-Ip", "X-Remote-Addr",
	// The caller's identity, as an authenticating proxy would assert it.
	"X-Authenticated-User", "X-Remote-User", "Remote-User",
	// The gateway's own request id.
	"Opc-Request-Id",
}

// clientHeadersDropped is ClientHeadersDropped and methodOverrideHeaders
// as one set, so that the request's headers are walked once.
var clientHeadersDropped = func() map[string]bool {
	m := make(map[string]bool, len(ClientHeadersDropped)+len(methodOverrideHeaders))
	for _, name := range slices.Concat(ClientHeadersDropped, methodOverrideHeaders) {
		m[name] = true
	}
	return m
}()

// withSanitize cleans the request for the backend: no method override, no
// client copy of a gateway header, no protocol upgrade (h2c smuggling, R8).
func (g *Gateway) withSanitize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header
		// A trusted proxy's X-Forwarded-For chain goes on (the proxy
		// appends the peer); anyone else's is dropped.
		keepXFF := len(g.trusted) > 0 && g.trusted.contains(peerAddr(r))
		exchangeFrom(r).trustedChain = keepXFF
		for name := range h {
			if name == "X-Forwarded-For" && keepXFF {
				continue
			}
			if clientHeadersDropped[name] {
				delete(h, name)
				continue
			}
			if strings.IndexByte(name, '_') >= 0 {
				// A backend that folds '_' into '-' would read
				// X_HTTP_Method_Override as the override too (R5).
				dashed := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-"))
				if clientHeadersDropped[dashed] {
					delete(h, name)
				}
			}
		}
		if len(h["Upgrade"]) > 0 {
			// No route allows protocol upgrades: the request is served as a
			// plain request and the backend never sees the upgrade offer.
			// The headers Connection names (HTTP2-Settings ...) are hop-by-hop
			// too; ReverseProxy can only drop them while Connection is there.
			for _, v := range h["Connection"] {
				for _, name := range strings.Split(v, ",") {
					if name = textproto.TrimString(name); name != "" {
						h.Del(name)
					}
				}
			}
			h.Del("Upgrade")
			h.Del("Connection")
			for name := range h {
				if strings.HasPrefix(name, "Sec-Websocket-") {
					delete(h, name) // the handshake's own headers mean nothing now
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
