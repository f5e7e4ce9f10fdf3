package keys

import (
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
)

func TestNewStaticSet(t *testing.T) {
	a := mustKey(t, "a", "", &rsaKey(t).PublicKey)
	b := mustKey(t, "b", "", &ecKey(t, elliptic.P256()).PublicKey)
	a2 := mustKey(t, "a", "", edKey(t).Public())
	tests := []struct {
		name    string
		keys    []*Key
		wantErr error
		wantMsg string
	}{
		{"empty", nil, nil, ""},
		{"two keys", []*Key{a, b}, nil, ""},
		{"duplicate kid", []*Key{a, b, a2}, ErrDuplicateKID, `kid "a" is used by keys[0] and keys[2]`},
		{"nil key", []*Key{a, nil}, ErrMalformedKey, "keys[1] is nil"},
		{"no kid", []*Key{{Algorithm: "RS256", Public: a.Public}}, ErrMalformedKey, "no kid"},
		{"literal with weak key", []*Key{{ID: "w", Algorithm: "RS256", Public: rsaWith(1024, 65537)}}, ErrWeakKey, `keys[0] (kid "w")`},
		{"literal with T13 mismatch", []*Key{{ID: "m", Algorithm: "RS256", Public: b.Public}}, ErrUnsupportedKey, "does not fit"},
		{"literal without alg", []*Key{{ID: "n", Public: a.Public}}, ErrUnsupportedKey, "alg is empty"},
		{"literal with e=3", []*Key{{ID: "e", Algorithm: "RS256", Public: &rsa.PublicKey{N: a.Public.(*rsa.PublicKey).N, E: 3}}}, ErrWeakKey, "exponent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStaticSet(tt.keys...)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("err = %q; want it to contain %q", err, tt.wantMsg)
				}
				return
			}
			got := s.Keys()
			if len(got) != len(tt.keys) {
				t.Fatalf("Keys() has %d keys; want %d", len(got), len(tt.keys))
			}
			for i := range got {
				if got[i] != tt.keys[i] {
					t.Errorf("Keys()[%d] = %q; want %q", i, got[i].ID, tt.keys[i].ID)
				}
			}
		})
	}
}

func TestStaticSetKey(t *testing.T) {
	a := mustKey(t, "a", "", &rsaKey(t).PublicKey)
	b := mustKey(t, "../keys/b", "", edKey(t).Public())
	s, err := NewStaticSet(a, b)
	checkErr(t, err, nil)
	long := strings.Repeat("k", 10<<10)
	tests := []struct {
		name    string
		kid     string
		want    *Key
		wantErr error
		wantMsg string
	}{
		{"a", "a", a, nil, ""},
		{"kid with slashes is exact", "../keys/b", b, nil, ""},
		{"T5 traversal", "../../dev/null", nil, ErrUnknownKID, `unknown kid "../../dev/null"`},
		{"T5 traversal to a kid", "../keys/../keys/b", nil, ErrUnknownKID, ""},
		{"T5 sql", "a' OR '1'='1", nil, ErrUnknownKID, ""},
		{"T5 control characters", "a\x00\r\n", nil, ErrUnknownKID, `"a\x00\r\n"`},
		{"case differs", "A", nil, ErrUnknownKID, ""},
		{"prefix", "a ", nil, ErrUnknownKID, ""},
		{"empty", "", nil, ErrUnknownKID, `unknown kid ""`},
		{"T5 10 kB kid", long, nil, ErrUnknownKID, "(10240 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Key(tt.kid)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("Key(%q) = %v; want %v", tt.kid, got, tt.want)
			}
			if err == nil {
				return
			}
			if errors.Is(err, ErrKeysUnavailable) {
				t.Errorf("err = %v; an unknown kid must not look like unavailable keys", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || len(err.Error()) > 200 {
				t.Errorf("err = %q (%d bytes); want at most 200 bytes containing %q", err, len(err.Error()), tt.wantMsg)
			}
		})
	}
}

func TestStaticSetKeysIsACopy(t *testing.T) {
	a := mustKey(t, "a", "", edKey(t).Public())
	s, err := NewStaticSet(a)
	checkErr(t, err, nil)
	s.Keys()[0] = nil
	if got := s.Keys()[0]; got != a {
		t.Errorf("Keys()[0] after caller's write = %v; want the set unchanged", got)
	}
}

func TestQuoteKID(t *testing.T) {
	tests := []struct {
		name string
		kid  string
		want string
	}{
		{"short", "abc", `"abc"`},
		{"exactly 64", strings.Repeat("a", 64), `"` + strings.Repeat("a", 64) + `"`},
		{"65", strings.Repeat("a", 65), `"` + strings.Repeat("a", 64) + `"... (65 bytes)`},
		{"cut on rune boundary", strings.Repeat("a", 63) + "é", `"` + strings.Repeat("a", 63) + `"... (65 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quoteKID(tt.kid); got != tt.want {
				t.Errorf("quoteKID = %s; want %s", got, tt.want)
			}
		})
	}
}

func mustKey(t testing.TB, kid, alg string, pub any) *Key {
	t.Helper()
	k, err := NewKey(kid, alg, pub)
	checkErr(t, err, nil)
	return k
}
