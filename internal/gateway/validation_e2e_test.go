package gateway

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// validationRig is a gateway whose deployment /v has one route per
// validation case, all to one recording backend, served by keygate's own
// server on loopback, with metrics.
type validationRig struct {
	gw      *testGateway
	g       *Gateway
	backend *testBackend
	metrics *Metrics
}

// validated is an HTTP_BACKEND route at path, any method, with the given
// request policies.
func validated(path, url string, policies map[string]any) map[string]any {
	return map[string]any{"path": path, "backend": map[string]any{"type": "HTTP_BACKEND", "url": url + path},
		"requestPolicies": policies}
}

func headerPolicy(mode string, items ...map[string]any) map[string]any {
	list := make([]any, len(items))
	for i, item := range items {
		list[i] = item
	}
	return map[string]any{"validationMode": mode, "headers": list}
}

func queryPolicy(mode string, items ...map[string]any) map[string]any {
	list := make([]any, len(items))
	for i, item := range items {
		list[i] = item
	}
	return map[string]any{"validationMode": mode, "parameters": list}
}

func item(name string, required bool) map[string]any {
	return map[string]any{"name": name, "required": required}
}

func bodyPolicy(mode string, required bool, mediaRanges ...string) map[string]any {
	content := map[string]any{}
	for _, m := range mediaRanges {
		content[m] = map[string]any{"validationType": "NONE"}
	}
	return map[string]any{"validationMode": mode, "required": required, "content": content}
}

