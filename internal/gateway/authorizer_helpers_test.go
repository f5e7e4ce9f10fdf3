package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The harness of the CUSTOM_AUTHENTICATION tests: a real authorizer
// function (an HTTP endpoint over loopback) that records every input and
// counts its calls, reached through keygate's function registry.

const testAuthorizerID = "ocid1.fnfunc.oc1..authz"

// testAuthorizer is an authorizer function served over HTTP.
type testAuthorizer struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	// inputs are the JSON bodies the function received, decoded.
	inputs []map[string]any
	// answer computes the answer to one input: status and body.
	answer func(in map[string]any) (int, string)
}

// newTestAuthorizer starts an authorizer that answers with answer.
func newTestAuthorizer(t *testing.T, answer func(in map[string]any) (int, string)) *testAuthorizer {
	t.Helper()
	a := &testAuthorizer{answer: answer}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		data, _ := io.ReadAll(r.Body)
		var in map[string]any
		if err := json.Unmarshal(data, &in); err != nil {
			in = map[string]any{"undecodable": string(data)}
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			in["contentType"] = ct
		}
		a.mu.Lock()
		a.inputs = append(a.inputs, in)
		answer := a.answer
		a.mu.Unlock()
		status, body := answer(in)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// lastInput returns the last input the function received.
func (a *testAuthorizer) lastInput(t *testing.T) map[string]any {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.inputs) == 0 {
		t.Fatal("the authorizer was never called")
	}
	return a.inputs[len(a.inputs)-1]
}

// setAnswer replaces the function's behaviour.
func (a *testAuthorizer) setAnswer(answer func(in map[string]any) (int, string)) {
	a.mu.Lock()
	a.answer = answer
	a.mu.Unlock()
}

// byToken is an authorizer answer that accepts the tokens of accepted,
// answering with each one's JSON, and refuses the rest.
func byToken(accepted map[string]string) func(in map[string]any) (int, string) {
	return func(in map[string]any) (int, string) {
		tok, _ := in["token"].(string)
		if body, ok := accepted[tok]; ok {
			return http.StatusOK, body
		}
		return http.StatusOK, `{"active": false, "wwwAuthenticate": "ApiKey realm=\"tenants\""}`
	}
}

// customAuth is a single-argument CUSTOM_AUTHENTICATION policy reading the
// token from header.
func customAuth(header string) map[string]any {
	return map[string]any{"type": "CUSTOM_AUTHENTICATION", "functionId": testAuthorizerID, "tokenHeader": header}
}

// customGateway is a running gateway whose function registry maps
// testAuthorizerID to fn.
type customGateway struct {
	*testGateway
	g *Gateway
}

// startCustomGateway compiles spec under testPrefix with the registry
// mapping testAuthorizerID to fn's url, and serves it over loopback. opts
// may set Now and AuthorizerCacheEntries; the logger is the test's.
func startCustomGateway(t *testing.T, spec map[string]any, fn *testAuthorizer, opts Options) *customGateway {
	t.Helper()
	functions := testRegistry(t, map[string]string{testAuthorizerID: fn.srv.URL}, 2*time.Second)
	return startCustomGatewayWith(t, spec, functions, opts)
}

func startCustomGatewayWith(t *testing.T, spec map[string]any, functions functionsForTest, opts Options) *customGateway {
	t.Helper()
	if functions != nil {
		opts.Functions = functions
	}
	gw, g := startOCIGatewayWith(t, testPrefix, spec, opts, false)
	return &customGateway{testGateway: gw, g: g}
}

// codesOf returns the execution log codes of request id, in order.
func codesOf(t *testing.T, gw *testGateway, id string) []string {
	t.Helper()
	var codes []string
	for _, l := range execLines(t, gw, id) {
		if c, ok := l["code"].(string); ok {
			codes = append(codes, c)
		}
	}
	return codes
}

// lastExecLine returns the last execution log line of request id: the
// refusal, after the authorizer's own lines.
func lastExecLine(t *testing.T, gw *testGateway, id string) map[string]any {
	t.Helper()
	lines := execLines(t, gw, id)
	if len(lines) == 0 {
		t.Fatalf("request %s left no execution log line", id)
	}
	return lines[len(lines)-1]
}
