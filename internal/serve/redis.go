package serve

import (
	"fmt"
	"os"
	"strings"

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
	return redis.NewClient(opts), nil
}
