package gateway

import (
	"crypto/x509"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// useClientCA makes ca the client CA of g's deployments with mutual TLS
// on. A CA certificate that is not valid at start is named in the log: the
// client certificates it issued are refused while it is not.
func (g *Gateway) useClientCA(ca *config.ClientCA) {
	g.clientCAs = x509.NewCertPool()
	g.clientCAFile = ca.File
	now := g.now()
	for _, cert := range ca.Certificates {
		g.clientCAs.AddCert(cert)
		g.clientCASubjects = append(g.clientCASubjects, cert.Subject.String())
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			g.log.Warn("mutual TLS: a client CA certificate is not valid now; client certificates it issued are refused",
				"file", ca.File, "subject", cert.Subject.String(),
				"notBefore", cert.NotBefore.UTC().Format(time.RFC3339), "notAfter", cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
}

// mutualTLS compiles a deployment's mutualTls: nil when it is off (its
// allowedSans are then ignored; validation warned), with the summary either
// way.
func (c *compiler) mutualTLS(m *config.MutualTLS, src config.Source) (*mutualTLS, *MutualTLSSummary) {
	const at = "requestPolicies.mutualTls"
	summary := &MutualTLSSummary{Required: m.Enabled(), AllowedSans: m.AllowedSans}
	if !m.Enabled() {
		return nil, summary
	}
	if c.g.clientCAs == nil {
		// The loaders refuse this with the same words; a configuration
		// built another way must not serve a deployment that checks nothing.
		if c.cfg != nil {
			c.problem(src, at+".isVerifiedCertificateRequired", "mutual TLS is on but keygate has no client CA to verify certificates against (OCI keeps it on the gateway, as caBundles); give serve --tls-client-ca FILE with the CA certificates in PEM, or set tls.clientCA in the config file")
		}
		return nil, summary
	}
	summary.ClientCA, summary.CAs = c.g.clientCAFile, c.g.clientCASubjects
	mt := &mutualTLS{roots: c.g.clientCAs}
	for _, san := range m.AllowedSans {
		mt.sans = append(mt.sans, compileSanPattern(san))
	}
	c.g.requestClientCerts = true
	return mt, summary
}
