package config

import (
	"strings"
	"unicode/utf8"
)

// OCI's mutualTls limits.
const (
	maxAllowedSans   = 10
	maxAllowedSanLen = 255
)

// mutualTLS validates a deployment's mutualTls at p. The allowedSans rules
// hold whether or not mutual TLS is on (OCI checks them either way), and
// allowedSans with mutual TLS off is a warning; what mutual TLS needs from
// keygate's settings (a client CA, a TLS listener) is checked only when it
// is on and the settings are known.
func (c *checker) mutualTLS(p string, m *MutualTLS) {
	sp := at(p, "allowedSans")
	if len(m.AllowedSans) > maxAllowedSans {
		c.addf(sp, "%d names; OCI allows at most %d", len(m.AllowedSans), maxAllowedSans)
	}
	seen := make(map[string]int, len(m.AllowedSans))
	for i, san := range m.AllowedSans {
		ip := idx(sp, i)
		switch n := utf8.RuneCountInString(san); {
		case san == "":
			c.addf(ip, "empty; give a name such as *.partner.example.com, or remove it")
			continue
		case n > maxAllowedSanLen:
			c.addf(ip, "%d characters; OCI allows at most %d", n, maxAllowedSanLen)
		}
		if strings.Contains(strings.TrimSuffix(strings.TrimPrefix(san, "*"), "*"), "*") {
			c.addf(ip, "%q has a '*' inside; '*' may only start or end a name (*.example.com, server.example.*, *.example.*): list the names in full instead", san)
		}
		key := strings.ToLower(san)
		if j, dup := seen[key]; dup {
			c.addf(ip, "%q is already allowedSans[%d] (names compare case-insensitively); remove one", san, j)
			continue
		}
		seen[key] = i
	}
	if !m.Enabled() {
		if len(m.AllowedSans) > 0 {
			c.warnf(sp, "isVerifiedCertificateRequired is false, so mutual TLS is off and allowedSans is ignored; set it to true to check client certificates, or remove allowedSans")
		}
		return
	}
	if c.serving == nil {
		return
	}
	rp := at(p, "isVerifiedCertificateRequired")
	if !c.serving.clientCA {
		c.addf(rp, "mutual TLS is on but keygate has no client CA to verify certificates against (OCI keeps it on the gateway, as caBundles); give serve --tls-client-ca FILE with the CA certificates in PEM, or set tls.clientCA in the config file")
	}
	if c.serving.plainHTTP {
		c.addf(rp, "mutual TLS is on but keygate serves plain HTTP, where no client certificate can arrive; serve with --tls-cert FILE and --tls-key FILE")
	}
}
