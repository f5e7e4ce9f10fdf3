package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Response cache log codes: OCI's, and keygate's for the end of an outage.
const (
	codeCacheHit           = "responseCache.lookupResultSuccess"
	codeCacheMiss          = "responseCache.lookupResultNotFound"
	codeCacheLookupAborted = "responseCache.lookupAborted"
	codeCacheStored        = "responseCache.backendResponseStoredInCache"
	codeCacheStoreAborted  = "responseCache.backendResponseStorageAborted"
	codeCacheRestored      = "responseCache.connectionRestored"
)

// cacheOutageMerge is how soon after an outage's end a new failure
// counts as the same outage (the log says nothing more of it).
const cacheOutageMerge = 5 * time.Second

// cacheRetryInterval is how long the cache is left alone after it failed:
// requests bypass it at once instead of each waiting for a timeout, and
// then one request tries it again.
const cacheRetryInterval = time.Second

// ResponseCache is the connection to the server of keygate's responseCache
// (OCI's external RESP cache). It outlives reloads, like the key sets.
// When the server fails, requests bypass the cache (they are answered by
// the backend, never refused): the outage is logged when it starts and
// when it ends, and every failed command is counted.
type ResponseCache struct {
	client   redis.UniversalClient
	log      *slog.Logger
	prefix   string
	maxEntry int
	// timeout bounds one command from the request's side (the client's
	// own dial, read and write timeouts bound each step).
	timeout time.Duration
	now     func() time.Time
	// retryAt is when a failed server may be tried again (unix nanos);
	// 0 while it answers.
	retryAt atomic.Int64
	// failing is set during an outage, so that it logs once.
	failing atomic.Bool
	// restoredAt is when the last outage's end was logged (unix nanos);
	// relapse: a failure soon after it (stale pooled connections to the
	// restarted server) is the same outage, logged neither way.
	restoredAt atomic.Int64
	relapse    atomic.Bool
	errors     atomic.Uint64
}

// ResponseCacheOptions tune a ResponseCache.
type ResponseCacheOptions struct {
	// KeyPrefix starts every key. Default "keygate:rc:".
	KeyPrefix string
	// MaxEntryBytes bounds one stored response. Default 1 MiB.
	MaxEntryBytes int
	// Timeout bounds one command as a whole. Default 3s (OCI's three
	// timeouts of 1s each).
	Timeout time.Duration
	// Logger receives the outage lines. Default: discard.
	Logger *slog.Logger
	// Now is the clock of stored entries' age. Default time.Now.
	Now func() time.Time
}

// NewResponseCache uses client as the response cache. The client should
// not retry (MaxRetries -1): a request waits for one attempt at most.
func NewResponseCache(client redis.UniversalClient, opts ResponseCacheOptions) *ResponseCache {
	c := &ResponseCache{client: client, log: opts.Logger, prefix: opts.KeyPrefix, maxEntry: opts.MaxEntryBytes,
		timeout: opts.Timeout, now: opts.Now}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.prefix == "" {
		c.prefix = "keygate:rc:"
	}
	if c.maxEntry <= 0 {
		c.maxEntry = 1 << 20
	}
	if c.timeout <= 0 {
		c.timeout = 3 * time.Second
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Errors counts the commands the server did not answer (for metrics).
func (c *ResponseCache) Errors() uint64 {
	if c == nil {
		return 0
	}
	return c.errors.Load()
}

// errCacheUnavailable is a command not sent because the server failed a
// moment ago.
var errCacheUnavailable = errors.New("the response cache failed recently; bypassed until it is retried")

// usable reports whether a command may be sent now: always while the
// server answers; after a failure, not until cacheRetryInterval passed,
// and then by one request, which tries it for everyone.
func (c *ResponseCache) usable() bool {
	at := c.retryAt.Load()
	if at == 0 {
		return true
	}
	now := c.now().UnixNano()
	if now < at {
		return false
	}
	return c.retryAt.CompareAndSwap(at, now+int64(cacheRetryInterval))
}

// get fetches the entry at key: (nil, nil) when there is none.
func (c *ResponseCache) get(ctx context.Context, key string) ([]byte, error) {
	if !c.usable() {
		return nil, errCacheUnavailable
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	b, err := c.client.Get(ctx, c.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		c.answered()
		return nil, nil
	}
	if err != nil {
		c.failed(err, codeCacheLookupAborted)
		return nil, err
	}
	c.answered()
	return b, nil
}

// set stores entry at key for ttl.
func (c *ResponseCache) set(ctx context.Context, key string, entry []byte, ttl time.Duration) error {
	if !c.usable() {
		return errCacheUnavailable
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	if err := c.client.Set(ctx, c.prefix+key, entry, ttl).Err(); err != nil {
		c.failed(err, codeCacheStoreAborted)
		return err
	}
	c.answered()
	return nil
}

// failed records a command the server did not answer: counted, the server
// left alone for a moment, and the first failure of an outage logged.
func (c *ResponseCache) failed(err error, code string) {
	c.errors.Add(1)
	c.retryAt.Store(c.now().Add(cacheRetryInterval).UnixNano())
	if !c.failing.Swap(true) {
		if at := c.restoredAt.Load(); at != 0 && c.now().UnixNano()-at < int64(cacheOutageMerge) {
			c.relapse.Store(true)
			return
		}
		c.log.Warn("response cache: the server does not answer; requests bypass the cache until it does",
			"code", code, "reason", "cache_unavailable", "error", err.Error())
	}
}

// answered records a command the server answered, ending an outage.
func (c *ResponseCache) answered() {
	if c.retryAt.Load() != 0 {
		c.retryAt.Store(0)
	}
	if c.failing.Load() && c.failing.Swap(false) {
		if c.relapse.Swap(false) {
			return
		}
		c.restoredAt.Store(c.now().UnixNano())
		c.log.Info("response cache: the server answers again; caching resumes", "code", codeCacheRestored)
	}
}
