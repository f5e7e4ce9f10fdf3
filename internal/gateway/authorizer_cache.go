package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/lru"
)

// DefaultAuthorizerCacheEntries is how many verdicts one
// CUSTOM_AUTHENTICATION policy keeps when Options says nothing: a verdict
// is a few hundred bytes (its scopes and context), so a full cache holds a
// few megabytes.
const DefaultAuthorizerCacheEntries = 10000

// cacheKey is a request's authorizer cache key, hashed: the raw token or
// API key is never held as a map key (nor shows in a heap dump as one).
type cacheKey [sha256.Size]byte

// authorizerCache holds one authorizer policy's verdicts, least recently
// used first out when full, and the calls in flight, so that requests with
// the same uncached key wait for one call. It belongs to a compiled
// policy: a reload compiles a new one, so verdicts never outlive the
// configuration that asked for them.
type authorizerCache struct {
	// salt makes the hashes of one cache unlike any other's: a key cannot
	// be precomputed from a token.
	salt     [32]byte
	mu       sync.Mutex
	verdicts *lru.Cache[cacheKey, *authorizerVerdict] // each until it expires
	inflight map[cacheKey]*authorizerCall
}

// authorizerCall is one call of the function, shared by the requests that
// asked for its key while it ran; done is closed when verdict or err is set.
type authorizerCall struct {
	done    chan struct{}
	verdict *authorizerVerdict
	err     error
}

// newAuthorizerCache makes a cache of at most max verdicts
// (DefaultAuthorizerCacheEntries when max ≤ 0).
func newAuthorizerCache(max int) *authorizerCache {
	if max <= 0 {
		max = DefaultAuthorizerCacheEntries
	}
	c := &authorizerCache{verdicts: lru.New[cacheKey, *authorizerVerdict](max), inflight: map[cacheKey]*authorizerCall{}}
	_, _ = rand.Read(c.salt[:]) // never fails (crypto/rand)
	return c
}

// key hashes the parts of a cache key, each length-prefixed so that no two
// lists of parts hash the same input; kind tells the forms apart.
func (c *authorizerCache) key(kind string, parts ...string) cacheKey {
	var stack [512]byte
	b := append(stack[:0], c.salt[:]...)
	b = append(b, kind...)
	for _, p := range parts {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(p)))
		b = append(b, p...)
	}
	return sha256.Sum256(b)
}

// get returns the verdict cached for k, or nil when there is none or it
// expired by now (then it is dropped).
func (c *authorizerCache) get(k cacheKey, now time.Time) *authorizerVerdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, _ := c.verdicts.Get(k, now)
	return v
}

// join returns the call in flight for k, or starts one: leader is true for
// the request that must make it (and then call finish).
func (c *authorizerCache) join(k cacheKey) (call *authorizerCall, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call, ok := c.inflight[k]; ok {
		return call, false
	}
	call = &authorizerCall{done: make(chan struct{})}
	c.inflight[k] = call
	return call, true
}

// finish ends call: a verdict is cached (a failure is not), and every
// request waiting on the call gets the outcome.
func (c *authorizerCache) finish(k cacheKey, call *authorizerCall, v *authorizerVerdict, err error) {
	c.mu.Lock()
	delete(c.inflight, k)
	if err == nil {
		c.verdicts.Put(k, v, v.expires)
	}
	c.mu.Unlock()
	call.verdict, call.err = v, err
	close(call.done)
}

// len returns how many verdicts are cached.
func (c *authorizerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verdicts.Len()
}
