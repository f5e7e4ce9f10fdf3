package serve

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keygate/keygate/internal/config"
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
