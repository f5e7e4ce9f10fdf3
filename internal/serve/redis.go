package serve

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
)

// redisClient connects to the shared Redis of keygate's config (the
// connection is made lazily: a Redis down at start-up only means each
// replica limits on its own until it is up).
func redisClient(r *config.RedisSettings) (*redis.Client, error) {
	opts, err := redis.ParseURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("sharedState.redis.url: %w", err)
	}
	switch {
	case r.PasswordFile != "":
		b, err := os.ReadFile(r.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("sharedState.redis.passwordFile: %w", err)
		}
		opts.Password = strings.TrimRight(string(b), "\r\n")
	case r.PasswordEnv != "":
		opts.Password = os.Getenv(r.PasswordEnv)
	}
	opts.MaxRetries = -1 // a decision is bounded by its timeout; no retries inside it
	boundByTimeout(opts, time.Duration(r.TimeoutMillis)*time.Millisecond)
	return redis.NewClient(opts), nil
}

// boundByTimeout makes every step of a Redis call, connecting included,
// end at the decision's timeout (the context's, and timeout for each
// socket operation): go-redis ignores a context's deadline unless told,
// and by default waits 5 s to connect and 3 s for an answer, which a Redis
// that accepts connections but never answers (a dead host, a partition)
// would cost every request that asks it.
func boundByTimeout(opts *redis.Options, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeout, timeout, timeout
}

// responseCacheClient connects to the server of keygate's responseCache
// (OCI's EXTERNAL_RESP_CACHE): its one server, with TLS when isSslEnabled
// (the server's certificate verified against the system's roots unless
// isSslVerifyDisabled), OCI's three timeouts, and no retries: a request
// waits for one attempt at most, then bypasses the cache. A new connection
// authenticates with creds as they are then, so a reload that reads a
// rotated secret needs no restart. nil for type NONE or none.
func responseCacheClient(cfg *config.Gateway, creds *atomic.Pointer[cacheCredentials]) (*redis.Client, error) {
	rc := cfg.ResponseCache
	if rc == nil || rc.Type != config.ResponseCacheExternal || len(rc.Servers) != 1 {
		return nil, nil
	}
	c, err := responseCacheCredentials(cfg)
	if err != nil {
		return nil, err
	}
	creds.Store(c)
	server := rc.Servers[0]
	connect, read, send := rc.Timeouts()
	opts := &redis.Options{
		Addr:                  net.JoinHostPort(server.Host, strconv.Itoa(server.Port)),
		DialTimeout:           time.Duration(connect) * time.Millisecond,
		ReadTimeout:           time.Duration(read) * time.Millisecond,
		WriteTimeout:          time.Duration(send) * time.Millisecond,
		PoolTimeout:           time.Duration(connect) * time.Millisecond,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,    // one dial per attempt: connectTimeoutInMs bounds it, not five of them
		DisableIdentity:       true, // no CLIENT SETINFO: KeyDB and older servers refuse it
		CredentialsProvider: func() (string, string) {
			c := creds.Load()
			return c.username, c.password
		},
	}
	if rc.IsSslEnabled {
		opts.TLSConfig = &tls.Config{ServerName: server.Host, MinVersion: tls.VersionTLS12,
			InsecureSkipVerify: rc.IsSslVerifyDisabled} //nolint:gosec // isSslVerifyDisabled, set by the operator
	}
	return redis.NewClient(opts), nil
}

// cacheCredentials are the response cache's username and password.
type cacheCredentials struct{ username, password string }

// responseCacheCredentials reads them from the secret responseCache names
// (none without authenticationSecretId).
func responseCacheCredentials(cfg *config.Gateway) (*cacheCredentials, error) {
	rc := cfg.ResponseCache
	if rc == nil || rc.AuthenticationSecretId == "" {
		return &cacheCredentials{}, nil
	}
	secret, ok := cfg.Secret(rc.AuthenticationSecretId)
	if !ok {
		return nil, fmt.Errorf("responseCache.authenticationSecretId: secret %q is not in the secrets list", rc.AuthenticationSecretId)
	}
	user, password, err := config.CacheCredentials(secret.Reveal())
	if err != nil {
		return nil, fmt.Errorf("responseCache.authenticationSecretId: %w", err)
	}
	return &cacheCredentials{username: user, password: password}, nil
}

// responseCacheOptions are the gateway side of keygate's responseCache.
func responseCacheOptions(rc *config.ResponseCache, log *slog.Logger) gateway.ResponseCacheOptions {
	connect, read, send := rc.Timeouts()
	return gateway.ResponseCacheOptions{KeyPrefix: rc.KeyPrefix, MaxEntryBytes: rc.MaxEntryBytes, Logger: log,
		Timeout: time.Duration(connect+read+send) * time.Millisecond}
}

// redisLog puts the Redis client's own lines (a failed dial, a pool
// problem) into keygate's log instead of the process's stderr.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...), "reason", "redis_client")
}
