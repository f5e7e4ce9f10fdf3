package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// transformRig is a JWT deployment /t whose routes transform requests and
// responses, in front of a backend that reports what it received as JSON
// and answers with headers of its own.
type transformRig struct {
	gw   *httptest.Server
	logs *syncBuffer
	key  *keys.Key
}

func newTransformRig(t *testing.T, routes ...map[string]any) *transformRig {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "backend/1.0")
		w.Header().Set("X-Backend-Id", "b-7")
		w.Header().Set("Retry-After", "5")
		w.Header().Add("X-Multi", "one")
		_ = json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "query": r.URL.RawQuery})
	}))
	t.Cleanup(backend.Close)
	jwk, err := keys.PublicJWK(sharedRSA(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	rs := make([]any, len(routes))
	for i, r := range routes {
		b := r["backend"].(map[string]any)
		b["url"] = backend.URL + b["url"].(string)
		rs[i] = r
	}
	spec := map[string]any{
		"requestPolicies": map[string]any{"authentication": map[string]any{
			"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
			"issuers": []any{"https://issuer.example.com"}, "audiences": []any{"api"},
			"publicKeys": map[string]any{"type": "STATIC_KEYS", "keys": []any{map[string]any{
				"format": "JSON_WEB_KEY", "kid": "k", "kty": "RSA", "alg": "RS256", "n": jwk.N, "e": jwk.E}}},
		}},
		"routes": rs,
	}
	logs := &syncBuffer{}
	g := compileSpec(t, "/t", spec, nil, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	rig := &transformRig{gw: httptest.NewServer(g), logs: logs}
	t.Cleanup(rig.gw.Close)
	return rig
}

// call sends a request with a token holding claims and returns the response
// and what the backend said it received.
func (rig *transformRig) call(t *testing.T, target string, claims map[string]any, header map[string][]string) (*http.Response, map[string][]string, string) {
	t.Helper()
	c := map[string]any{"iss": "https://issuer.example.com", "aud": "api", "sub": "user-1", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok, err := token.Sign(sharedRSA(t), "k", "RS256", c)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, rig.gw.URL+target, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := rig.gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Headers map[string][]string
		Query   string
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("backend answer %q: %v", body, err)
	}
	return resp, got.Headers, got.Query
}

func transformRoute(path string, request, response map[string]any) map[string]any {
	r := map[string]any{"path": path, "backend": map[string]any{"type": "HTTP_BACKEND", "url": "/b"}}
	if request != nil {
		r["requestPolicies"] = request
	}
	if response != nil {
		r["responsePolicies"] = map[string]any{"headerTransformations": response}
	}
	return r
}

func items(kv ...any) map[string]any {
	var list []any
	for _, v := range kv {
		list = append(list, v)
	}
	return map[string]any{"items": list}
}

func TestRequestHeaderTransformations(t *testing.T) {
	rig := newTransformRig(t, transformRoute("/items/{id}", map[string]any{
		"headerTransformations": map[string]any{
			"setHeaders": items(
				map[string]any{"name": "X-Sub", "values": []any{"${request.auth[sub]}"}},
				map[string]any{"name": "X-Item", "values": []any{"item-${request.path[id]}"}},
				map[string]any{"name": "X-Level", "values": []any{"${request.auth[level]}"}},
				map[string]any{"name": "X-Admin", "values": []any{"${request.auth[admin]}"}},
				map[string]any{"name": "X-Groups", "values": []any{"${request.auth[groups]}"}},
				map[string]any{"name": "X-Org", "values": []any{"${request.auth[org]}"}},
				map[string]any{"name": "X-Name", "values": []any{"${request.auth[name]}"}},
				map[string]any{"name": "X-Evil", "values": []any{"${request.auth[evil]}", "kept"}},
				map[string]any{"name": "X-Empty", "values": []any{"${request.auth[absent]}"}},
				map[string]any{"name": "X-Tag", "values": []any{"gw"}, "ifExists": "APPEND"},
				map[string]any{"name": "X-Keep", "values": []any{"gw"}, "ifExists": "SKIP"},
				map[string]any{"name": "X-Mine", "values": []any{"a", "b"}},
				map[string]any{"name": "Cookie", "values": []any{"forged=1"}}, // protected: skipped
			),
			"renameHeaders": items(map[string]any{"from": "Locale", "to": "Region"}),
			"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "User-Agent"}, map[string]any{"name": "Authorization"}}},
		},
	}, nil))
	claims := map[string]any{"level": 3.5, "admin": true, "groups": []any{"a", "b"}, "org": map[string]any{"id": 7, "n": "x"},
		"name": "Zoë", "evil": "v\r\nX-Injected: yes"}
	_, got, _ := rig.call(t, "/t/items/42", claims, map[string][]string{
		"Locale": {"de-CH"}, "X-Tag": {"client"}, "X-Keep": {"client"}, "X-Mine": {"client"}, "Cookie": {"c=1"}})
	want := map[string][]string{
		"X-Sub": {"user-1"}, "X-Item": {"item-42"}, "X-Level": {"3.5"}, "X-Admin": {"true"},
		"X-Groups": {`["a","b"]`}, "X-Org": {`{"id":7,"n":"x"}`}, "X-Name": {"Zoë"}, "X-Evil": {"kept"},
		"X-Tag": {"client", "gw"}, "X-Keep": {"client"}, "X-Mine": {"a", "b"}, "Region": {"de-CH"}, "Cookie": {"c=1"},
	}
	for name, w := range want {
		if g := got[name]; strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("backend %s = %q, want %q", name, g, w)
		}
	}
	for _, name := range []string{"X-Empty", "X-Injected", "Locale", "User-Agent", "Authorization"} {
		if g, ok := got[name]; ok {
			t.Errorf("backend got %s: %q, want none", name, g)
		}
	}
	logs := rig.logs.String()
	for _, code := range []string{codeBadHeaderValue, codeMissingSetValues, codeProtectedHeader} {
		if !strings.Contains(logs, code) {
			t.Errorf("log has no %s line", code)
		}
	}
	if strings.Contains(logs, "X-Injected") {
		t.Error("the log holds the hostile value")
	}
}

func TestHeaderAllowFilter(t *testing.T) {
	rig := newTransformRig(t, transformRoute("/r", map[string]any{"headerTransformations": map[string]any{
		"setHeaders":    items(map[string]any{"name": "X-Set", "values": []any{"v"}}),
		"filterHeaders": map[string]any{"type": "ALLOW", "items": []any{map[string]any{"name": "X-Set"}, map[string]any{"name": "X-Keep"}}},
	}}, nil))
	_, got, _ := rig.call(t, "/t/r", nil, map[string][]string{"X-Keep": {"1"}, "X-Drop": {"1"}, "Cookie": {"c=1"}})
	for _, name := range []string{"X-Set", "X-Keep", "Cookie", "Opc-Request-Id", "X-Forwarded-For"} {
		if _, ok := got[name]; !ok {
			t.Errorf("backend did not get %s (%v)", name, got)
		}
	}
	for _, name := range []string{"X-Drop", "User-Agent", "Authorization", "Accept-Encoding"} {
		if _, ok := got[name]; ok {
			t.Errorf("backend got %s, which ALLOW does not list", name)
		}
	}
}

func TestQueryParameterTransformations(t *testing.T) {
	rig := newTransformRig(t, transformRoute("/r", map[string]any{"queryParameterTransformations": map[string]any{
		"setQueryParameters": items(
			map[string]any{"name": "country", "values": []any{"usa"}, "ifExists": "SKIP"},
			map[string]any{"name": "user", "values": []any{"${request.auth[sub]}"}},
			map[string]any{"name": "tag", "values": []any{"x y", "z&w"}, "ifExists": "APPEND"},
		),
		"renameQueryParameters": items(map[string]any{"from": "q", "to": "query"}),
		"filterQueryParameters": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "debug"}}},
	}}, nil))
	_, _, q := rig.call(t, "/t/r?q=a%20b&debug=1&country=ch&tag=t0&user=forged&Debug=2", nil, nil)
	if want := "query=a%20b&country=ch&tag=t0&Debug=2&user=user-1&tag=x+y&tag=z%26w"; q != want {
		t.Errorf("backend query %q, want %q", q, want)
	}
	values, _ := url.ParseQuery(q)
	if values.Get("user") != "user-1" || len(values["user"]) != 1 {
		t.Errorf("user = %q: the client's value must be overwritten", values["user"])
	}
}

