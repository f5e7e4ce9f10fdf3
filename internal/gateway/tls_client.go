package gateway

import "crypto/tls"

// clientCertRequester is a handler whose deployments may want TLS client
// certificates: *Gateway and *Live.
type clientCertRequester interface {
	// clientCertTLS returns the configuration of a handshake on a listener
	// configured with base: base asking for a client certificate, or nil
	// for base as it is.
	clientCertTLS(base *tls.Config) *tls.Config
}

var (
	_ clientCertRequester = (*Gateway)(nil)
	_ clientCertRequester = (*Live)(nil)
)

// derivedTLS is a listener configuration made from base.
type derivedTLS struct {
	base, config *tls.Config
}

// clientCertTLS asks TLS clients for a certificate (tls.RequestClientCert,
// naming the client CA's subjects so a client can pick its certificate)
// when a deployment has mutual TLS on, and never requires one: the
// deployment checks it and refuses with a 401 its log explains, where an
// aborted handshake would explain nothing. Without such a deployment
// clients are not asked, so browsers with certificates installed do not
// prompt their users.
func (g *Gateway) clientCertTLS(base *tls.Config) *tls.Config {
	if !g.requestClientCerts {
		return nil
	}
	if d := g.clientCertConfig.Load(); d != nil && d.base == base {
		return d.config
	}
	cfg := base.Clone()
	cfg.ClientAuth = tls.RequestClientCert
	cfg.ClientCAs = g.clientCAs
	g.clientCertConfig.Store(&derivedTLS{base: base, config: cfg})
	return cfg
}

func (l *Live) clientCertTLS(base *tls.Config) *tls.Config { return l.Current().clientCertTLS(base) }
