package gateway

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/authz"
)

// exchange is the state of one request as it passes the middleware chain.
// It is made once per request by the request-id middleware and filled in by
// the later ones, so that each step reads what the previous ones decided.
type exchange struct {
	// parent is the context the request came with; ctx is the exchange
	// itself as the request's context (see Value).
	parent    context.Context
	ctx       context.Context
	requestID string
	// requestIDValues back the opc-request-id header values of the response
	// ([0]) and of the upstream request ([1]), so neither is an allocation.
	requestIDValues [2]string
	// method is the request's method, for the console's rejection list.
	method string
	// header is the response's header map, where requestID is set.
	header http.Header
	start  time.Time
	// dep and route are nil until routing found them.
	dep   *deployment
	route *route
	// routePath is the canonical path relative to the deployment prefix.
	routePath string
	// escapedPath is the request path as it arrived, already known to be
	// canonical; it is what the access log shows.
	escapedPath string
	params      authz.Params
	// principal is who authenticated; nil on an open route or anonymous
	// access.
	principal *principal
	// principalValue holds what principal points at, so a request's
	// principal needs no allocation of its own.
	principalValue principal
	// credentialFolded: the token header was spelled with '_' for '-'
	// (tokenAuthenticator.credential), so scrub walks the headers.
	credentialFolded bool
	// selected is the server dynamic authentication picked for this
	// request (nil before or without one): a pointer, so a request of a
	// deployment without dynamic authentication pays 8 bytes for it.
	selected *selection
	// credentialHeader and credential are the verified token's header and
	// value, set again on the upstream request after hop-by-hop removal.
	credentialHeader string
	credential       []string
	// backendHost is the backend's host:port computed for this request (a
	// url whose host holds context variables); "" for the url's own.
	backendHost string
	// trustedChain: the request came from a trusted proxy, whose
	// X-Forwarded-For chain goes on to the backend.
	trustedChain bool
	// preflight: the request is a CORS preflight, routed by the method it
	// asks about, for a route with a cors policy.
	preflight bool
	// origin is the request's Origin, kept when the deployment has a cors
	// policy, for the CORS headers of a routing refusal.
	origin string
	// clientCert is the client certificate that passed the deployment's
	// mutual TLS; nil when the deployment has none (client certificates
	// are then ignored). ${request.cert[client_base64]} reads it through
	// clientCertBase64.
	clientCert *x509.Certificate
	// usageClient is the subscriber's client the request's client token
	// named, and usage its entitlement on the deployment (nil when it has
	// none); both nil on deployments without usage plans.
	usageClient *usageClient
	usage       *usageGrant
	// loginSession is the OAUTH2 browser session that authenticated the
	// request; nil for any other credential.
	loginSession *session
	// decision is set when the request is a Decide call, not traffic.
	decision *Decision
	// cache is the request's dealings with its route's response cache;
	// nil on routes without one, and for other methods than GET, HEAD and
	// OPTIONS.
	cache *cacheExchange
	// recorder is the access log's view of the response (withAccessLog).
	recorder recorder
}

type exchangeKey struct{}

// The exchange is also the request's context, which saves a
// context.WithValue per request: Value answers exchangeKey with the
// exchange and passes everything else, like Deadline, Done and Err, to the
// context the request came with. Contexts derived from it still find the
// parent's cancellation (context.WithCancel looks it up through Value).
func (ex *exchange) Deadline() (time.Time, bool) { return ex.parent.Deadline() }
func (ex *exchange) Done() <-chan struct{}       { return ex.parent.Done() }
func (ex *exchange) Err() error                  { return ex.parent.Err() }
func (ex *exchange) Value(key any) any {
	if _, ok := key.(exchangeKey); ok {
		return ex
	}
	return ex.parent.Value(key)
}

// exchangeFrom returns the exchange the request-id middleware attached.
func exchangeFrom(r *http.Request) *exchange {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return ex
}

// executionLogEnabled reports whether a line at level goes to the execution
// log, by the route's loggingPolicies, else the deployment's.
func (ex *exchange) executionLogEnabled(level slog.Level) bool {
	switch {
	case ex.route != nil:
		return ex.route.execLog.enabled && level >= ex.route.execLog.level
	case ex.dep != nil:
		return ex.dep.execLog.enabled && level >= ex.dep.execLog.level
	}
	return true
}

// requestIDHeader is OCI's request id header, echoed on every response;
// requestIDKey is its canonical form, the key of an http.Header map (used
// directly on the hot path: canonicalising a key allocates).
const (
	requestIDHeader = "opc-request-id"
	requestIDKey    = "Opc-Request-Id"
)

// validRequestID accepts a caller's opc-request-id only if it is short and
// plain, so that it can go into logs and headers as it is.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '/', c == ':':
		default:
			return false
		}
	}
	return true
}

// requestIDs makes request ids: 32 upper-case hex digits, the shape of the
// ids OCI generates. The first half is random per process, the second a
// counter, so ids are unique across replicas without a random read per
// request. They identify; they are not secrets.
type requestIDs struct {
	prefix [16]byte
	next   atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails on supported platforms
	ids := &requestIDs{}
	hex.Encode(ids.prefix[:], seed[:])
	upper(ids.prefix[:])
	ids.next.Store(binary.BigEndian.Uint64(seed[:]) >> 16) // start anywhere
	return ids
}

func (ids *requestIDs) new() string {
	var b [32]byte
	copy(b[:16], ids.prefix[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], ids.next.Add(1))
	hex.Encode(b[16:], n[:])
	upper(b[16:])
	return string(b[:])
}

func upper(hexDigits []byte) {
	for i, c := range hexDigits {
		if c >= 'a' {
			hexDigits[i] = c - 'a' + 'A'
		}
	}
}

// withRequestID starts the exchange: it takes the caller's opc-request-id or
// makes one, sets it on the response, and attaches the exchange.
func (g *Gateway) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if ids := r.Header[requestIDKey]; len(ids) == 1 && validRequestID(ids[0]) {
			id = ids[0]
		} else {
			id = g.requestIDs.new()
		}
		ex := &exchange{parent: r.Context(), requestID: id, requestIDValues: [2]string{id, id}, method: r.Method,
			header: w.Header(), start: g.now(), decision: decisionFrom(r.Context())}
		ex.ctx = ex
		w.Header()[requestIDKey] = ex.requestIDValues[0:1:1]
		next.ServeHTTP(w, r.WithContext(ex))
	})
}
