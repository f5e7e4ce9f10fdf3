package gatewaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Response is what the client got from the gateway.
type Response struct {
	Status int
	Header http.Header
	// Body is the first MiB of the body: error bodies and echoes are small,
	// and a gateway that streams more than that has answered wrongly anyway.
	Body string
	// ID is the response's opc-request-id, the key to the request's log
	// lines and to what the backend received for it.
	ID string
}

// Do sends one request through the gateway with Go's client; header values
// replace the client's own, and body may be nil.
func (g *Gateway) Do(t testing.TB, method, path string, header http.Header, body io.Reader) Response {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(data), ID: resp.Header.Get("opc-request-id")}
}

// Refused sends a request that must end in status with the backend seeing
// nothing (the two assertions of every hostile case), and returns the
// response with the reason of its execution log line ("" when there is
// none).
func (g *Gateway) Refused(t testing.TB, method, path string, header http.Header, status int) (Response, string) {
	t.Helper()
	before := g.backendCount()
	res := g.Do(t, method, path, header, nil)
	if res.Status != status {
		t.Errorf("status = %d, want %d (body %s)", res.Status, status, strings.TrimSpace(res.Body))
	}
	if g.Backend != nil {
		if got := g.Backend.Since(before); len(got) != 0 {
			t.Errorf("backend received %d requests, want none (first: %s %s)", len(got), got[0].Method, got[0].Path)
		}
	}
	return res, g.Log.Reason(t, res.ID)
}

// RefusedFor is a GET that Refused must refuse, with reason required in the
// log too.
func (g *Gateway) RefusedFor(t testing.TB, path string, header http.Header, status int, reason string) Response {
	t.Helper()
	res, got := g.Refused(t, http.MethodGet, path, header, status)
	if got != reason {
		t.Errorf("log reason = %q, want %q", got, reason)
	}
	return res
}

// Passes sends a GET that must reach the backend exactly once and returns
// what the backend received for it, matched by request id.
func (g *Gateway) Passes(t testing.TB, path string, header http.Header) Request {
	t.Helper()
	res := g.Do(t, http.MethodGet, path, header, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s; log reason %q)", res.Status, strings.TrimSpace(res.Body), g.Log.Reason(t, res.ID))
	}
	if res.ID == "" {
		t.Fatal("response has no opc-request-id")
	}
	got := g.Backend.ByID(res.ID)
	if len(got) != 1 {
		t.Fatalf("backend received request %s %d times, want once", res.ID, len(got))
	}
	return got[0]
}

func (g *Gateway) backendCount() int {
	if g.Backend == nil {
		return 0
	}
	return g.Backend.Count()
}

// CheckErrorBody requires body to be exactly the gateway's generic error
// body, {"code": status, "message": its status text}: a refusal tells the
// client nothing more.
func CheckErrorBody(t testing.TB, body string, status int) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	message := http.StatusText(status)
	if len(got) != 2 || got["code"] != float64(status) || got["message"] != message {
		t.Errorf("body = %s, want exactly {\"code\":%d,\"message\":%q}", strings.TrimSpace(body), status, message)
	}
}
