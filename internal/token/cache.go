package token

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/keygate/keygate/internal/keys"
)

// cacheShards spreads the cache over independent locks, so concurrent
// requests rarely wait on one another.
const cacheShards = 32

// Cache remembers tokens a Verifier accepted, so that a client sending the
// same token again costs a hash and a map lookup instead of a signature
// verification. It is bounded in entries; an entry is used only while the
// token is still within exp (and past nbf) and its key is still the one its
// key set returns for the kid, so a key removed from a JWKS stops verifying
// cached tokens with the refresh that drops it. Rejections are never
// cached. One Cache may serve several Verifiers: entries are keyed by
// verifier as well as by token, since each has its own policy.
type Cache struct {
	shards       [cacheShards]cacheShard
	perShard     int
	hits, misses atomic.Uint64
	verifiers    atomic.Uint64
}

type cacheShard struct {
	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	verifier uint64
	sum      [sha256.Size]byte
}

type cacheEntry struct {
	tok *Token
	key *keys.Key
	// exp and nbf bound the use of the entry (nbf zero when absent), with
	// the verifier's skew already applied.
	exp, nbf time.Time
}

// NewCache returns a cache of at most entries tokens, or nil (no caching)
// when entries is 0 or less.
func NewCache(entries int) *Cache {
	if entries <= 0 {
		return nil
	}
	c := &Cache{perShard: max(entries/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].entries = make(map[cacheKey]cacheEntry)
	}
	return c
}

// Stats returns the number of hits and misses so far.
func (c *Cache) Stats() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// Len returns the number of cached tokens.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// Purge forgets every entry (a configuration reload).
func (c *Cache) Purge() {
	if c == nil {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.entries)
		s.mu.Unlock()
	}
}

// UseCache makes v remember the tokens it accepts in c (nil: no caching).
// Call it before v is shared.
func (v *Verifier) UseCache(c *Cache) {
	v.cache = c
	if c != nil {
		v.cacheID = c.verifiers.Add(1)
	}
}

func (c *Cache) shard(k cacheKey) *cacheShard {
	return &c.shards[k.sum[0]%cacheShards]
}

// lookup returns the cached token for k if it is still good at now and its
// key is still current in resolver.
func (c *Cache) lookup(k cacheKey, now time.Time, resolver keys.Resolver) *Token {
	s := c.shard(k)
	s.mu.Lock()
	e, ok := s.entries[k]
	s.mu.Unlock()
	if ok && now.Before(e.exp) && !now.Before(e.nbf) {
		if key, err := resolver.Key(e.tok.Header.KeyID); err == nil && key == e.key {
			c.hits.Add(1)
			return e.tok
		}
	}
	if ok {
		s.mu.Lock()
		delete(s.entries, k)
		s.mu.Unlock()
	}
	c.misses.Add(1)
	return nil
}

// store remembers an accepted token. A full shard first drops an expired
// entry if it finds one among a few, else an arbitrary one.
func (c *Cache) store(k cacheKey, e cacheEntry, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= c.perShard {
		evicted, looked := false, 0
		for old, oe := range s.entries {
			if !now.Before(oe.exp) {
				delete(s.entries, old)
				evicted = true
				break
			}
			if looked++; looked == 8 {
				break
			}
		}
		if !evicted {
			for old := range s.entries {
				delete(s.entries, old)
				break
			}
		}
	}
	s.entries[k] = e
}

// verifyCached is Verify with the cache in front.
func (v *Verifier) verifyCached(raw string) (*Token, error) {
	// Hashing the string's bytes in place spares a copy of the token per
	// request; Sum256 only reads them.
	k := cacheKey{verifier: v.cacheID, sum: sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))}
	now := v.now()
	if tok := v.cache.lookup(k, now, v.keys); tok != nil {
		return tok, nil
	}
	tok, errs := v.run(raw, false)
	if len(errs) > 0 {
		return tok, errs[0]
	}
	key, err := v.keys.Key(tok.Header.KeyID)
	if err != nil {
		return tok, nil // verified a moment ago; just not worth caching
	}
	exp, _ := numericDate(tok.Claims["exp"])
	e := cacheEntry{tok: tok, key: key, exp: exp.Add(v.skew)}
	if nbf, ok := numericDate(tok.Claims["nbf"]); ok {
		e.nbf = nbf.Add(-v.skew)
	}
	v.cache.store(k, e, now)
	return tok, nil
}
