package gateway

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The fallback transport makes its TLS connections itself (dialTLSGuarded),
// so that HTTP/1.1 inside TLS is guarded too; an HTTP/2 backend must still
// get HTTP/2, with its connection reused.
func TestHTTPSBackendSpeaksHTTP2(t *testing.T) {
	var protos sync.Map
	var opened atomic.Int64
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "h2 ok")
	}))
	backend.EnableHTTP2 = true
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	backend.StartTLS()
	t.Cleanup(backend.Close)
	gw := startGateway(t, testPrefix, routesSpec(
		withBackendFields(httpRoute("/r", nil, backend.URL+"/r", nil), map[string]any{"isSslVerifyDisabled": true}),
	), nil)
	// The first request is a POST: until the backend has negotiated HTTP/2
	// once, a HEAD or a GET with a body gets a connection of its own (it
	// might be HTTP/1.1). After that they share the one HTTP/2 connection.
	for i, method := range []string{http.MethodPost, http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodPost, http.MethodHead} {
		var body io.Reader = strings.NewReader("payload")
		if method == http.MethodHead {
			body = nil
		}
		req, _ := http.NewRequest(method, gw.srv.URL+"/test3/r", body)
		resp, err := gw.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "h2 ok"
		if method == http.MethodHead {
			want = ""
		}
		if resp.StatusCode != http.StatusOK || string(got) != want {
			t.Fatalf("%s #%d: %d %q, want 200 %q", method, i, resp.StatusCode, got, want)
		}
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok {
		t.Error("the backend got no HTTP/2 request")
	}
	if _, ok := protos.Load("HTTP/1.1"); ok {
		t.Error("the backend got HTTP/1.1 requests")
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("backend accepted %d connections for 6 sequential requests, want 1 (HEAD and bodies on GET/DELETE need no connection of their own on HTTP/2)", n)
	}
}

// An HTTP/1.1 backend behind TLS that sends a body after its 204: the next
// request must not get those bytes as its answer (R14 inside TLS).
func TestHTTPSBackendPastA204IsNotReused(t *testing.T) {
	var mu sync.Mutex
	var held []net.Conn // hijacked connections, kept open so only the guard can retire them
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/poison" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON")
		_ = brw.Flush()
		mu.Lock()
		held = append(held, conn)
		mu.Unlock()
	}))
	backend.Config.ErrorLog = log.New(io.Discard, "", 0)
	backend.StartTLS() // HTTP/1.1 only: EnableHTTP2 is off
	t.Cleanup(func() {
		backend.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	gw := startGateway(t, testPrefix, routesSpec(
		withBackendFields(httpRoute("/{p}", nil, backend.URL+"/${request.path[p]}", nil), map[string]any{"isSslVerifyDisabled": true}),
	), nil)
	// Four clients at once, each alternating a poisoning request and a
	// normal one: a pooled poisoned connection would hand POISON to whoever
	// takes it next.
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				path, wantStatus, wantBody := "/ok", http.StatusOK, "ok"
				if i%2 == 0 {
					path, wantStatus, wantBody = "/poison", http.StatusNoContent, ""
				}
				req, _ := http.NewRequest(http.MethodPost, gw.srv.URL+"/test3"+path, strings.NewReader("x"))
				resp, err := gw.srv.Client().Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != wantStatus || string(body) != wantBody {
					errs <- fmt.Sprintf("POST %s: %d %q, want %d %q", path, resp.StatusCode, body, wantStatus, wantBody)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 3 {
			t.Error(e)
		}
	}
	if n > 3 {
		t.Errorf("... %d wrong answers in all", n)
	}
}
