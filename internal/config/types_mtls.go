package config

import "crypto/x509"

// MutualTLS is a deployment's `mutualTls` (OCI's MutualTlsDetails): whether
// a client must present a certificate that chains to keygate's client CA,
// and which names that certificate may carry. Every export of a live OCI
// deployment holds it, switched off: {"isVerifiedCertificateRequired":
// false, "allowedSans": []}.
type MutualTLS struct {
	// IsVerifiedCertificateRequired turns mutual TLS on. Default false:
	// client certificates are ignored.
	IsVerifiedCertificateRequired bool `json:"isVerifiedCertificateRequired,omitempty"`
	// AllowedSans are the names of which a client certificate must carry
	// one (a DNS, email or URI SAN, or the subject CN), compared
	// case-insensitively; a '*' at the start and/or the end stands for any
	// characters. At most 10, each under 256 characters. Default []: any
	// certificate that chains to the client CA. Ignored, with a warning in
	// the log, while IsVerifiedCertificateRequired is false.
	AllowedSans []string `json:"allowedSans,omitempty"`
}

// Enabled reports whether m turns mutual TLS on; m may be nil.
func (m *MutualTLS) Enabled() bool { return m != nil && m.IsVerifiedCertificateRequired }

// GatewayTLS is the `tls` section of keygate's config file. The listener's
// own certificate is a serve flag (--tls-cert, --tls-key): the listener
// cannot change on a reload, while the deployments and their client CA can.
type GatewayTLS struct {
	// ClientCA is a PEM file of the CA certificates that client
	// certificates must chain to on deployments with mutualTls on (OCI keeps
	// them on the gateway resource as caBundles), relative to the config
	// file. serve --tls-client-ca replaces it. Default "": none, and a
	// deployment with mutual TLS on is refused.
	ClientCA string `json:"clientCA,omitempty"`
}

// ClientCA is a loaded client CA file.
type ClientCA struct {
	// File is the file the certificates were read from, as the loader
	// opened it (relative to the working directory, or absolute).
	File string
	// Certificates are the file's CA certificates, in file order; at least
	// one.
	Certificates []*x509.Certificate
}
