package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are keygate config's trustedProxies, compiled.
type trustedProxies []netip.Prefix

func compileTrustedProxies(cidrs []string) trustedProxies {
	var t trustedProxies
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			t = append(t, p.Masked())
		} else if a, err := netip.ParseAddr(c); err == nil {
			t = append(t, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return t
}

func (t trustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the TCP peer of r.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// clientAddr is the address r comes from: the TCP peer, or, when the peer
// is a trusted proxy, the nearest address in its X-Forwarded-For (or
// Forwarded) chain that is not a trusted proxy itself. A client cannot
// choose its address by sending the header: only what trusted proxies
// appended is read, from the right.
func (t trustedProxies) clientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	if len(t) == 0 || !t.contains(peer) {
		return peer
	}
	chain := forwardedChain(r)
	for i := len(chain) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(chain[i])
		if err != nil {
			return peer // a chain keygate cannot read: the proxy is the client
		}
		if !t.contains(a) {
			return a.Unmap()
		}
	}
	return peer
}

// forwardedChain lists the addresses of X-Forwarded-For, else of
// Forwarded's for= parameters, in order.
func forwardedChain(r *http.Request) []string {
	var chain []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, a := range strings.Split(v, ",") {
			chain = append(chain, strings.TrimSpace(a))
		}
	}
	if len(chain) > 0 {
		return chain
	}
	for _, v := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(name, "for") {
					continue
				}
				value = strings.Trim(value, `"`)
				if strings.HasPrefix(value, "[") { // [v6]:port
					value = strings.TrimPrefix(value[:strings.IndexByte(value+"]", ']')], "[")
				} else if host, _, err := net.SplitHostPort(value); err == nil {
					value = host
				}
				chain = append(chain, value)
			}
		}
	}
	return chain
}

// rateKey is the CLIENT_IP key of a: an IPv4 address, or an IPv6 /64.
func rateKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
