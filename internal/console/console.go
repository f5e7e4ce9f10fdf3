// Package console is keygate's console in the browser, served on the admin
// listener: the compiled deployments and their policies, keys and key sets,
// configuration reloads, live counters with charts, recent rejections and a
// token explainer. Pages are rendered on the server from templates and
// assets embedded in the binary; the one script only refreshes live panels,
// so every page works with JavaScript off.
//
// Access: with a token (--console-token-file) every page needs it, as an
// Authorization: Bearer header or as the session cookie /login sets.
// Without one, the console answers only when the admin listener is bound to
// a loopback address, and only to requests naming a loopback host (a DNS
// rebinding page cannot read it). POSTs (login, explain) pass Go's
// http.CrossOriginProtection: a browser's cross-site POST is refused by its
// Sec-Fetch-Site or Origin header. Responses carry a strict
// Content-Security-Policy; pasted tokens are neither logged nor kept.
package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/gateway"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows the console's own assets only: no inline
// script, no inline style, no frames, forms posting to itself.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// sessionCookie holds the proof of a login: an HMAC of the console token,
// so the token itself never sits in the browser's cookie jar.
const sessionCookie = "keygate_console"

// Options are what the console shows and how it is guarded.
type Options struct {
	// Live is the gateway serving traffic. Required.
	Live *gateway.Live
	// KeySets are the remote key sets. Default nil: none shown.
	KeySets *gateway.KeySets
	// Activity holds the per-minute counts and recent rejections. Default
	// nil: the live panels are empty.
	Activity *gateway.Activity
	// History holds the configuration loads. Default nil: none shown.
	History *gateway.ConfigHistory
	// Token is the credential every page asks for. Default "": none, and
	// the console answers only when Loopback.
	Token string
	// Loopback: the admin listener is bound to a loopback address. Default
	// false.
	Loopback bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Console serves the console's pages.
type Console struct {
	opts    Options
	pages   map[string]*template.Template
	session string // the session cookie's value: hex HMAC of the token
}

// New parses the templates and returns the console.
func New(opts Options) (*Console, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, pages: map[string]*template.Template{}}
	if opts.Token != "" {
		mac := hmac.New(sha256.New, []byte(opts.Token))
		mac.Write([]byte("keygate console session"))
		c.session = hex.EncodeToString(mac.Sum(nil))
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if name == "templates/layout.html" || name == "templates/partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(c.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", name)
		if err != nil {
			return nil, err
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")] = t
	}
	return c, nil
}

// Handler returns the console: its pages behind the access guard, the
// cross-origin check and the security headers.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.overview)
	mux.HandleFunc("GET /deployments", c.deployments)
	mux.HandleFunc("GET /keys", c.keysPage)
	mux.HandleFunc("GET /config", c.configPage)
	mux.HandleFunc("GET /traffic", c.traffic)
	mux.HandleFunc("GET /rejections", c.rejections)
	mux.HandleFunc("GET /explain", c.explainForm)
	mux.HandleFunc("POST /explain", c.explain)
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	return securityHeaders(http.NewCrossOriginProtection().Handler(c.guard(mux)))
}

// securityHeaders sets what every console response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// guard lets a request through when the console may answer it (see the
// package doc); the login page and the assets need no credential.
func (c *Console) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		open := r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/")
		switch {
		case c.opts.Token != "":
			if open || c.authenticated(r) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="keygate console"`)
			c.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Log in", Message: "The console needs its token."})
		case !c.opts.Loopback:
			c.render(w, r, http.StatusForbidden, "off", pageData{Title: "Console off"})
		case !loopbackHost(r.Host):
			c.render(w, r, http.StatusForbidden, "off", pageData{Title: "Console off", Message: "host"})
		case r.URL.Path == "/login" || r.URL.Path == "/logout":
			http.Redirect(w, r, "/", http.StatusSeeOther)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// authenticated reports whether r carries the token or the session cookie.
func (c *Console) authenticated(r *http.Request) bool {
	if scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return c.tokenMatches(strings.TrimSpace(value))
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.session)) == 1
	}
	return false
}

func (c *Console) tokenMatches(s string) bool {
	// Compared as hashes, so the time taken says nothing of the length.
	got, want := sha256.Sum256([]byte(s)), sha256.Sum256([]byte(c.opts.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// loopbackHost reports whether the Host header names this machine: a page
// on another name that resolves to 127.0.0.1 (DNS rebinding) is refused.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", pageData{Title: "Log in"})
}

// login checks the pasted token and sets the session cookie: HttpOnly, so
// no script reads it, and SameSite=Strict, so no other site's page sends it.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !c.tokenMatches(strings.TrimSpace(r.PostFormValue("token"))) {
		c.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Log in", Message: "That is not the console's token."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: c.session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
