package oidc

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/lru"
)

// tokenKey is a token's SHA-256: the cache never holds a token.
type tokenKey [sha256.Size]byte

func hashToken(tok string) tokenKey { return sha256.Sum256([]byte(tok)) }

// answer is an active, checked introspection answer.
type answer struct {
	claims map[string]any
	expiry time.Time
}

// answerCache holds active answers until their deadline, at most max of
// them (least recently used out first), and runs one call per key at a
// time for concurrent askers.
type answerCache struct {
	mu       sync.Mutex
	answers  *lru.Cache[tokenKey, *answer]
	inflight map[tokenKey]*pending
}

type pending struct {
	done chan struct{}
	a    *answer
	err  error
}

func newAnswerCache(max int) *answerCache {
	return &answerCache{answers: lru.New[tokenKey, *answer](max), inflight: map[tokenKey]*pending{}}
}

// get returns the answer for key if cached and not past its deadline.
func (c *answerCache) get(key tokenKey, now time.Time) (*answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answers.Get(key, now)
}

// put caches a until the deadline, evicting the least recently used entry
// when full.
func (c *answerCache) put(key tokenKey, a *answer, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers.Put(key, a, until)
}

// len returns the number of cached answers.
func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answers.Len()
}

// do runs call for key, or waits for the call already running for it;
// a waiter gives up when ctx is done.
func (c *answerCache) do(ctx context.Context, key tokenKey, call func() (*answer, error)) (*answer, error) {
	c.mu.Lock()
	if p, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-p.done:
			return p.a, p.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p := &pending{done: make(chan struct{})}
	c.inflight[key] = p
	c.mu.Unlock()
	p.a, p.err = call()
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
	close(p.done)
	return p.a, p.err
}

// CacheSize returns the number of answers cached (metrics, tests).
func (i *Introspector) CacheSize() int { return i.cache.len() }
