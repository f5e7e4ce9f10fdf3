package config

import (
	"testing"
	"time"
)

func TestBackendTimeouts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name                string
		connect, read, send *float64
		want                [3]time.Duration // connect, read, send
	}{
		{"absent: defaults", nil, nil, nil, [3]time.Duration{60 * time.Second, 10 * time.Second, 10 * time.Second}},
		{"zero: defaults", f(0), f(0), f(0), [3]time.Duration{60 * time.Second, 10 * time.Second, 10 * time.Second}},
		{"whole seconds", f(5), f(30), f(1), [3]time.Duration{5 * time.Second, 30 * time.Second, time.Second}},
		{"fractions", f(2.5), f(0.25), f(0.001), [3]time.Duration{2500 * time.Millisecond, 250 * time.Millisecond, time.Millisecond}},
		// 0.3*1e9 is 299999999.99999994 in float64: rounded, not truncated.
		{"decimal fractions round", f(0.3), f(1.1), f(299.999), [3]time.Duration{300 * time.Millisecond, 1100 * time.Millisecond, 299999 * time.Millisecond}},
		{"limits", f(75), f(300), f(300), [3]time.Duration{75 * time.Second, 300 * time.Second, 300 * time.Second}},
		// Never 0, which net and net/http read as "no timeout".
		{"under a nanosecond", f(1e-12), f(4e-10), f(1e-9), [3]time.Duration{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backend{Type: BackendHTTP, ConnectTimeoutInSeconds: tt.connect, ReadTimeoutInSeconds: tt.read, SendTimeoutInSeconds: tt.send}
			got := [3]time.Duration{b.ConnectTimeout(), b.ReadTimeout(), b.SendTimeout()}
			if got != tt.want {
				t.Errorf("connect, read, send = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestZeroTimeoutDefaults checks that a spec's 0 becomes the default when
// defaults are applied, so later stages see one value for "the default".
func TestZeroTimeoutDefaults(t *testing.T) {
	spec, err := DecodeSpec("spec.json", []byte(`{"routes": [{"path": "/", "backend": {"type": "HTTP_BACKEND",
		"url": "http://127.0.0.1:8080/", "connectTimeoutInSeconds": 0, "readTimeoutInSeconds": 0.5, "sendTimeoutInSeconds": 0.0}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := spec.Routes[0].Backend
	for _, tt := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"connectTimeoutInSeconds", b.ConnectTimeoutInSeconds, 60},
		{"readTimeoutInSeconds", b.ReadTimeoutInSeconds, 0.5},
		{"sendTimeoutInSeconds", b.SendTimeoutInSeconds, 10},
	} {
		if tt.got == nil {
			t.Errorf("%s = nil; want %v", tt.name, tt.want)
		} else if *tt.got != tt.want {
			t.Errorf("%s = %v; want %v", tt.name, *tt.got, tt.want)
		}
	}
}
