package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// maxSocketPath is the longest unix socket path the kernel takes
// (sun_path holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// envName is a portable environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are the variables keygate sets for a supervised function.
var reservedEnv = []string{"FN_LISTENER", "FN_FORMAT"}

// functions validates the function registry; relative listener and dir
// paths are made absolute against dir.
func (c *checker) functions(g *Gateway, dir string) {
	ids := map[string]int{}
	sockets := map[string]int{}
	for i := range g.Functions {
		f := &g.Functions[i]
		p := idx("functions", i)
		c.uniqueName(at(p, "id"), f.ID, i, ids,
			"missing; give the functionId as the specs write it (an OCID or any name)",
			"%q is already functions[%d]; keep one entry per functionId")
		switch {
		case f.URL == "" && f.Listener == "":
			c.addf(p, "no url or listener; give url: http://host:port/path for an HTTP endpoint, or listener: unix:/path/lsnr.sock for an Fn FDK function")
		case f.URL != "" && f.Listener != "":
			c.addf(p, "both url and listener are set; keep one")
		case f.URL != "":
			c.functionURL(at(p, "url"), f.URL)
		default:
			if c.listener(at(p, "listener"), f, dir) {
				if j, dup := sockets[f.SocketPath()]; dup {
					c.addf(at(p, "listener"), "%q is already the listener of functions[%d]; give each function its own socket", f.Listener, j)
				} else {
					sockets[f.SocketPath()] = i
				}
			}
		}
		if f.TimeoutMillis < 0 || f.TimeoutMillis > MaxFunctionTimeoutMillis {
			c.addf(at(p, "timeoutMillis"), "%d is not from 0 to %d milliseconds; 0 means the default, %d", f.TimeoutMillis, MaxFunctionTimeoutMillis, DefaultFunctionTimeoutMillis)
		}
		c.functionCommand(p, f, dir)
	}
}

// functionURL checks a function's plain HTTP endpoint.
func (c *checker) functionURL(p, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		c.addf(p, "%q is not a URL; use an http:// or https:// URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		c.addf(p, "scheme %q is not http or https; use an http:// or https:// URL (a unix socket is a listener:)", u.Scheme)
	case u.Host == "":
		c.addf(p, "%q has no host; use an http:// or https:// URL with a host", raw)
	case u.User != nil:
		c.addf(p, "credentials in the URL are not allowed; remove the user:password@ part")
	case u.RawQuery != "" || u.Fragment != "":
		c.addf(p, "%q has a query or fragment; give scheme://host[:port][/path] only", raw)
	case strings.Contains(raw, "${"):
		c.addf(p, "context variables are not allowed in a function url; write it literally")
	default:
		if msg := hostPortProblem(u.Hostname(), strings.HasPrefix(u.Host, "["), u.Port()); msg != "" {
			c.addf(p, "%s", msg)
		}
	}
}

// listener checks a function's unix:/path listener and makes its path
// absolute; it reports whether the listener is usable.
func (c *checker) listener(p string, f *Function, dir string) bool {
	path, ok := strings.CutPrefix(f.Listener, listenerScheme)
	switch {
	case !ok:
		c.addf(p, "%q is not unix:/path/to/lsnr.sock; Fn FDKs listen on a unix socket only", f.Listener)
		return false
	case path == "" || strings.HasSuffix(path, "/"):
		c.addf(p, "%q names no socket file; write e.g. unix:/run/keygate/fn/lsnr.sock", f.Listener)
		return false
	case strings.HasPrefix(path, "//"):
		c.addf(p, "%q is a URL form; write unix:/path/lsnr.sock with a single slash", f.Listener)
		return false
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	path = filepath.Clean(path)
	if len(path) > maxSocketPath {
		c.addf(p, "the socket path %q has %d bytes, over the %d a unix socket allows; use a shorter directory", path, len(path), maxSocketPath)
		return false
	}
	f.Listener = listenerScheme + path
	return true
}

// functionCommand checks the supervised process settings.
func (c *checker) functionCommand(p string, f *Function, dir string) {
	if len(f.Command) == 0 {
		if len(f.Env) > 0 {
			c.addf(at(p, "env"), "only for a command keygate starts; add command or remove env")
		}
		if f.Dir != "" {
			c.addf(at(p, "dir"), "only for a command keygate starts; add command or remove dir")
		}
		return
	}
	if f.Listener == "" {
		c.addf(at(p, "command"), "needs a listener: keygate starts the function with FN_LISTENER set to it; add listener: unix:/path/lsnr.sock (a url: function runs on its own)")
	}
	if f.Command[0] == "" {
		c.addf(idx(at(p, "command"), 0), "empty; give the program to run, e.g. node")
	}
	for name := range f.Env {
		switch {
		case !envName.MatchString(name):
			c.addf(keyPath(at(p, "env"), name), "%q is not an environment variable name; use letters, digits and _", name)
		case isReservedEnv(name):
			c.addf(keyPath(at(p, "env"), name), "set by keygate from listener; remove it")
		}
	}
	if f.Dir != "" && !filepath.IsAbs(f.Dir) {
		f.Dir = filepath.Join(dir, f.Dir)
	}
	if f.Dir == "" {
		f.Dir = dir
	}
}

func isReservedEnv(name string) bool { return slices.Contains(reservedEnv, name) }

// functionRefs checks that every functionId the deployments' specs name
// has a registry entry.
func (c *checker) functionRefs(g *Gateway) {
	known := make(map[string]bool, len(g.Functions))
	for _, f := range g.Functions {
		known[f.ID] = true
	}
	for _, d := range g.Deployments {
		for _, ref := range d.functionRefs {
			p := d.Source.Problem(ref.Path, unknownFunction(ref.ID))
			// An empty or misplaced functionId is already reported.
			if ref.ID != "" && !known[ref.ID] && !overlaps(c.probs, p) {
				c.probs = append(c.probs, p)
			}
		}
	}
}

// unknownFunction words a functionId missing from the registry.
func unknownFunction(id string) string {
	return fmt.Sprintf("function %q is not in keygate's function registry; add to the gateway file a functions: entry with id: %q "+
		"and its url: (an HTTP endpoint) or listener: unix:/path/lsnr.sock (an Fn FDK function)", id, id)
}
