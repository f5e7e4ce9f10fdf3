package adversarial

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// TestR16AuthorizerHeaderArgumentSpellings (attacks.md R16): a
// multi-argument CUSTOM_AUTHENTICATION function asked about
// request.headers[X-Api-Key] also hears the X_Api_Key spelling a CGI-style
// backend reads as X-Api-Key, and the backend gets no spelling the
// function was not asked about.
func TestR16AuthorizerHeaderArgumentSpellings(t *testing.T) {
	const fnID = "ocid1.fnfunc.oc1..r16"
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Data map[string]any `json:"data"`
		}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &in)
		w.Header().Set("Content-Type", "application/json")
		if in.Data["xapikey"] == "mine" {
			_, _ = io.WriteString(w, `{"active": true}`)
			return
		}
		_, _ = io.WriteString(w, `{"active": false}`)
	}))
	t.Cleanup(authz.Close)
	reg, err := function.New([]config.Function{{ID: fnID, URL: authz.URL, TimeoutMillis: 2000}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	b := gatewaytest.NewBackend(t)
	auth := map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": fnID,
		"parameters": map[string]any{"xapikey": "request.headers[X-Api-Key]"}}
	g := gatewaytest.Start(t, gatewaytest.Spec(auth, gatewaytest.HTTPRoute("/r", b.URL+"/r", nil)), b,
		gatewaytest.Options{Functions: reg})

	for _, tt := range []struct {
		lines  []string
		status int
		want   http.Header // the spellings of X-Api-Key the backend gets
	}{
		{[]string{"X-Api-Key: mine", "X_Api_Key: victim"}, 401, nil},
		{[]string{"X-Api-Key: mine", "x_api_key: victim"}, 401, nil},
		{[]string{"X_API_KEY: victim"}, 401, nil},
		{[]string{"X_Api_Key: mine"}, 200, http.Header{"X-Api-Key": {"mine"}}},
		{[]string{"X-Api-Key: mine"}, 200, http.Header{"X-Api-Key": {"mine"}}},
	} {
		n := b.Count()
		resp, _ := g.Raw(t, http.MethodGet, "/test/r", tt.lines...)
		if resp.StatusCode != tt.status {
			t.Errorf("%q: status %d, want %d", tt.lines, resp.StatusCode, tt.status)
			continue
		}
		got := b.Since(n)
		if tt.want == nil {
			if len(got) != 0 {
				t.Errorf("%q: the backend got %d requests, want none", tt.lines, len(got))
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%q: the backend got %d requests, want 1", tt.lines, len(got))
		}
		if h := spellings(got[0].Header, "X-Api-Key"); !reflect.DeepEqual(h, tt.want) {
			t.Errorf("%q: the backend got %v, want %v", tt.lines, h, tt.want)
		}
	}
}

// TestR18DynamicAuthenticationOtherServersSpellings (attacks.md R18): with
// dynamicAuthentication, a server the selector did not pick still removes
// every spelling of its token header, so X_Client_Token rides no request
// the bearer server authenticated to a backend folding '_' into '-'.
func TestR18DynamicAuthenticationOtherServersSpellings(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	key := gatewaytest.RSA("rsa")
	bearer := gatewaytest.JWTAuth(gatewaytest.StaticKeys(key.JWK(t)))
	client := gatewaytest.TokenInHeader(gatewaytest.JWTAuth(gatewaytest.StaticKeys(key.JWK(t))), "X-Client-Token")
	spec := gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/r", b.URL+"/r", nil))
	spec["requestPolicies"] = map[string]any{"dynamicAuthentication": map[string]any{
		"selectionSource": map[string]any{"type": "SINGLE", "selector": "request.headers[X-Kind]"},
		"authenticationServers": []any{
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "bearer", "values": []any{"bearer"}}, "authenticationServerDetail": bearer},
			map[string]any{"key": map[string]any{"type": "ANY_OF", "name": "client", "values": []any{"client"}}, "authenticationServerDetail": client},
		}}}
	g := gatewaytest.Start(t, spec, b, gatewaytest.Options{Now: gatewaytest.FixedClock})
	tok := validToken(t)
	for _, forged := range []string{"X_Client_Token: forged", "x_client_token: forged", "X-Client_Token: forged"} {
		n := b.Count()
		resp, _ := g.Raw(t, http.MethodGet, "/test/r", "X-Kind: bearer", "Authorization: Bearer "+tok, forged)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, want 200", forged, resp.StatusCode)
		}
		got := b.Since(n)
		if len(got) != 1 {
			t.Fatalf("%s: the backend got %d requests, want 1", forged, len(got))
		}
		if h := spellings(got[0].Header, "X-Client-Token"); len(h) != 0 {
			t.Errorf("%s: the backend got %v, a credential no server verified", forged, h)
		}
	}
}
