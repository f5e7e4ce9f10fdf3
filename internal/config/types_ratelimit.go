package config

// RateLimitingPolicy is a deployment's rateLimiting (OCI's
// RateLimitingPolicy): how many requests per second its routes take
// together, from everyone or from each client address.
type RateLimitingPolicy struct {
	// RateInRequestsPerSecond is the rate, at least 1. Required.
	RateInRequestsPerSecond int `json:"rateInRequestsPerSecond"`
	// RateKey is TOTAL (all clients together) or CLIENT_IP (each IPv4
	// address, each IPv6 /64). Required.
	RateKey string `json:"rateKey"`
}

// Rate limiting keys.
const (
	RateKeyTotal    = "TOTAL"
	RateKeyClientIP = "CLIENT_IP"
)
