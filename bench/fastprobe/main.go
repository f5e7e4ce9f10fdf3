// Command fastprobe is a measurement probe for the performance issue, not part
// of keygate: a minimal gateway that does keygate's per-request work for the
// bench spec of bench/compare.sh on github.com/valyala/fasthttp instead of
// net/http, so that the cost of the HTTP stack can be compared side by side.
//
// Per request it does what keygate does on the bench routes: the canonical
// path check (authz.CanonicalPath), the deployment prefix, the route table
// (authz.Table: /anon ANONYMOUS, /jwt ANY_OF scope), the bearer credential
// (exactly one Authorization header, one token), token.Verifier over a
// keys.StaticSet with an optional token.Cache, the scope check, an
// opc-request-id (the caller's if plain, else a new one), and the proxying
// hygiene of httputil.ReverseProxy with Rewrite: hop-by-hop headers removed
// both ways (Connection and the headers it names, Keep-Alive, Proxy-*, TE,
// Trailer, Transfer-Encoding, Upgrade), X-Forwarded-For/Host/Proto set by the
// proxy with the client's copies dropped, the backend's Host. Rejections get
// keygate's JSON bodies and WWW-Authenticate challenges. It logs nothing per
// request (keygate runs with --no-access-log in the bench).
//
// It lives in its own module so that fasthttp never enters keygate's go.mod;
// Go lets it import keygate's internal packages because module-mode internal
// visibility goes by import path, and this module's path is under
// github.com/keygate/keygate.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/authz"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
	"github.com/valyala/fasthttp"
)

// Limits as keygate's (internal/gateway/server.go, proxy.go).
const (
	maxHeaderBytes  = 64 << 10 // fasthttp: the read buffer bounds the request head
	maxRequestBody  = 20 << 20
	readTimeout     = 10 * time.Second // fasthttp has no header-only timeout: the whole request
	idleTimeout     = 120 * time.Second
	upstreamTimeout = 30 * time.Second
)

const requestIDHeader = "opc-request-id"

func main() {
	listen := flag.String("listen", "127.0.0.1:18185", "host:port to listen on")
	backend := flag.String("backend", "http://127.0.0.1:18180/", "backend URL (http only)")
	pub := flag.String("pub", "", "RS256 public key, PEM file")
	kid := flag.String("kid", "perf-key-1", "kid of the -pub key")
	iss := flag.String("iss", "https://auth.example.test/", "accepted issuer")
	aud := flag.String("aud", "api://perf-gateway", "accepted audience")
	scope := flag.String("scope", "api:read", "scope the /jwt route requires (ANY_OF)")
	prefix := flag.String("prefix", "/bench", "deployment path prefix")
	cacheSize := flag.Int("token-cache-size", 100000, "verified tokens remembered; 0 verifies every request in full")
	flag.Parse()

	g, err := newGateway(*backend, *pub, *kid, *iss, *aud, *scope, *prefix, *cacheSize)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fastprobe: %v\n", err)
		os.Exit(2)
	}
	srv := &fasthttp.Server{
		Handler:                      g.serve,
		ReadBufferSize:               maxHeaderBytes,
		MaxRequestBodySize:           maxRequestBody,
		ReadTimeout:                  readTimeout,
		IdleTimeout:                  idleTimeout,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fastprobe: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "fastprobe listening on %s, backend %s, token cache %d\n", ln.Addr(), *backend, *cacheSize)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-done:
		fmt.Fprintf(os.Stderr, "fastprobe: %v\n", err)
		os.Exit(1)
	case <-sig:
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.ShutdownWithContext(sctx)
		cancel()
	}
}

type route struct {
	policy authz.Policy
	scopes string // allowed scopes joined by spaces, for the challenge
}

type gateway struct {
	prefix   string
	table    *authz.Table
	routes   []route
	verifier *token.Verifier
	realm    string

	client       *fasthttp.HostClient
	backendHost  string
	backendPath  string // escaped
	backendQuery string
	ids          requestIDs
}

