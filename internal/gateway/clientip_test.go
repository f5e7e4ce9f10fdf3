package gateway

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestClientAddr(t *testing.T) {
	trusted := compileTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	tests := []struct {
		name, peer string
		header     http.Header
		want       string
	}{
		{"an untrusted peer is the client", "203.0.113.5:1", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.5"},
		{"a trusted peer's chain, from the right", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"a single trusted address", "192.0.2.7:1", http.Header{"X-Forwarded-For": {"198.51.100.2"}}, "198.51.100.2"},
		{"headers repeated", "10.0.0.1:1", http.Header{"X-Forwarded-For": {"6.6.6.6", "198.51.100.3"}}, "198.51.100.3"},
		{"Forwarded when no X-Forwarded-For", "10.0.0.1:1", http.Header{"Forwarded": {`for=6.6.6.6, for="[2001:db8::9]:4711";proto=https`}}, "2001:db8::9"},
		{"Forwarded with a port", "10.0.0.1:1", http.Header{"Forwarded": {"for=198.51.100.4:80"}}, "198.51.100.4"},
		{"an unreadable chain: the proxy is the client", "10.0.0.1:1", http.Header{"X-Forwarded-For": {"unknown"}}, "10.0.0.1"},
		{"only trusted proxies in the chain", "10.0.0.1:1", http.Header{"X-Forwarded-For": {"10.0.0.2"}}, "10.0.0.1"},
		{"no chain", "10.0.0.1:1", http.Header{}, "10.0.0.1"},
		{"an IPv4-mapped peer", "[::ffff:10.0.0.1]:1", http.Header{"X-Forwarded-For": {"198.51.100.5"}}, "198.51.100.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.peer, Header: tt.header}
			if got := trusted.clientAddr(r).String(); got != tt.want {
				t.Errorf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestLimitsStayBounded: a flood of distinct client keys never grows the
// table past its bound, and a known key keeps its count while others come.
func TestLimitsStayBounded(t *testing.T) {
	l := NewLimits()
	now := time.Unix(1_750_000_000, 0)
	for i := range limitShards * maxLimitKeysPerShard * 2 {
		l.allow("k"+strconv.Itoa(i), 1, now)
	}
	total := 0
	for i := range l.shards {
		if n := len(l.shards[i].tat); n > maxLimitKeysPerShard {
			t.Fatalf("shard %d holds %d keys, over %d", i, n, maxLimitKeysPerShard)
		}
		total += len(l.shards[i].tat)
	}
	if total == 0 {
		t.Fatal("no key kept")
	}
	if ok, wait := l.allow("fresh", 1, now); !ok || wait != 0 {
		t.Fatal("a new key is refused")
	}
	if ok, wait := l.allow("fresh", 1, now); ok || wait != time.Second {
		t.Fatalf("second request of a 1/s key: ok %v, wait %v; want refused for 1s", ok, wait)
	}
	if ok, _ := l.allow("fresh", 1, now.Add(time.Second)); !ok {
		t.Fatal("a second later the key is still refused")
	}
}
