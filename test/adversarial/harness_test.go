// Package adversarial throws hostile input at a real keygate over loopback:
// every row of attacks.md (../shared/reference/attacks.md), published JWS
// test vectors, a table of mutated tokens and resource abuse. It runs
// keygate as an outside attacker meets it, through the shared harness
// (internal/gateway/gatewaytest): the exported API only, gateway.NewServer
// on a 127.0.0.1:0 listener, in front of a backend that records every
// request it receives.
//
// Every hostile case asserts two things: the status the client gets, and
// that the backend received nothing.
package adversarial

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// newTokenRig starts the standard target: an RSA key "rsa" (RS256) and an
// EC key "ec" (ES256), at the fixed clock, anonymous access allowed, with
// routes
//
//	/r           AUTHENTICATION_ONLY to the backend
//	/scoped      ANY_OF orders:write to the backend
//	/p/{name}    to the backend at /items/${request.path[name]}
//	/open        ANONYMOUS to the backend
func newTokenRig(t *testing.T) *gatewaytest.Gateway {
	t.Helper()
	b := gatewaytest.NewBackend(t)
	auth := gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("rsa").JWK(t), gatewaytest.EC("ec").JWK(t)))
	auth["isAnonymousAccessAllowed"] = true
	sp := gatewaytest.Spec(auth,
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil),
		gatewaytest.HTTPRoute("/scoped", b.URL+"/scoped", gatewaytest.AnyOf("orders:write")),
		gatewaytest.HTTPRoute("/p/{name}", b.URL+"/items/${request.path[name]}", nil),
		gatewaytest.HTTPRoute("/open", b.URL+"/open", gatewaytest.Anonymous()),
	)
	return gatewaytest.Start(t, sp, b, gatewaytest.Options{Now: gatewaytest.FixedClock})
}

// validToken is a valid RS256 token for the token rig.
func validToken(t testing.TB) string { return validTokenWith(t, nil) }

// validTokenWith is validToken with its claims changed by edits (a nil
// value deletes the claim): still signed by the rig's key, so only the edit
// decides.
func validTokenWith(t testing.TB, edits map[string]any) string {
	return gatewaytest.RSA("rsa").Sign(t, gatewaytest.Claims(edits))
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter is an atomic hit counter for servers an attack must not reach.
type counter struct{ n atomic.Int64 }

func (c *counter) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		next.ServeHTTP(w, r)
	})
}
