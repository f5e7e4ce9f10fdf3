package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// CertReloader serves a TLS certificate from files and picks up a renewed
// one (cert-manager, a Kubernetes Secret update) without a restart.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
	stamp             string // the files' sizes and mtimes at the last load
}

// NewCertReloader loads the key pair once; a bad pair is an error at start.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertReloader) load() error {
	stamp, err := c.fileStamp()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls key pair %s, %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert)
	c.stamp = stamp
	return nil
}

func (c *CertReloader) fileStamp() (string, error) {
	var stamp string
	for _, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}

// Run checks the files every interval until ctx is done and reloads them
// when they change; a bad new pair keeps the old one serving.
func (c *CertReloader) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := c.fileStamp()
		if err != nil || stamp == c.stamp {
			continue
		}
		if err := c.load(); err != nil {
			c.log.Error("tls certificate reload failed; the old certificate stays in use", "error", err.Error())
			c.stamp = stamp // do not retry a broken pair every tick
			continue
		}
		c.log.Info("tls certificate reloaded", "cert", c.certFile)
	}
}

// Config returns the listener's TLS configuration: TLS 1.2 at least, HTTP/2
// and HTTP/1.1 offered, the current certificate on every handshake.
func (c *CertReloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
}
