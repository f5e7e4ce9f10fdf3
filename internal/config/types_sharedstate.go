package config

// SharedState is where replicas of keygate keep what they must share: rate
// limit counters, and usage plans' rate limits and quotas.
type SharedState struct {
	// Redis is a Redis (or Redis-compatible) server every replica uses.
	// Default nil: each replica counts on its own.
	Redis *RedisSettings `json:"redis,omitempty"`
}

// RedisSettings locate a Redis server.
type RedisSettings struct {
	// URL is redis://host:port/db or rediss://host:port/db (TLS). Required.
	URL string `json:"url"`
	// PasswordFile holds the password, relative to the config file.
	// Default "": PasswordEnv, or none.
	PasswordFile string `json:"passwordFile,omitempty"`
	// PasswordEnv names the environment variable holding the password.
	// Default "".
	PasswordEnv string `json:"passwordEnv,omitempty"`
	// TimeoutMillis bounds one decision's round trip; past it the replica
	// decides alone (see the README). Default 100.
	TimeoutMillis int `json:"timeoutMillis,omitempty"`
}
