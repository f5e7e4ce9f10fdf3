package gateway

import (
	"crypto/x509"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Mutual TLS refusals and warnings: OCI's log codes, keygate's reasons.
const (
	codeMTLSInvalid                 = "mutualTls.clientCertificateInvalid"
	codeMTLSSanInvalid              = "mutualTls.clientCertificateSanInvalid"
	codeClientCertConversion        = "request.clientCertConversionFailed"
	reasonCertMissing        reason = "client_certificate_missing"
	reasonCertInvalid        reason = "client_certificate_invalid"
	reasonCertSanNotAllowed  reason = "client_certificate_san_not_allowed"
	reasonCertTooLarge       reason = "client_certificate_too_large"
)

// Mutual TLS limits.
const (
	// maxClientChain is the longest verified chain, client certificate and
	// trusted CA included (OCI: "client certificate chain depth 3").
	maxClientChain = 3
	// maxPresentedCerts bounds the certificates a client may send, so a
	// long list costs no verification work.
	maxPresentedCerts = 8
	// maxClientCertBase64 is the largest ${request.cert[client_base64]}:
	// OCI leaves the variable unset above 8 KB.
	maxClientCertBase64 = 8 << 10
)

// mutualTLS is a deployment's compiled mutualTls, when it is on (the
// README's "Mutual TLS" for keygate's decisions).
type mutualTLS struct {
	// roots are keygate's client CA: never the system's roots.
	roots *x509.CertPool
	// sans are allowedSans; empty allows any name.
	sans []sanPattern
}

// sanPattern is one compiled allowedSans entry: text (lower case, without
// its '*'s) with any characters allowed before and/or after it.
type sanPattern struct {
	text                string
	anyBefore, anyAfter bool
}

// compileSanPattern compiles a validated allowedSans entry ('*' only at the
// start or the end).
func compileSanPattern(s string) sanPattern {
	p := sanPattern{text: strings.ToLower(s)}
	p.text, p.anyBefore = strings.CutPrefix(p.text, "*")
	p.text, p.anyAfter = strings.CutSuffix(p.text, "*")
	return p
}

// match reports whether name, in lower case, is one the pattern allows.
func (p sanPattern) match(name string) bool {
	switch {
	case p.anyBefore && p.anyAfter:
		return strings.Contains(name, p.text)
	case p.anyBefore:
		return strings.HasSuffix(name, p.text)
	case p.anyAfter:
		return strings.HasPrefix(name, p.text)
	}
	return name == p.text
}

// certNames lists the names of c that allowedSans is matched against, in
// lower case: its DNS, email and URI SANs and its subject CN (OCI: "CN or
// SAN").
func certNames(c *x509.Certificate) []string {
	names := make([]string, 0, len(c.DNSNames)+len(c.EmailAddresses)+len(c.URIs)+1)
	for _, n := range c.DNSNames {
		names = append(names, strings.ToLower(n))
	}
	for _, n := range c.EmailAddresses {
		names = append(names, strings.ToLower(n))
	}
	for _, u := range c.URIs {
		names = append(names, strings.ToLower(u.String()))
	}
	if cn := c.Subject.CommonName; cn != "" {
		names = append(names, strings.ToLower(cn))
	}
	return names
}

// allows reports whether c carries a name m's allowedSans allow.
func (m *mutualTLS) allows(c *x509.Certificate) bool {
	if len(m.sans) == 0 {
		return true
	}
	for _, name := range certNames(c) {
		for _, p := range m.sans {
			if p.match(name) {
				return true
			}
		}
	}
	return false
}

// check verifies the client certificate r's connection presented: it must
// chain to the client CA in at most maxClientChain certificates, be valid
// at now and be meant for client authentication, and carry an allowed
// name. It returns the certificate, or the refusal.
func (m *mutualTLS) check(r *http.Request, now time.Time) (*x509.Certificate, *httpError) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, mtlsRefusal(codeMTLSInvalid, reasonCertMissing, "the client presented no certificate", nil)
	}
	peers := r.TLS.PeerCertificates
	leaf := peers[0]
	if len(peers) > maxPresentedCerts {
		return nil, mtlsRefusal(codeMTLSInvalid, reasonCertInvalid, "the client sent "+strconv.Itoa(len(peers))+
			" certificates; at most "+strconv.Itoa(maxPresentedCerts)+" are read", leaf)
	}
	opts := x509.VerifyOptions{Roots: m.roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if len(peers) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range peers[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		e := mtlsRefusal(codeMTLSInvalid, reasonCertInvalid, "the client certificate does not verify against the client CA: "+err.Error(), leaf)
		e.cause = err
		return nil, e
	}
	shortest := len(chains[0])
	for _, chain := range chains[1:] {
		shortest = min(shortest, len(chain))
	}
	if shortest > maxClientChain {
		return nil, mtlsRefusal(codeMTLSInvalid, reasonCertInvalid, "the client certificate's chain to the client CA holds "+
			strconv.Itoa(shortest)+" certificates; at most "+strconv.Itoa(maxClientChain)+" are allowed", leaf)
	}
	if !m.allows(leaf) {
		e := mtlsRefusal(codeMTLSSanInvalid, reasonCertSanNotAllowed, "the client certificate carries no name allowedSans allows", leaf)
		e.attrs = append(e.attrs, slog.String("names", bounded(strings.Join(certNames(leaf), ", "))))
		return nil, e
	}
	return leaf, nil
}