func newGateway(backend, pubFile, kid, iss, aud, scope, prefix string, cacheSize int) (*gateway, error) {
	u, err := url.Parse(backend)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("-backend %q: want an http://host:port/ URL", backend)
	}
	pem, err := os.ReadFile(pubFile)
	if err != nil {
		return nil, fmt.Errorf("-pub: %w", err)
	}
	pk, err := keys.ParsePublicPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("-pub: %w", err)
	}
	k, err := keys.NewKey(kid, "RS256", pk)
	if err != nil {
		return nil, fmt.Errorf("-pub: %w", err)
	}
	set, err := keys.NewStaticSet(k)
	if err != nil {
		return nil, err
	}
	v := token.NewVerifier(set, token.Policy{Issuers: []string{iss}, Audiences: []string{aud}}, nil)
	v.UseCache(token.NewCache(cacheSize)) // nil (no cache) for 0
	table, err := authz.Compile([]authz.RouteSpec{
		{Path: "/anon", Methods: []string{"GET"}},
		{Path: "/jwt", Methods: []string{"GET"}},
	})
	if err != nil {
		return nil, err
	}
	prefix = strings.TrimSuffix(prefix, "/")
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	g := &gateway{
		prefix:   prefix,
		table:    table,
		routes:   []route{{policy: authz.Policy{Kind: authz.Anonymous}}, {policy: authz.Policy{Kind: authz.AnyOf, AllowedScopes: []string{scope}}, scopes: scope}},
		verifier: v,
		realm:    prefix,
		client: &fasthttp.HostClient{
			Addr:                          u.Host,
			MaxConns:                      1024, // wrk -c64 keeps up to 64 requests in flight
			MaxIdleConnDuration:           90 * time.Second,
			ReadTimeout:                   upstreamTimeout,
			WriteTimeout:                  upstreamTimeout,
			ReadBufferSize:                maxHeaderBytes,
			MaxResponseBodySize:           0, // unlimited, as net/http's proxy streams any size
			NoDefaultUserAgentHeader:      true,
			DisablePathNormalizing:        true, // send the path exactly as built
			DisableHeaderNamesNormalizing: false,
		},
		backendHost:  u.Host,
		backendPath:  path,
		backendQuery: u.RawQuery,
	}
	if g.realm == "" {
		g.realm = "/"
	}
	g.ids.init()
	return g, nil
}

func (g *gateway) serve(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	id := string(req.Header.Peek(requestIDHeader))
	if !validRequestID(id) || len(req.Header.PeekAll(requestIDHeader)) > 1 {
		id = g.ids.new()
	}

	// Routing: canonical path, deployment prefix, route table.
	path, err := authz.CanonicalPath(string(req.URI().PathOriginal()))
	if err != nil {
		g.writeError(ctx, id, fasthttp.StatusBadRequest, "", "")
		return
	}
	rest, ok := g.relative(path)
	if !ok {
		g.writeError(ctx, id, fasthttp.StatusNotFound, "", "")
		return
	}
	match, err := g.table.Match(string(req.Header.Method()), rest)
	if err != nil {
		var na *authz.MethodNotAllowedError
		if errors.As(err, &na) {
			ctx.Response.Header.Set("Allow", strings.Join(na.Allow, ", "))
			g.writeError(ctx, id, fasthttp.StatusMethodNotAllowed, "", "")
			return
		}
		g.writeError(ctx, id, fasthttp.StatusNotFound, "", "")
		return
	}
	rt := &g.routes[match.Route]
	anonymous := rt.policy.Kind == authz.Anonymous

	// Authentication (isAnonymousAccessAllowed: an ANONYMOUS route forwards
	// a request whose token is missing or invalid).
	raw, cerr := credential(&req.Header)
	var tok *token.Token
	switch {
	case cerr == errNoCredential:
		if !anonymous {
			g.writeError(ctx, id, fasthttp.StatusUnauthorized, g.challenge(""), "")
			return
		}
	case cerr != nil:
		if !anonymous {
			g.writeError(ctx, id, fasthttp.StatusUnauthorized, g.challenge("invalid_token"), "")
			return
		}
	default:
		t, verr := g.verifier.Verify(raw)
		if verr != nil && !anonymous {
			status := fasthttp.StatusUnauthorized
			challenge := g.challenge("invalid_token")
			if errors.Is(verr, token.ErrKeysUnavailable) {
				status, challenge = fasthttp.StatusServiceUnavailable, ""
			}
			g.writeError(ctx, id, status, challenge, "")
			return
		}
		if verr == nil {
			tok = t
		}
	}

	// Authorization.
	if !anonymous && (tok == nil || !rt.policy.Allows(tok.Claims.Scopes())) {
		g.writeError(ctx, id, fasthttp.StatusForbidden,
			g.challenge("insufficient_scope")+`, scope="`+rt.scopes+`"`, "")
		return
	}

	g.proxy(ctx, id)
}