func newValidationRig(t *testing.T, spec func(backendURL string) map[string]any) *validationRig {
	t.Helper()
	rig := &validationRig{backend: newBackend(t), metrics: NewMetrics()}
	data, err := json.Marshal(spec(rig.backend.url()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.DecodeSpec("spec.json", data)
	if err != nil {
		t.Fatalf("decoding the spec: %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.MessageKey {
				a.Key = "message"
			}
			return a
		}}))
	rig.g, err = New(&config.Gateway{Deployments: []config.Deployment{{PathPrefix: "/v", Specification: s}}},
		Options{Logger: log, Metrics: rig.metrics, Now: fixedClock})
	if err != nil {
		t.Fatalf("building the gateway: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = NewServer(rig.g, log).http
	srv.Start()
	t.Cleanup(srv.Close)
	rig.gw = &testGateway{srv: srv, log: logs}
	return rig
}

// validationSpec holds a route per policy shape under test.
func validationSpec(url string) map[string]any {
	return authSpec(nil,
		validated("/h", url, map[string]any{"headerValidations": headerPolicy("ENFORCING",
			item("X-Username", true), item("X-Trace", false))}),
		validated("/q", url, map[string]any{"queryParameterValidations": queryPolicy("ENFORCING",
			item("state", true), item("page", false))}),
		validated("/b", url, map[string]any{"bodyValidation": bodyPolicy("ENFORCING", true, "application/json", "text/*")}),
		validated("/optional-body", url, map[string]any{"bodyValidation": bodyPolicy("", false, "application/json")}),
		validated("/any-body", url, map[string]any{"bodyValidation": bodyPolicy("ENFORCING", true, "*/*")}),
		validated("/p", url, map[string]any{
			"headerValidations":         headerPolicy("PERMISSIVE", item("X-Username", true)),
			"queryParameterValidations": queryPolicy("permissive", item("state", true)),
			"bodyValidation":            bodyPolicy("PERMISSIVE", true, "application/json")}),
		validated("/d", url, map[string]any{
			"headerValidations":         headerPolicy("DISABLED", item("X-Username", true)),
			"queryParameterValidations": queryPolicy("DISABLED", item("state", true)),
			"bodyValidation":            bodyPolicy("DISABLED", true, "application/json")}),
		validated("/mixed", url, map[string]any{
			"headerValidations": headerPolicy("PERMISSIVE", item("X-Username", true)),
			"bodyValidation":    bodyPolicy("ENFORCING", true, "application/json")}),
	)
}

// validationCase is one request and what must come of it.
type validationCase struct {
	name   string
	method string
	target string
	// header lines, sent byte for byte ("x-username: a"); a body is sent
	// when body is not empty, with Content-Length unless chunked.
	header  []string
	body    string
	chunked bool
	// status is the answer; reason the refusal's (ENFORCING), "" when the
	// request reaches the backend.
	status int
	reason reason
	// permitted are the reasons of PERMISSIVE failures logged at WARN, in
	// order, for a request that reaches the backend.
	permitted []reason
}

// send sends c over a raw HTTP/1.1 connection (header names exactly
// as written) and returns the response and its body.
func (c validationCase) send(t *testing.T, gw *testGateway) (*http.Response, string) {
	t.Helper()
	lines := append([]string(nil), c.header...)
	head := c.body
	switch {
	case c.chunked:
		lines = append(lines, "Transfer-Encoding: chunked")
		head = ""
		if c.body != "" {
			head = strconv.FormatInt(int64(len(c.body)), 16) + "\r\n" + c.body + "\r\n"
		}
		head += "0\r\n\r\n"
	case c.body != "":
		lines = append(lines, "Content-Length: "+strconv.Itoa(len(c.body)))
	}
	raw := rawRequest(c.method, c.target, append(lines, "Connection: close")...) + head
	return rawDo(t, gw.srv.Listener.Addr().String(), c.method, raw)
}

// TestValidationEndToEnd runs each check in each mode over loopback: a
// refusal never reaches the backend and leaves one INFO line with
// requestValidation.validationError and its reason; a PERMISSIVE failure
// reaches it and leaves a WARN line with requestValidation.validationPermitted;
// DISABLED checks nothing; every failure is counted.
func TestValidationEndToEnd(t *testing.T) {
	rig := newValidationRig(t, validationSpec)
	jsonType := []string{"Content-Type: application/json"}
	tests := []validationCase{
		// Headers: names case-insensitive, an empty value is present, an
		// optional header is not checked.
		{name: "header present", method: "GET", target: "/v/h", header: []string{"X-Username: alice"}, status: 200},
		{name: "header name in lower case", method: "GET", target: "/v/h", header: []string{"x-username: alice"}, status: 200},
		{name: "header name in upper case", method: "GET", target: "/v/h", header: []string{"X-USERNAME: alice"}, status: 200},
		{name: "header with an empty value", method: "GET", target: "/v/h", header: []string{"X-Username:"}, status: 200},
		{name: "header missing", method: "GET", target: "/v/h", status: 400, reason: reasonMissingHeader},
		{name: "only the optional header", method: "GET", target: "/v/h", header: []string{"X-Trace: 1"}, status: 400, reason: reasonMissingHeader},
		{name: "header spelled with _", method: "GET", target: "/v/h", header: []string{"X_Username: alice"}, status: 400, reason: reasonMissingHeader},
		// Query parameters: names case-insensitive and decoded, with any
		// value or none.
		{name: "parameter present", method: "GET", target: "/v/q?state=ok", status: 200},
		{name: "parameter name in upper case", method: "GET", target: "/v/q?page=2&STATE=ok", status: 200},
		{name: "parameter with an empty value", method: "GET", target: "/v/q?state=", status: 200},
		{name: "parameter without =", method: "GET", target: "/v/q?state", status: 200},
		{name: "parameter name escaped", method: "GET", target: "/v/q?st%61te=1", status: 200},
		{name: "parameter missing", method: "GET", target: "/v/q", status: 400, reason: reasonMissingQuery},
		{name: "only the optional parameter", method: "GET", target: "/v/q?page=1", status: 400, reason: reasonMissingQuery},
		{name: "a longer name", method: "GET", target: "/v/q?states=1", status: 400, reason: reasonMissingQuery},
		{name: "the name as a value", method: "GET", target: "/v/q?x=state", status: 400, reason: reasonMissingQuery},
		// Bodies: presence from the framing, the media type matched
		// case-insensitively without its parameters.
		{name: "json body", method: "POST", target: "/v/b", header: jsonType, body: `{"a":1}`, status: 200},
		{name: "media type case and charset ignored", method: "POST", target: "/v/b",
			header: []string{"Content-Type: Application/JSON ; charset=UTF-8"}, body: `{}`, status: 200},
		{name: "text/* matches text/csv", method: "PUT", target: "/v/b", header: []string{"Content-Type: text/csv"}, body: "a,b", status: 200},
		{name: "chunked json body", method: "POST", target: "/v/b", header: jsonType, body: `{"a":1}`, chunked: true, status: 200},
		{name: "a body on GET counts", method: "GET", target: "/v/b", header: jsonType, body: `{}`, status: 200},
		{name: "type matching no key", method: "POST", target: "/v/b", header: []string{"Content-Type: image/png"}, body: "png", status: 415, reason: reasonMediaType},
		{name: "subtype wildcard is no match for another type", method: "POST", target: "/v/b", header: []string{"Content-Type: application/xml"}, body: "<a/>", status: 415, reason: reasonMediaType},
		{name: "no Content-Type is octet-stream", method: "POST", target: "/v/b", body: `{}`, status: 415, reason: reasonMediaType},
		{name: "Content-Type not a media type", method: "POST", target: "/v/b", header: []string{"Content-Type: json"}, body: `{}`, status: 415, reason: reasonMediaType},
		{name: "Content-Type a wildcard", method: "POST", target: "/v/b", header: []string{"Content-Type: */*"}, body: `{}`, status: 415, reason: reasonMediaType},
		{name: "two Content-Type fields", method: "POST", target: "/v/b",
			header: []string{"Content-Type: application/json", "Content-Type: image/png"}, body: `{}`, status: 415, reason: reasonMediaType},
		{name: "Content-Length 0 is no body", method: "POST", target: "/v/b", header: append(jsonType, "Content-Length: 0"), status: 400, reason: reasonMissingBody},
		{name: "an empty chunked body is a body", method: "POST", target: "/v/b", header: jsonType, chunked: true, status: 200},
		{name: "no body", method: "POST", target: "/v/b", header: jsonType, status: 400, reason: reasonMissingBody},
		{name: "no body on GET", method: "GET", target: "/v/b", status: 400, reason: reasonMissingBody},
		{name: "optional body absent", method: "GET", target: "/v/optional-body", status: 200},
		{name: "optional body of a listed type", method: "POST", target: "/v/optional-body", header: jsonType, body: "[]", status: 200},
		{name: "optional body of another type", method: "POST", target: "/v/optional-body", header: []string{"Content-Type: text/plain"}, body: "x", status: 415, reason: reasonMediaType},
		{name: "*/* takes a body without Content-Type", method: "POST", target: "/v/any-body", body: "x", status: 200},
		{name: "*/* still needs the body", method: "POST", target: "/v/any-body", status: 400, reason: reasonMissingBody},
		// PERMISSIVE: every failure logged, the request goes on.
		{name: "permissive, all three fail", method: "POST", target: "/v/p", status: 200,
			permitted: []reason{reasonMissingHeader, reasonMissingQuery, reasonMissingBody}},
		{name: "permissive, wrong media type", method: "POST", target: "/v/p?state=1", header: []string{"X-Username: a", "Content-Type: text/plain"}, body: "x",
			status: 200, permitted: []reason{reasonMediaType}},
		{name: "permissive, all pass", method: "POST", target: "/v/p?state=1", header: []string{"X-Username: a", "Content-Type: application/json"}, body: "{}", status: 200},
		// DISABLED: no check.
		{name: "disabled", method: "POST", target: "/v/d", status: 200},
		// A PERMISSIVE failure is logged before an ENFORCING one refuses.
		{name: "permissive then enforcing", method: "POST", target: "/v/mixed", status: 400, reason: reasonMissingBody,
			permitted: []reason{reasonMissingHeader}},
	}
	counted := map[string]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rig.backend.requests())
			resp, body := tt.send(t, rig.gw)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, strings.TrimSpace(body))
			}
			id := resp.Header.Get(requestIDHeader)
			lines := execLines(t, rig.gw, id)
			route := strings.TrimPrefix(strings.SplitN(tt.target, "?", 2)[0], "/v")
			reached := len(rig.backend.requests()) - before
			want := len(tt.permitted)
			if tt.reason != "" {
				want++
				if reached != 0 {
					t.Errorf("backend received %d requests, want none", reached)
				}
				checkErrorBody(t, body, tt.status, http.StatusText(tt.status))
			} else if reached != 1 {
				t.Errorf("backend received %d requests, want 1", reached)
			}
			if len(lines) != want {
				t.Fatalf("%d execution log lines, want %d: %v", len(lines), want, lines)
			}
			for i, why := range tt.permitted {
				l := lines[i]
				if l["level"] != "WARN" || l["code"] != codeValidationPermitted || l["reason"] != string(why) ||
					l["validationMode"] != "PERMISSIVE" || l["status"] != nil || l["route"] != route {
					t.Errorf("permitted line %d = %v, want WARN %s %s on %s, no status", i, l, codeValidationPermitted, why, route)
				}
				counted[`deployment="/v",mode="PERMISSIVE",reason="`+string(why)+`",route="`+route+`"`]++
			}
			if tt.reason != "" {
				l := lines[len(lines)-1]
				if l["level"] != "INFO" || l["code"] != codeValidationError || l["reason"] != string(tt.reason) ||
					l["validationMode"] != "ENFORCING" || l["status"] != float64(tt.status) || l["route"] != route {
					t.Errorf("refusal line = %v, want INFO %s %s %d on %s", l, codeValidationError, tt.reason, tt.status, route)
				}
				counted[`deployment="/v",mode="ENFORCING",reason="`+string(tt.reason)+`",route="`+route+`"`]++
			}
		})
	}
	rec := httptest.NewRecorder()
	rig.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := rec.Body.String()
	total := 0
	for labels, n := range counted {
		total += n
		if line := "keygate_validation_failures_total{" + labels + "} " + strconv.Itoa(n); !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if got := strings.Count(text, "\nkeygate_validation_failures_total{"); got != len(counted) {
		t.Errorf("/metrics has %d validation series, want %d (%d failures)", got, len(counted), total)
	}
}