// mtlsRefusal is the 401 of a client certificate that is missing or fails
// the deployment's mutual TLS; the log names the certificate (subject,
// issuer, serial), never more of it. There is no WWW-Authenticate: HTTP
// has no scheme for a TLS client certificate.
func mtlsRefusal(code string, why reason, detail string, cert *x509.Certificate) *httpError {
	return &httpError{status: http.StatusUnauthorized, code: code, reason: why, detail: detail, level: slog.LevelInfo,
		attrs: certAttrs(cert)}
}

// certAttrs name a client certificate in the log; none for nil.
func certAttrs(cert *x509.Certificate) []slog.Attr {
	if cert == nil {
		return nil
	}
	return []slog.Attr{
		slog.String("subject", bounded(cert.Subject.String())),
		slog.String("issuer", bounded(cert.Issuer.String())),
		slog.String("serial", bounded(cert.SerialNumber.Text(16))),
	}
}

// mtlsUnchecked reports whether the mutual TLS step lets r pass unchecked:
// a CORS preflight the gateway answers itself (browsers send preflights
// without credentials, and a TLS client certificate is one: the README's
// "Mutual TLS"), or a Decide call without a connection, which records a
// warning instead.
func mtlsUnchecked(r *http.Request, ex *exchange) bool {
	if ex.preflight {
		return true
	}
	if ex.decision != nil && r.TLS == nil {
		ex.decision.Warnings = append(ex.decision.Warnings,
			"mutual TLS is not checked offline: a request to this deployment must present a client certificate that chains to the client CA")
		return true
	}
	return false
}

// withMutualTLS is the first deciding step of every route of a deployment
// with mutual TLS on (only the CORS headers' writer wraps it, so a refusal
// carries them, as every refusal of a route with a cors policy does). The
// verified certificate is kept on the exchange for
// ${request.cert[client_base64]}.
func (g *Gateway) withMutualTLS(m *mutualTLS, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		if mtlsUnchecked(r, ex) {
			next.ServeHTTP(w, r)
			return
		}
		leaf, e := m.check(r, g.now())
		if e != nil {
			g.writeError(w, ex, e)
			return
		}
		ex.clientCert = leaf
		if ex.decision == nil && ex.dep.allowed.mutualTLS != nil {
			ex.dep.allowed.mutualTLS.Inc()
		}
		if base64.StdEncoding.EncodedLen(len(leaf.Raw)) > maxClientCertBase64 {
			g.logRejection(ex, &httpError{code: codeClientCertConversion, reason: reasonCertTooLarge, level: slog.LevelWarn,
				detail: "Base 64 Certificate Size greater than 8KB: ${request.cert[client_base64]} is not set",
				attrs:  certAttrs(leaf)})
		}
		next.ServeHTTP(w, r)
	})
}

// refuseUnrouted writes e, a refusal before a route is known (a bad path,
// no route, a method the route does not take), unless the deployment has
// mutual TLS on and the request fails it: then that 401 is the answer, so
// a client without a valid certificate learns nothing of the routes.
func (g *Gateway) refuseUnrouted(w http.ResponseWriter, r *http.Request, ex *exchange, e *httpError) {
	if ex.dep != nil && ex.dep.mtls != nil && !mtlsUnchecked(r, ex) {
		if _, refusal := ex.dep.mtls.check(r, g.now()); refusal != nil {
			e = refusal
		}
	}
	g.writeError(w, ex, e)
}

// clientCertBase64 is ${request.cert[client_base64]}: the verified client
// certificate's DER in standard base64. ok is false when there is none (a
// deployment without mutual TLS ignores client certificates) and when the
// encoding is over 8 KB, which OCI leaves unset (the mutual TLS step
// logged a warning then).
func (ex *exchange) clientCertBase64() (string, bool) {
	if ex.clientCert == nil || base64.StdEncoding.EncodedLen(len(ex.clientCert.Raw)) > maxClientCertBase64 {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(ex.clientCert.Raw), true
}
