package token

import (
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
)

// cachedVerifier is a test verifier with a cache and a movable clock.
func cachedVerifier(t *testing.T, size int) (*Verifier, *mapResolver, *Cache, *time.Time) {
	t.Helper()
	now := testNow
	r := newResolver(loadFixture())
	v := NewVerifier(r, testPolicy(), func() time.Time { return now })
	c := NewCache(size)
	v.UseCache(c)
	return v, r, c, &now
}

func TestCacheHitSkipsVerification(t *testing.T) {
	v, r, c, _ := cachedVerifier(t, 100)
	raw := signKid(t, "rs256", validClaims())
	for i := 0; i < 3; i++ {
		tok, err := v.Verify(raw)
		if err != nil || tok.Claims.Subject() != "client-1" {
			t.Fatalf("verify #%d: %v, %v", i, tok, err)
		}
	}
	if hits, misses := c.Stats(); hits != 2 || misses != 1 {
		t.Fatalf("hits, misses = %d, %d; want 2, 1", hits, misses)
	}
	// A hit still asks the key set whether the key is current.
	if got := r.lookups.Load(); got != 4 {
		t.Errorf("resolver lookups = %d, want 4 (verify, store, two hits)", got)
	}
}

func TestCacheEntryDies(t *testing.T) {
	tests := []struct {
		name    string
		change  func(r *mapResolver, now *time.Time)
		wantErr error
	}{
		{"key removed from the set", func(r *mapResolver, _ *time.Time) { delete(r.keys, "rs256") }, ErrUnknownKID},
		{"key replaced under the same kid", func(r *mapResolver, _ *time.Time) {
			f := loadFixture()
			r.keys["rs256"] = &keys.Key{ID: "rs256", Algorithm: "RS256", Public: f.attacker.Public()}
		}, ErrBadSignature},
		{"token expired", func(_ *mapResolver, now *time.Time) { *now = now.Add(2 * time.Hour) }, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, r, _, now := cachedVerifier(t, 100)
			raw := signKid(t, "rs256", validClaims())
			if _, err := v.Verify(raw); err != nil {
				t.Fatal(err)
			}
			tt.change(r, now)
			if _, err := v.Verify(raw); !errors.Is(err, tt.wantErr) {
				t.Fatalf("after the change: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCacheNeverStoresRejections(t *testing.T) {
	v, _, c, _ := cachedVerifier(t, 100)
	raw := signKid(t, "rs256", withClaims(map[string]any{"iss": "https://evil.example.com"}))
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(raw); !errors.Is(err, ErrIssuer) {
			t.Fatalf("verify #%d: err = %v, want ErrIssuer", i, err)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("cache holds %d entries after rejections, want 0", c.Len())
	}
}

func TestCacheIsPerVerifier(t *testing.T) {
	r := newResolver(loadFixture())
	c := NewCache(100)
	lenient := NewVerifier(r, testPolicy(), func() time.Time { return testNow })
	strict := NewVerifier(r, Policy{Issuers: []string{"https://other.example.com"}, Audiences: []string{testAudience}},
		func() time.Time { return testNow })
	lenient.UseCache(c)
	strict.UseCache(c)
	raw := signKid(t, "rs256", validClaims())
	if _, err := lenient.Verify(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Verify(raw); !errors.Is(err, ErrIssuer) {
		t.Fatalf("a token another verifier accepted: err = %v, want ErrIssuer", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	v, _, c, _ := cachedVerifier(t, cacheShards*2)
	for i := 0; i < 200; i++ {
		raw := signKid(t, "es256", withClaims(map[string]any{"jti": i}))
		if _, err := v.Verify(raw); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n > cacheShards*2 {
		t.Fatalf("cache holds %d entries, limit %d", n, cacheShards*2)
	}
	c.Purge()
	if c.Len() != 0 {
		t.Fatal("Purge left entries")
	}
	if NewCache(0) != nil {
		t.Error("NewCache(0) must disable caching")
	}
}

func BenchmarkVerifyRS256Cached(b *testing.B) {
	r := newResolver(loadFixture())
	v := NewVerifier(r, testPolicy(), func() time.Time { return testNow })
	v.UseCache(NewCache(1000))
	raw := signKid(b, "rs256", validClaims())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}
