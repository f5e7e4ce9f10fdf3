package gateway

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestCacheEntryRoundTrip(t *testing.T) {
	e := &cacheEntry{storedAt: time.UnixMilli(1_750_000_000_123), status: 301,
		vary:   []headerValues{{"Accept-Language", []string{"de", "fr"}}, {"X-Empty", []string{}}},
		header: http.Header{"Location": {"/new"}, "X-Two": {"a", ""}},
		body:   []byte("moved\x00\xff")}
	got, err := decodeEntry(e.encode())
	if err != nil {
		t.Fatal(err)
	}
	if !got.storedAt.Equal(e.storedAt) || got.status != e.status || !reflect.DeepEqual(got.vary, e.vary) ||
		!reflect.DeepEqual(got.header, e.header) || !bytes.Equal(got.body, e.body) {
		t.Errorf("round trip: got %+v, want %+v", got, e)
	}
	for name, b := range map[string][]byte{
		"empty": nil, "other magic": []byte("KGC2" + string(e.encode()[4:])), "truncated": e.encode()[:20],
		"longer": append(e.encode(), 'x'), "status 0": func() []byte { b := e.encode(); b[12], b[13] = 0, 0; return b }(),
	} {
		if _, err := decodeEntry(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeEntry: a value read from the cache server is outside input;
// decoding never panics, and what decodes encodes back to an equal entry.
func FuzzDecodeEntry(f *testing.F) {
	f.Add((&cacheEntry{storedAt: time.UnixMilli(1), status: 200, header: http.Header{"A": {"b"}}, body: []byte("x")}).encode())
	f.Add([]byte("KGC1\x00\x00\x00\x00\x00\x00\x00\x01\x00\xc8\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		again, err := decodeEntry(e.encode())
		if err != nil || again.status != e.status || !bytes.Equal(again.body, e.body) || len(again.header) != len(e.header) {
			t.Fatalf("re-encoding %+v: %+v %v", e, again, err)
		}
	})
}
