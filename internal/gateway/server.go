package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server limits. Header reads are bounded so a slow or huge request head
// cannot hold a connection (attack R9); a token is at most 16 KiB, so 64 KiB
// of headers leaves room for everything legitimate.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Server serves a Gateway on a listener and drains it on shutdown.
type Server struct {
	http *http.Server
	log  *slog.Logger
}

// NewServer returns a server for handler with keygate's limits.
func NewServer(handler http.Handler, log *slog.Logger) *Server {
	return &Server{
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		log: log,
	}
}

// UseTLS makes Serve speak TLS with cfg (HTTP/2 included; cfg lists the
// ALPN protocols, as CertReloader.Config does). When the handler is a
// Gateway or a Live, TLS clients are also asked for a certificate while a
// deployment has mutual TLS on (never required at the handshake: the
// deployment checks it).
func (s *Server) UseTLS(cfg *tls.Config) {
	if h, ok := s.http.Handler.(clientCertRequester); ok {
		base := cfg
		cfg = base.Clone()
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return h.clientCertTLS(base), nil
		}
	}
	s.http.TLSConfig = cfg
}

// Serve accepts connections on ln until ctx is done, then stops accepting,
// lets in-flight requests finish within drain, and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.ServeTLS(ln, "", "")
			return
		}
		errc <- s.http.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", slog.String("drain", drain.String()))
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := s.http.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("drain in-flight requests: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
