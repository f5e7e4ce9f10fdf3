package gateway

import "testing"

// TestAuthorizerCacheKeysDoNotCollide: the parts of a key are told apart
// whatever bytes they hold.
func TestAuthorizerCacheKeysDoNotCollide(t *testing.T) {
	c := newAuthorizerCache(1)
	keys := map[cacheKey]string{}
	for name, parts := range map[string][]string{
		"one value with NUL":     {"state", "1", "a\x00b"},
		"two values":             {"state", "2", "a", "b"},
		"name and value swapped": {"a", "1", "state"},
		"empty":                  {},
		"an empty part":          {""},
		"joined":                 {"statea"},
	} {
		k := c.key("U", parts...)
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s have the same key", name, other)
		}
		keys[k] = name
	}
	if c.key("T", "x") == c.key("U", "x") {
		t.Error("a TOKEN and a USER_DEFINED input have the same key")
	}
	if newAuthorizerCache(1).key("T", "x") == c.key("T", "x") {
		t.Error("two caches hash alike: the salt is missing")
	}
}
