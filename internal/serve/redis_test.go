package serve

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// TestResponseCacheClientOptions: keygate's responseCache maps onto the
// client as documented: OCI's three timeouts, one dial, no retry, TLS with
// the server's name, and the secret's username and password.
func TestResponseCacheClientOptions(t *testing.T) {
	read := 250
	cfg := &config.Gateway{
		ResponseCache: &config.ResponseCache{Type: config.ResponseCacheExternal,
			Servers:         []config.CacheServer{{Host: "cache.internal", Port: 6380}},
			IsSslEnabled:    true,
			ReadTimeoutInMs: &read, AuthenticationSecretId: "ocid1.vaultsecret.oc1..c"},
		Secrets: []config.Secret{{ID: "ocid1.vaultsecret.oc1..c"}},
	}
	if _, err := responseCacheClient(cfg, &atomic.Pointer[cacheCredentials]{}); err == nil {
		t.Error("an empty secret value was taken")
	}
	cfg.Secrets = nil
	if _, err := responseCacheClient(cfg, &atomic.Pointer[cacheCredentials]{}); err == nil {
		t.Error("a secret missing from the list was taken")
	}
	cfg.ResponseCache.AuthenticationSecretId = ""
	var creds atomic.Pointer[cacheCredentials]
	client, err := responseCacheClient(cfg, &creds)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	o := client.Options()
	if o.Addr != "cache.internal:6380" || o.DialTimeout != time.Second || o.ReadTimeout != 250*time.Millisecond ||
		o.WriteTimeout != time.Second || o.PoolTimeout != time.Second || o.MaxRetries != 0 || o.DialerRetries != 1 {
		t.Errorf("options: addr %s dial %v read %v write %v pool %v retries %d dial retries %d",
			o.Addr, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries, o.DialerRetries)
	}
	if o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.internal" || o.TLSConfig.InsecureSkipVerify {
		t.Errorf("TLS: %+v", o.TLSConfig)
	}
	creds.Store(&cacheCredentials{username: "gw", password: "pw"})
	if user, pass := o.CredentialsProvider(); user != "gw" || pass != "pw" {
		t.Errorf("CredentialsProvider = %q, %q; want the credentials last stored", user, pass)
	}
	cfg.ResponseCache.Type = config.ResponseCacheNone
	if c, err := responseCacheClient(cfg, &creds); c != nil || err != nil {
		t.Errorf("type NONE: %v, %v; want no client", c, err)
	}
}
