package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// clientCAFlag is how problems with WithClientCA's file are located.
const clientCAFlag = "--tls-client-ca"

// clientCA loads the client CA file that WithClientCA names, else the one
// the gateway file's tls.clientCA names (relative to dir), into g.ClientCA,
// and records what a deployment with mutual TLS on can count on. It runs
// before the deployments are checked, which need to know.
func (c *checker) clientCA(g *Gateway, dir string) {
	c.serving = &servingFacts{plainHTTP: c.plainHTTP}
	var name, file, path, problemFile string
	switch {
	case c.clientCAFlag != "":
		name, file, path = c.clientCAFlag, c.clientCAFlag, clientCAFlag
	case g.TLS != nil && g.TLS.ClientCA != "":
		name, file, path, problemFile = g.TLS.ClientCA, g.TLS.ClientCA, "tls.clientCA", c.file
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
	default:
		return
	}
	c.serving.clientCA = true
	add := func(message string) {
		c.probs = append(c.probs, Problem{File: problemFile, Path: path, Message: message})
	}
	data, err := readFile(file)
	if err != nil {
		msg := readMessage(name, err)
		if errors.Is(err, fs.ErrNotExist) && path == clientCAFlag {
			msg = fmt.Sprintf("cannot read %q: file does not exist; check the path", name)
		}
		add(msg)
		return
	}
	certs, problems := parseClientCA(data)
	for _, p := range problems {
		add(fmt.Sprintf("%q: %s", name, p))
	}
	if len(problems) == 0 {
		g.ClientCA = &ClientCA{File: file, Certificates: certs}
	}
}

// parseClientCA reads PEM CA certificates. Text around the blocks (the
// subject lines openssl writes) is skipped; any other block, a certificate
// that does not parse or one that is no CA is a problem, as is a file
// without a certificate. The certificates count only when there is no
// problem.
func parseClientCA(data []byte) ([]*x509.Certificate, []string) {
	var certs []*x509.Certificate
	var problems []string
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			problems = append(problems, fmt.Sprintf("PEM block %d is %q, not \"CERTIFICATE\"; keep only the CA certificates in the file (never a key)", n, block.Type))
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			problems = append(problems, fmt.Sprintf("certificate %d cannot be parsed (%v); give the CA certificate as the CA issued it", n, err))
			continue
		}
		if !cert.BasicConstraintsValid || !cert.IsCA {
			problems = append(problems, fmt.Sprintf("certificate %d (subject %q) is not a CA certificate (no basic constraints CA:TRUE); give the certificate of the CA that issues the client certificates, not a client's own", n, cert.Subject.String()))
			continue
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 && len(problems) == 0 {
		problems = append(problems, "holds no PEM certificate; give the CA certificates that issue the client certificates, in PEM (-----BEGIN CERTIFICATE-----)")
	}
	return certs, problems
}