// relative returns path relative to the deployment prefix ("/" for the
// prefix itself), or false when the prefix does not own path.
func (g *gateway) relative(path string) (string, bool) {
	if g.prefix == "" {
		return path, true
	}
	if !strings.HasPrefix(path, g.prefix) {
		return "", false
	}
	rest := path[len(g.prefix):]
	switch {
	case rest == "":
		return "/", true
	case rest[0] == '/':
		return rest, true
	}
	return "", false
}

var (
	errNoCredential        = errors.New("no token in the request")
	errMultipleCredentials = errors.New("more than one token in the request")
	errMalformedCredential = errors.New("the token is not in the configured form")
)

// credential is keygate's authenticator.credential for tokenHeader
// Authorization and tokenAuthScheme Bearer.
func credential(h *fasthttp.RequestHeader) (string, error) {
	values := h.PeekAll(fasthttp.HeaderAuthorization)
	switch len(values) {
	case 0:
		return "", errNoCredential
	case 1:
	default:
		return "", errMultipleCredentials
	}
	scheme, rest, found := bytes.Cut(values[0], []byte(" "))
	if !bytes.EqualFold(scheme, []byte("Bearer")) {
		return "", errNoCredential
	}
	if !found || len(rest) == 0 || bytes.IndexAny(rest, " \t,") >= 0 {
		return "", errMalformedCredential
	}
	return string(rest), nil // a copy: the header buffer is reused
}

func (g *gateway) challenge(errorCode string) string {
	c := `Bearer realm="` + g.realm + `"`
	if errorCode != "" {
		c += `, error="` + errorCode + `"`
	}
	return c
}

// writeError is keygate's writeError: status, challenge, the generic JSON
// body {"code":N,"message":"..."}, no-store.
func (g *gateway) writeError(ctx *fasthttp.RequestCtx, id string, status int, challenge, message string) {
	r := &ctx.Response
	if challenge != "" {
		r.Header.Set("WWW-Authenticate", challenge)
	}
	if message == "" {
		message = fasthttp.StatusMessage(status)
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = strconv.AppendQuote(b, message) // status texts are plain ASCII
	b = append(b, "}\n"...)
	r.Header.SetContentType("application/json")
	r.Header.Set("Cache-Control", "no-store")
	r.Header.Set(requestIDHeader, id)
	r.SetStatusCode(status)
	r.SetBodyRaw(b)
}

// proxy forwards ctx.Request, rewritten in place, to the backend and relays
// the answer in ctx.Response.
func (g *gateway) proxy(ctx *fasthttp.RequestCtx, id string) {
	req := &ctx.Request
	h := &req.Header
	// Removing Connection also forgets "Connection: close", which tells the
	// server to close the client connection after this exchange.
	clientClose := h.ConnectionClose()
	query := req.URI().QueryString()
	var uri []byte
	uri = append(uri, g.backendPath...)
	switch {
	case g.backendQuery != "" && len(query) > 0:
		uri = append(append(append(append(uri, '?'), g.backendQuery...), '&'), query...)
	case g.backendQuery != "":
		uri = append(append(uri, '?'), g.backendQuery...)
	case len(query) > 0:
		uri = append(append(uri, '?'), query...)
	}
	xfHost := append([]byte(nil), h.Host()...)

	stripHopByHop(h)
	// As ReverseProxy with Rewrite: the client's forwarding headers go. (Its
	// cleanQueryParams, which drops unparsable query parameters, is not
	// reproduced: the bench sends no query.)
	h.Del("Forwarded")
	h.Del("X-Forwarded-For")
	h.Del("X-Forwarded-Host")
	h.Del("X-Forwarded-Proto")
	// Go's proxy sends X-Forwarded-For as the client's IP (no port) after Rewrite's SetXForwarded.
	h.Set("X-Forwarded-For", ctx.RemoteIP().String())
	if len(xfHost) > 0 {
		h.SetBytesV("X-Forwarded-Host", xfHost)
	}
	if ctx.IsTLS() {
		h.Set("X-Forwarded-Proto", "https")
	} else {
		h.Set("X-Forwarded-Proto", "http")
	}
	h.Set(requestIDHeader, id)
	req.SetRequestURIBytes(uri)
	h.SetHost(g.backendHost)

	resp := &ctx.Response
	if err := g.client.Do(req, resp); err != nil {
		resp.Reset()
		status := fasthttp.StatusBadGateway
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
			status = fasthttp.StatusGatewayTimeout
		}
		g.writeError(ctx, id, status, "", "")
		if clientClose {
			ctx.SetConnectionClose()
		}
		return
	}
	stripHopByHopResponse(&resp.Header)
	resp.Header.Set(requestIDHeader, id)
	if clientClose {
		ctx.SetConnectionClose()
	}
}

