package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxHostName and maxHostLabel are the DNS limits of RFC 1035 §2.3.4.
const (
	maxHostName  = 253
	maxHostLabel = 63
)

// hostProblem says why host, the host of an http(s) URL without its port
// (and without the brackets of an IPv6 literal when bracketed is true),
// cannot be dialled, or returns "" when it can. A host name is labels of
// letters, digits and '-' (RFC 1123 §2.1), and '_', which DNS allows and
// container networks use in service names (Docker Compose's my_service),
// each 1 to 63 bytes long and neither starting nor ending with '-', 253
// bytes at most, with an optional trailing dot; "localhost" is one. The point is to catch what was never
// meant as a host, a template's placeholder such as
// "<OKE-LB-SVC-PUB-IP>", before a request finds out.
func hostProblem(host string, bracketed bool) string {
	if bracketed {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "brackets hold an IPv6 address only"
		}
		return ""
	}
	name := strings.TrimSuffix(host, ".")
	switch {
	case name == "":
		return "empty"
	case len(name) > maxHostName:
		return fmt.Sprintf("%d bytes long, over the %d a host name may have", len(name), maxHostName)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if why := labelProblem(l); why != "" {
			return why
		}
	}
	// No top-level domain is all digits (RFC 3696 §2), so a name ending in
	// one is meant as an IPv4 address and must be one: "10.0.0.256" or
	// "010.0.0.1" would otherwise go to DNS and fail at the first request.
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		if a, err := netip.ParseAddr(name); err != nil || !a.Is4() {
			return "it ends in a number but is not an IPv4 address (four numbers from 0 to 255, no leading zeros)"
		}
	}
	return ""
}

// labelProblem says what is wrong with one label of a host name, or "".
func labelProblem(l string) string {
	switch {
	case l == "":
		return "an empty label (\"..\")"
	case len(l) > maxHostLabel:
		return fmt.Sprintf("a label of %d bytes, over the %d a label may have", len(l), maxHostLabel)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Sprintf("label %q starts or ends with '-'", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			if c >= 0x80 {
				return "not ASCII, so an internationalised name goes in its xn-- form"
			}
			return fmt.Sprintf("%q is not allowed, only letters, digits, '-', '_' and '.'", c)
		}
	}
	return ""
}

// splitAuthority splits an URL authority as written into its host
// (userinfo removed, an IPv6 literal's brackets removed and its zone's "%25"
// decoded), whether the host was bracketed, and its port ("" for none).
func splitAuthority(authority string) (host string, bracketed bool, port string) {
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if rest, ok := strings.CutPrefix(authority, "["); ok {
		host, after, _ := strings.Cut(rest, "]")
		_, port, _ = strings.Cut(after, ":")
		return strings.Replace(host, "%25", "%", 1), true, port
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		return authority[:i], false, authority[i+1:]
	}
	return authority, false, ""
}

// hostPortProblem returns the problem, worded with its fix, of a backend
// url's host and port, or "" when both can be dialled.
func hostPortProblem(host string, bracketed bool, port string) string {
	if why := hostProblem(host, bracketed); why != "" {
		return fmt.Sprintf("host %q is not a host name or IP address: %s; replace the placeholder with the backend's host name or IP address", host, why)
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return fmt.Sprintf("port %q is not a number from 1 to 65535; give the backend's port, or none for the scheme's default", port)
	}
	return ""
}