func TestResponseHeaderTransformations(t *testing.T) {
	rig := newTransformRig(t, transformRoute("/r", nil, map[string]any{
		"setHeaders":    items(map[string]any{"name": "X-Served-For", "values": []any{"${request.auth[sub]}"}}, map[string]any{"name": "X-Multi", "values": []any{"two"}, "ifExists": "APPEND"}),
		"renameHeaders": items(map[string]any{"from": "X-Backend-Id", "to": "X-Origin-Id"}),
		"filterHeaders": map[string]any{"type": "BLOCK", "items": []any{map[string]any{"name": "Server"}, map[string]any{"name": "Retry-After"}}},
	}))
	resp, _, _ := rig.call(t, "/t/r", nil, nil)
	h := resp.Header
	if h.Get("X-Served-For") != "user-1" || h.Get("X-Origin-Id") != "b-7" || h.Get("X-Backend-Id") != "" || h.Get("Server") != "" {
		t.Errorf("response headers %v", h)
	}
	if got := strings.Join(h.Values("X-Multi"), "|"); got != "one|two" {
		t.Errorf("X-Multi = %q, want one|two", got)
	}
	if h.Get("Retry-After") != "5" {
		t.Error("Retry-After is protected on responses: a filter must not remove it")
	}
}

// FuzzHeaderTransformValues: whatever a claim, header or query value holds,
// a header transformation never produces a header value with a line break
// or another control byte, and never a header the policy does not name.
func FuzzHeaderTransformValues(f *testing.F) {
	for _, seed := range []string{"plain", "a\r\nX-Injected: 1", "\x00", "Zoë", "\t tab", "a\nb", "\x7f"} {
		f.Add(seed)
	}
	tr := compileTransform(&config.SetItems{Items: []config.SetItem{
		{Name: "X-Claim", Values: []string{"${request.auth[c]}"}, IfExists: config.IfExistsOverwrite},
		{Name: "X-Header", Values: []string{"p-${request.headers[X-In]}"}, IfExists: config.IfExistsAppend},
		{Name: "X-Query", Values: []string{"${request.query[q]}"}, IfExists: config.IfExistsOverwrite},
	}}, nil, nil, false, false, slog.New(slog.DiscardHandler), "")
	f.Fuzz(func(t *testing.T, v string) {
		r := &http.Request{URL: &url.URL{RawQuery: url.Values{"q": {v}}.Encode()}, Header: http.Header{"X-In": {v}}}
		ex := &exchange{principal: &principal{claims: token.Claims{"c": v}}}
		h := http.Header{}
		tr.applyHeaders(h, tr.setValues(r, ex), false)
		for name, values := range h {
			if name != "X-Claim" && name != "X-Header" && name != "X-Query" {
				t.Fatalf("header %q appeared", name)
			}
			for _, value := range values {
				if !safeValue(value, false) {
					t.Fatalf("%s: %q holds a control byte", name, value)
				}
			}
		}
	})
}
