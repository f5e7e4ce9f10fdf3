package oidc

import (
	"container/list"
	"context"
	"crypto/sha256"
	"sync"
	"time"
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
	max int

	mu       sync.Mutex
	entries  map[tokenKey]*list.Element
	order    *list.List // front: most recently used
	inflight map[tokenKey]*pending
}

type cached struct {
	key   tokenKey
	a     *answer
	until time.Time
}

type pending struct {
	done chan struct{}
	a    *answer
	err  error
}

func newAnswerCache(max int) *answerCache {
	return &answerCache{max: max, entries: map[tokenKey]*list.Element{}, order: list.New(),
		inflight: map[tokenKey]*pending{}}
}

// get returns the answer for key if cached and not past its deadline.
func (c *answerCache) get(key tokenKey, now time.Time) (*answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cached)
	if !now.Before(e.until) {
		c.order.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.a, true
}

// put caches a until the deadline, evicting the least recently used entry
// when full.
func (c *answerCache) put(key tokenKey, a *answer, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		el.Value = &cached{key: key, a: a, until: until}
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cached).key)
	}
	c.entries[key] = c.order.PushFront(&cached{key: key, a: a, until: until})
}

// len returns the number of cached answers.
func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
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