// TestValidationLogDetail: the log line names what is missing and the
// media type sent, never a header's value.
func TestValidationLogDetail(t *testing.T) {
	rig := newValidationRig(t, validationSpec)
	tests := []struct {
		c    validationCase
		want map[string]any
	}{
		{validationCase{method: "GET", target: "/v/h", header: []string{"X-Trace: secret-trace-value-0123456789"}},
			map[string]any{"message": "required header X-Username is missing", "policy": "headerValidations", "headers": []any{"X-Username"}}},
		{validationCase{method: "GET", target: "/v/q?page=1"},
			map[string]any{"message": "required query parameter state is missing", "policy": "queryParameterValidations", "parameters": []any{"state"}}},
		{validationCase{method: "POST", target: "/v/b", header: []string{"Content-Type: image/png; q=1"}, body: "x"},
			map[string]any{"message": `content type "image/png; q=1" matches none of application/json, text/*`,
				"policy": "bodyValidation", "contentType": "image/png; q=1"}},
		{validationCase{method: "POST", target: "/v/b", body: "x"},
			map[string]any{"message": "a body without Content-Type is application/octet-stream, which matches none of application/json, text/*"}},
		{validationCase{method: "POST", target: "/v/b"},
			map[string]any{"message": "the route requires a request body and there is none"}},
	}
	for _, tt := range tests {
		resp, _ := tt.c.send(t, rig.gw)
		l := rejectionLine(t, rig.gw, resp.Header.Get(requestIDHeader))
		for k, v := range tt.want {
			if got, _ := json.Marshal(l[k]); string(got) != mustJSON(t, v) {
				t.Errorf("%s %s: %s = %s, want %s", tt.c.method, tt.c.target, k, got, mustJSON(t, v))
			}
		}
	}
	checkNoSecrets(t, rig.gw, "secret-trace-value-0123456789")
}
