package gateway

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie names of the browser login (README "Browser login (OAUTH2)").
const (
	// sessionCookie holds the sealed session, in chunks named
	// KEYGATE_SESSION, KEYGATE_SESSION_1, ... when it is large.
	sessionCookie = "KEYGATE_SESSION"
	// flowCookiePrefix names the cookie of a login in progress, followed by
	// a short digest of its state, so several tabs can log in at once.
	flowCookiePrefix = "KEYGATE_LOGIN_"
)

// Bounds of the session cookie: a chunk stays under browsers' 4096-byte
// limit per cookie with its name and attributes, and a session never
// takes more than maxSessionChunks cookies (about 15 KB).
const (
	cookieChunkSize  = 3800
	maxSessionChunks = 4
)

var errSessionTooLarge = errors.New("the sealed session is larger than the cookie bound")

// cookieAttrs are the attributes every login cookie gets.
type cookieAttrs struct {
	path   string
	secure bool
}

// cookieAttrsFor scopes cookies to the deployment's path prefix. Secure is
// set on every request that did not arrive in plain HTTP on a loopback
// address (README: a browser on the same machine, where the cookie never
// crosses a network; browsers treat loopback as a secure context).
func cookieAttrsFor(r *http.Request, prefix string, forwardedHTTPS bool) cookieAttrs {
	path := prefix
	if path == "" {
		path = "/"
	}
	return cookieAttrs{path: path, secure: r.TLS != nil || forwardedHTTPS || !plainLoopback(r)}
}

// plainLoopback reports whether r came in on a loopback address of the
// gateway.
func plainLoopback(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// cookie renders a Set-Cookie value: HttpOnly, SameSite=Lax, the
// deployment's path, Secure per a; maxAge < 0 deletes it.
func (a cookieAttrs) cookie(name, value string, maxAge time.Duration) string {
	c := &http.Cookie{Name: name, Value: value, Path: a.path, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
		c.Value = ""
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	return c.String()
}

// chunkName is the name of chunk i of the session cookie.
func chunkName(i int) string {
	if i == 0 {
		return sessionCookie
	}
	return sessionCookie + "_" + strconv.Itoa(i)
}

// readChunked joins the session cookie's chunks; "" when there is none. A
// missing chunk leaves a value that does not open.
func readChunked(r *http.Request) string {
	first, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	value := first.Value
	for i := 1; i < maxSessionChunks; i++ {
		c, err := r.Cookie(chunkName(i))
		if err != nil {
			break
		}
		value += c.Value
	}
	return value
}

// setChunked adds the Set-Cookie headers that store value in chunks to h,
// deleting the chunks a shorter value no longer needs (present in r).
func setChunked(h http.Header, r *http.Request, a cookieAttrs, value string, maxAge time.Duration) error {
	n := (len(value) + cookieChunkSize - 1) / cookieChunkSize
	if n > maxSessionChunks {
		return errSessionTooLarge
	}
	for i := 0; i < n; i++ {
		end := min((i+1)*cookieChunkSize, len(value))
		h.Add("Set-Cookie", a.cookie(chunkName(i), value[i*cookieChunkSize:end], maxAge))
	}
	for i := n; i < maxSessionChunks; i++ {
		if _, err := r.Cookie(chunkName(i)); err == nil {
			h.Add("Set-Cookie", a.cookie(chunkName(i), "", -1))
		}
	}
	return nil
}

// clearChunked deletes every session chunk r carries.
func clearChunked(h http.Header, r *http.Request, a cookieAttrs) {
	for i := 0; i < maxSessionChunks; i++ {
		if _, err := r.Cookie(chunkName(i)); err == nil {
			h.Add("Set-Cookie", a.cookie(chunkName(i), "", -1))
		}
	}
}

// isLoginCookie reports whether name is one of the login's cookies, which
// no backend receives.
func isLoginCookie(name string) bool {
	return strings.HasPrefix(name, sessionCookie) || strings.HasPrefix(name, flowCookiePrefix)
}

// stripLoginCookies removes the login's cookies from r's Cookie headers,
// keeping the others as they were.
func stripLoginCookies(r *http.Request) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		var parts []string
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name == "" || isLoginCookie(name) {
				continue
			}
			parts = append(parts, strings.TrimSpace(part))
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	if len(kept) == 0 {
		r.Header.Del("Cookie")
		return
	}
	r.Header["Cookie"] = kept
}

// clearAllChunks deletes every chunk the session could have: for a request
// whose Cookie header no longer shows them (the logout backend runs after
// the login cookies were removed from the request).
func clearAllChunks(h http.Header, a cookieAttrs) {
	for i := 0; i < maxSessionChunks; i++ {
		h.Add("Set-Cookie", a.cookie(chunkName(i), "", -1))
	}
}
