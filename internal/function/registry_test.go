package function

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestInvokeFDKHTTPRequest(t *testing.T) {
	socket := serveFDK(t, echoFDK)
	r, err := New([]config.Function{{ID: "ocid1.fnfunc.echo", Listener: "unix:" + socket, TimeoutMillis: 2000}}, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := time.Now()
	resp, err := r.Invoke(context.Background(), "ocid1.fnfunc.echo", &Request{
		HTTP: true, Method: "PUT", URL: "/v1/pets/7?q=a%20b&q=c",
		Header:        http.Header{"X-Status": {"201"}, "Accept": {"a", "b"}, "Connection": {"close"}, "Content-Type": {"application/json"}},
		Body:          strings.NewReader(`{"a":1}`),
		ContentLength: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checks := []struct{ got, want string }{
		{string(body), `{"a":1}`},
		{resp.Header.Get("X-Method"), "PUT"},
		{resp.Header.Get("X-Url"), "/v1/pets/7?q=a%20b&q=c"},
		{resp.Header.Get("X-Intent"), "httprequest"},
		{strings.Join(resp.Header.Values("X-Echo-Accept"), ","), "a,b"},
		{resp.Header.Get("X-Echo-Connection"), ""},
		{resp.Header.Get("X-Echo-Content-Type"), "application/json"},
		{resp.Header.Get("Content-Type"), "text/plain"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if resp.Status != 201 {
		t.Errorf("status %d, want 201", resp.Status)
	}
	if len(resp.Header.Get("X-Call-Id")) != 32 {
		t.Errorf("Fn-Call-Id %q, want 32 hex digits", resp.Header.Get("X-Call-Id"))
	}
	deadline, err := time.Parse(time.RFC3339, resp.Header.Get("X-Deadline"))
	if err != nil || deadline.Before(before.Add(2*time.Second)) || deadline.After(time.Now().Add(3*time.Second)) ||
		!strings.HasSuffix(resp.Header.Get("X-Deadline"), "Z") {
		t.Errorf("Fn-Deadline %q (%v), want the 2 s timeout rounded up to the second, in UTC", resp.Header.Get("X-Deadline"), err)
	}
}

func TestInvokeErrors(t *testing.T) {
	slow := serveFDK(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	exception := serveFDK(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		_, _ = io.WriteString(w, `{"message":"Exception in function, consult logs for details"}`)
	})
	badStatus := serveFDK(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Fn-Http-Status", "abc")
	})
	informational := serveFDK(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Fn-Http-Status", "101")
	})
	fdkTimeout := serveFDK(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Fn-Fdk-Status", "504")
		w.WriteHeader(504)
	})
	fns := []config.Function{
		{ID: "slow", Listener: "unix:" + slow, TimeoutMillis: 100},
		{ID: "exception", Listener: "unix:" + exception, TimeoutMillis: 1000},
		{ID: "badStatus", Listener: "unix:" + badStatus, TimeoutMillis: 1000},
		{ID: "fdkTimeout", Listener: "unix:" + fdkTimeout, TimeoutMillis: 1000},
		{ID: "informational", Listener: "unix:" + informational, TimeoutMillis: 1000},
		{ID: "absent", Listener: "unix:/tmp/kgfn-no-such-dir/lsnr.sock", TimeoutMillis: 1000},
		{ID: "refused", URL: "http://127.0.0.1:1", TimeoutMillis: 1000},
	}
	r, err := New(fns, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"slow", ErrTimeout},
		{"exception", ErrFailed},
		{"badStatus", ErrBadResponse},
		{"fdkTimeout", ErrTimeout},
		{"informational", ErrBadResponse},
		{"absent", ErrUnavailable},
		{"refused", ErrUnavailable},
		{"nobody", ErrUnknownFunction},
	} {
		t.Run(tc.id, func(t *testing.T) {
			resp, err := r.Invoke(context.Background(), tc.id, &Request{HTTP: true, Method: "GET", URL: "/"})
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestInvokePlainHTTP(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Url", r.URL.RequestURI())
		w.Header().Set("X-Type", r.Header.Get("Content-Type"))
		w.Header().Set("X-Call-Id", r.Header.Get("Fn-Call-Id"))
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "for the connection only")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.WriteHeader(202)
		_, _ = w.Write(body)
	}))
	defer backend.Close()
	r, err := New([]config.Function{{ID: "fn", URL: backend.URL + "/fn/", TimeoutMillis: 1000}}, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		name            string
		req             *Request
		method, url, ct string
	}{
		{"http", &Request{HTTP: true, Method: "DELETE", URL: "/v1/x?a=1", Header: http.Header{"Content-Type": {"text/csv"}}, Body: strings.NewReader("b")}, "DELETE", "/fn/v1/x?a=1", "text/csv"},
		{"input", &Request{ContentType: "application/json", Body: strings.NewReader(`{"type":"TOKEN"}`)}, "POST", "/fn", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.Invoke(context.Background(), "fn", tc.req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Status != 202 || resp.Header.Get("X-Method") != tc.method || resp.Header.Get("X-Url") != tc.url || resp.Header.Get("X-Type") != tc.ct {
				t.Errorf("got %d %s %s %s, want 202 %s %s %s", resp.Status, resp.Header.Get("X-Method"), resp.Header.Get("X-Url"), resp.Header.Get("X-Type"), tc.method, tc.url, tc.ct)
			}
			if resp.Header.Get("X-Call-Id") == "" {
				t.Error("no Fn-Call-Id")
			}
			for _, hop := range []string{"Connection", "X-Hop", "Proxy-Authenticate"} {
				if resp.Header.Get(hop) != "" {
					t.Errorf("hop-by-hop %s passed", hop)
				}
			}
		})
	}
}

// TestInvokeFDKInput: a request that is not HTTP (an authorizer's input)
// reaches the FDK as its body with its Content-Type, without the HTTP
// gateway headers; the answer's status stays 200 and its headers decode.
func TestInvokeFDKInput(t *testing.T) {
	var got http.Header
	var gotBody string
	socket := serveFDK(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Fn-Http-H-X-Extra", "1")
		_, _ = io.WriteString(w, `{"active":true}`)
	})
	r, err := New([]config.Function{{ID: "authz", Listener: "unix:" + socket, TimeoutMillis: 1000}}, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	resp, err := r.Invoke(context.Background(), "authz", &Request{ContentType: "application/json",
		Body: strings.NewReader(`{"type":"TOKEN","token":"t"}`), ContentLength: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Status != 200 || string(body) != `{"active":true}` || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Extra") != "1" {
		t.Errorf("got %d %q %v", resp.Status, body, resp.Header)
	}
	if gotBody != `{"type":"TOKEN","token":"t"}` || got.Get("Content-Type") != "application/json" || got.Get("Fn-Call-Id") == "" || got.Get("Fn-Deadline") == "" {
		t.Errorf("the FDK got %q with %v", gotBody, got)
	}
	for _, name := range []string{"Fn-Intent", "Fn-Http-Method", "Fn-Http-Request-Url"} {
		if got.Get(name) != "" {
			t.Errorf("%s sent on a non-HTTP invocation", name)
		}
	}
}
