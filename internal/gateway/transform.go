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

// gatewayHeaders are the headers the gateway writes for the backend; a
// client's copies, also spelled with '_' for '-' (which some backends fold
// together), are dropped first (attack R7).
var gatewayHeaders = map[string]bool{
	"X-Forwarded-For":   true,
	"X-Forwarded-Host":  true,
	"X-Forwarded-Proto": true,
	"Forwarded":         true,
	"X-Real-Ip":         true,
	"Opc-Request-Id":    true,
}

// withTransform cleans the request for the backend: no method override, no
// client copy of a gateway header, no protocol upgrade (h2c smuggling, R8).
func (g *Gateway) withTransform(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header
		for _, name := range methodOverrideHeaders {
			h.Del(name)
		}
		for name := range h {
			if strings.IndexByte(name, '_') >= 0 || gatewayHeaders[name] {
				// A backend that folds '_' into '-' would read
				// X_HTTP_Method_Override as the override too (R5).
				dashed := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-"))
				if gatewayHeaders[dashed] || slices.Contains(methodOverrideHeaders, dashed) {
					delete(h, name)
				}
			}
		}
		if h.Get("Upgrade") != "" {
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