// hopHeaders are removed in both directions (RFC 9110 §7.6.1), as
// net/http/httputil's hopHeaders; Proxy-* goes too.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

var (
	nameConnection = []byte("Connection")
	prefixProxy    = []byte("Proxy-")
)

// headerNames is the visitor of the headers a stripper removes; a fixed
// array keeps it off the heap for the usual handful.
type headerNames struct {
	buf  [512]byte
	used int
	ends [32]int
	n    int
	more [][]byte // beyond the fixed room
}

func (s *headerNames) add(name []byte) {
	name = bytes.TrimSpace(name)
	if len(name) == 0 {
		return
	}
	if s.n < len(s.ends) && s.used+len(name) <= len(s.buf) {
		copy(s.buf[s.used:], name)
		s.used += len(name)
		s.ends[s.n] = s.used
		s.n++
		return
	}
	s.more = append(s.more, append([]byte(nil), name...))
}

func (s *headerNames) each(f func([]byte)) {
	start := 0
	for i := 0; i < s.n; i++ {
		f(s.buf[start:s.ends[i]])
		start = s.ends[i]
	}
	for _, m := range s.more {
		f(m)
	}
}

// collect gathers the names Connection lists and every Proxy-* name.
func (s *headerNames) collect(all func(yield func(k, v []byte) bool)) {
	for k, v := range all {
		switch {
		case bytes.EqualFold(k, nameConnection):
			for len(v) > 0 {
				var tok []byte
				tok, v, _ = bytes.Cut(v, []byte(","))
				s.add(tok)
			}
		case len(k) > len(prefixProxy) && bytes.EqualFold(k[:len(prefixProxy)], prefixProxy):
			s.add(k)
		}
	}
}

func stripHopByHop(h *fasthttp.RequestHeader) {
	var names headerNames
	names.collect(h.All())
	names.each(h.DelBytes)
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

func stripHopByHopResponse(h *fasthttp.ResponseHeader) {
	var names headerNames
	names.collect(h.All())
	names.each(h.DelBytes)
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

// validRequestID is keygate's: short and plain, so that it can go into logs
// and headers as it is.
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

// requestIDs is keygate's id maker: a random per-process prefix and a
// counter, 32 upper-case hex digits.
type requestIDs struct {
	prefix [16]byte
	next   atomic.Uint64
}

func (ids *requestIDs) init() {
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	hex.Encode(ids.prefix[:], seed[:])
	upper(ids.prefix[:])
	ids.next.Store(binary.BigEndian.Uint64(seed[:]) >> 16)
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
