// Package agent is keygate's client-side sidecar: it keeps a fresh signed
// assertion at hand (Source), writes it to a file for apps that read one
// (WriteFile), and forwards an app's requests upstream with the token added
// (NewProxy), with health and metrics for an admin listener (AdminHandler).
// It signs through a Minter the caller builds, so it never sees a key.
package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"context"
)

// Minter makes one fresh token at now and returns it with its expiry.
type Minter func(now time.Time) (token string, expires time.Time, err error)

// ErrNoToken means the source holds no token that is still valid, because
// signing has failed since the last one expired.
var ErrNoToken = errors.New("no valid token")

// Config configures a Source.
type Config struct {
	// Mint makes the tokens. Required.
	Mint Minter
	// RenewBefore is how long before its expiry a token is replaced.
	// Default: half of each token's lifetime, so the token in use always
	// has half its life left for the network, a busy machine and the
	// other side's clock. A token is never handed out with less than this
	// left while signing works. At most half the lifetime is used.
	RenewBefore time.Duration
	// OnToken is called with each new token, e.g. to write it to a file;
	// its error is logged and counted, and the token is used anyway.
	// Default: nothing.
	OnToken func(token string, expires time.Time) error
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Metrics counts tokens and failures. Default: not counted.
	Metrics *Metrics
	// Logger gets a line per renewal failure. Default: discarded.
	Logger *slog.Logger
}

// Source keeps a fresh token: Run renews it ahead of its expiry, and Token
// renews on the spot if the timer ran late (a suspended VM, a slow HSM).
type Source struct {
	cfg Config

	signMu    sync.Mutex // one signing at a time
	deliverMu sync.Mutex // one OnToken at a time, outside signMu

	mu  sync.Mutex // guards cur
	cur held
}

// held is a token with its expiry and the time it is due for renewal.
type held struct {
	token            string
	expires, renewAt time.Time
}

// NewSource returns a source that has no token yet: call Refresh or Run.
func NewSource(cfg Config) (*Source, error) {
	if cfg.Mint == nil {
		return nil, errors.New("agent: no Mint")
	}
	if cfg.RenewBefore < 0 {
		return nil, fmt.Errorf("agent: renew-before %s is negative", cfg.RenewBefore)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Source{cfg: cfg}, nil
}

// Token returns a token with at least RenewBefore left, signing a new one
// if the held one is due. If signing fails it falls back to the held token
// while that has not expired, and otherwise returns an error wrapping
// ErrNoToken.
func (s *Source) Token() (string, error) {
	now := s.cfg.Now()
	cur := s.held()
	if cur.token != "" && now.Before(cur.renewAt) {
		return cur.token, nil
	}
	err := s.Refresh()
	cur = s.held()
	if cur.token != "" && now.Before(cur.expires) {
		return cur.token, nil
	}
	return "", fmt.Errorf("%w: %v", ErrNoToken, err)
}

// Expiry returns when the held token expires; the zero time if none.
func (s *Source) Expiry() time.Time { return s.held().expires }

// Ready reports whether a token that has not expired is held.
func (s *Source) Ready() bool {
	cur := s.held()
	return cur.token != "" && s.cfg.Now().Before(cur.expires)
}

func (s *Source) held() held {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Refresh signs a new token unless the held one is not yet due (another
// caller renewed it meanwhile), and delivers it to OnToken.
func (s *Source) Refresh() error {
	signed, err := s.sign()
	if signed {
		s.deliver()
	}
	return err
}

// sign signs a new token if the held one is due and reports whether it did.
func (s *Source) sign() (bool, error) {
	s.signMu.Lock()
	defer s.signMu.Unlock()
	now := s.cfg.Now()
	if cur := s.held(); cur.token != "" && now.Before(cur.renewAt) {
		return false, nil
	}
	tok, expires, err := s.cfg.Mint(now)
	if err == nil && !expires.After(now) {
		err = fmt.Errorf("the new token expires at %s, not after now", expires.UTC().Format(time.RFC3339))
	}
	if err != nil {
		s.cfg.Metrics.signFailed()
		return false, fmt.Errorf("sign: %w", err)
	}
	lifetime := expires.Sub(now)
	before := s.cfg.RenewBefore
	if before == 0 {
		before = lifetime / 2
	}
	// A renew-before as long as the token's life would renew forever.
	before = min(before, lifetime/2)
	s.mu.Lock()
	s.cur = held{token: tok, expires: expires, renewAt: expires.Add(-before)}
	s.mu.Unlock()
	s.cfg.Metrics.signed()
	return true, nil
}

// deliver hands the newest token to OnToken. It runs outside signMu, so a
// slow disk never holds up a request that needs a token, and it always
// delivers the newest token, so deliveries cannot land out of order.
func (s *Source) deliver() {
	if s.cfg.OnToken == nil {
		return
	}
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	cur := s.held()
	if err := s.cfg.OnToken(cur.token, cur.expires); err != nil {
		s.cfg.Metrics.writeFailed()
		s.cfg.Logger.Error("token not delivered", "error", err.Error())
	}
}

// Run renews the token ahead of its expiry until ctx is done. After a
// failure it retries with a backoff that starts at 100ms and doubles up to
// 30s, never sleeping past the held token's renewal time.
func (s *Source) Run(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		var wait time.Duration
		if err := s.Refresh(); err != nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), 30*time.Second)
			wait = backoff
			s.cfg.Logger.Warn("token renewal failed", "error", err.Error(), "retry_in", backoff.String(),
				"token_valid_for", max(s.held().expires.Sub(s.cfg.Now()), 0).String())
		} else {
			backoff = 0
			wait = s.held().renewAt.Sub(s.cfg.Now())
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
