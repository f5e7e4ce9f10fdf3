package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/keys"
)

// TestMetricsCountWhatTheySay: a skipped key is not a fetch, and start-up
// is not a reload.
func TestMetricsCountWhatTheySay(t *testing.T) {
	m := NewMetrics()
	m.ConfigLive("v1")
	const uri = "https://keys.test/jwks"
	m.ObserveJWKS(keys.RemoteEvent{Kind: keys.RemoteLoaded, URL: uri, Keys: 3})
	for range 5 {
		m.ObserveJWKS(keys.RemoteEvent{Kind: keys.RemoteKeySkipped, URL: uri, Err: errors.New("weak key")})
	}
	m.ConfigLoaded("v2", true)
	m.ConfigLoaded("v2", false)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`keygate_jwks_fetches_total{result="loaded",uri="https://keys.test/jwks"} 1`,
		`keygate_jwks_keys_skipped_total{uri="https://keys.test/jwks"} 5`,
		`keygate_config_reloads_total{result="success"} 1`,
		`keygate_config_reloads_total{result="failure"} 1`,
		`keygate_config_info{version="v2"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, unwanted := range []string{`result="key_skipped"`, `keygate_config_info{version="v1"}`} {
		if strings.Contains(text, unwanted) {
			t.Errorf("/metrics has %s", unwanted)
		}
	}
}
