package gateway

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
)

// fnSocket serves handler on a unix socket as an Fn FDK does (POST /call)
// and returns the socket's path.
func fnSocket(t testing.TB, handler http.HandlerFunc) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "kgfn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "lsnr.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return socket
}

// fnEcho is an FDK function answering with what it was given: the HTTP
// request in X-Method, X-Url, X-Got-<Header>; status from the client's
// X-Want-Status; body echoed.
func fnEcho(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	for name, values := range r.Header {
		if inner, ok := strings.CutPrefix(name, "Fn-Http-H-"); ok {
			w.Header()["Fn-Http-H-X-Got-"+inner] = values
		}
	}
	w.Header().Set("Fn-Http-H-X-Method", r.Header.Get("Fn-Http-Method"))
	w.Header().Set("Fn-Http-H-X-Url", r.Header.Get("Fn-Http-Request-Url"))
	w.Header().Set("Fn-Http-H-Opc-Request-Id", "from-the-function")
	w.Header().Set("Fn-Http-H-Connection", "close")
	status := "200"
	if s := r.Header.Get("Fn-Http-H-X-Want-Status"); s != "" {
		status = s
	}
	w.Header().Set("Fn-Http-Status", status)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(body)
}

// functionGateway compiles spec under /fn with a registry holding fns.
func functionGateway(t *testing.T, spec map[string]any, fns []config.Function) (*testGateway, *Gateway) {
	t.Helper()
	reg, err := function.New(fns, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := compileSpec(t, "/fn", spec, &config.Gateway{Functions: fns}, Options{Logger: log, Functions: reg})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &testGateway{srv: srv, log: logs}, g
}

func functionRoute(path, id string) map[string]any {
	return map[string]any{"path": path, "backend": map[string]any{"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": id}}
}

func TestFunctionBackendRoundTrip(t *testing.T) {
	socket := fnSocket(t, fnEcho)
	route := functionRoute("/pets/{id}", "ocid1.fnfunc.oc1..echo")
	route["requestPolicies"] = map[string]any{"headerTransformations": map[string]any{
		"setHeaders": map[string]any{"items": []any{map[string]any{"name": "X-Pet", "values": []any{"${request.path[id]}"}}}}}}
	tg, _ := functionGateway(t, routesSpec(route),
		[]config.Function{{ID: "ocid1.fnfunc.oc1..echo", Listener: "unix:" + socket, TimeoutMillis: 2000}})

	req, _ := http.NewRequest("PATCH", tg.srv.URL+"/fn/pets/7?a=1&b=x%20y", strings.NewReader(`{"n":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Want-Status", "201")
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "dropped")
	// A client cannot speak the Fn protocol to the function: its Fn-*
	// headers arrive prefixed, as any header does.
	req.Header.Set("Fn-Http-Method", "DELETE")
	req.Header.Set("Fn-Http-Request-Url", "/admin")
	req.Header.Set("Fn-Intent", "cloudevent")
	req.Header.Set("Fn_Http_Method", "DELETE")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(body) != `{"n":1}` {
		t.Fatalf("got %d %q, want 201 and the body echoed", resp.StatusCode, body)
	}
	for _, c := range []struct{ name, want string }{
		{"X-Method", "PATCH"},
		{"X-Url", "/fn/pets/7?a=1&b=x%20y"},
		{"X-Got-Content-Type", "application/json"},
		{"X-Got-X-Pet", "7"},
		{"X-Got-X-Forwarded-For", "127.0.0.1"},
		{"X-Got-X-Hop", ""},
		{"Content-Type", "text/plain"},
		{"Connection", ""},
		{"X-Got-Fn-Http-Method", "DELETE"},
		{"X-Got-Fn-Intent", "cloudevent"},
	} {
		if got := resp.Header.Get(c.name); got != c.want {
			t.Errorf("%s = %q, want %q", c.name, got, c.want)
		}
	}
	if got, sent := resp.Header.Get("Opc-Request-Id"), resp.Header.Get("X-Got-Opc-Request-Id"); got == "" || got == "from-the-function" || got != sent {
		t.Errorf("opc-request-id %q (function got %q), want the gateway's, also sent to the function", got, sent)
	}
}

func TestFunctionBackendFailures(t *testing.T) {
	slow := fnSocket(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	crash := fnSocket(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		_, _ = io.WriteString(w, `{"message":"Exception in function, consult logs for details"}`)
	})
	garbage := fnSocket(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Fn-Http-Status", "two hundred")
	})
	echo := fnSocket(t, fnEcho)
	fns := []config.Function{
		{ID: "slow", Listener: "unix:" + slow, TimeoutMillis: 200},
		{ID: "crash", Listener: "unix:" + crash, TimeoutMillis: 2000},
		{ID: "garbage", Listener: "unix:" + garbage, TimeoutMillis: 2000},
		{ID: "down", Listener: "unix:/tmp/kgfn-none/lsnr.sock", TimeoutMillis: 2000},
		{ID: "echo", Listener: "unix:" + echo, TimeoutMillis: 2000},
	}
	tg, _ := functionGateway(t, routesSpec(functionRoute("/slow", "slow"), functionRoute("/crash", "crash"),
		functionRoute("/garbage", "garbage"), functionRoute("/down", "down"), functionRoute("/echo", "echo")), fns)
	for _, tc := range []struct {
		path, method string
		body         io.Reader
		status       int
		code         string
	}{
		{"/fn/slow", "GET", nil, 504, "functionBackend.timeout"},
		{"/fn/crash", "GET", nil, 502, "functionBackend.badGateway"},
		{"/fn/garbage", "GET", nil, 502, "functionBackend.badResponse"},
		{"/fn/down", "GET", nil, 502, "functionBackend.serviceUnavailable"},
		{"/fn/echo", "POST", strings.NewReader(strings.Repeat("x", 6<<20+1)), 413, "request.bodyTooLarge"},
		{"/fn/echo", "POST", io.MultiReader(strings.NewReader(strings.Repeat("x", 6<<20)), strings.NewReader("y")), 413, "request.bodyTooLarge"},
	} {
		t.Run(tc.path+" "+tc.code, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tg.srv.URL+tc.path, tc.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := `{"code":` + strconv.Itoa(tc.status)
			if resp.StatusCode != tc.status || !strings.HasPrefix(string(body), want) {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if !strings.Contains(tg.log.String(), `"code":"`+tc.code+`"`) {
				t.Errorf("no execution log line with code %s:\n%s", tc.code, tg.log.String())
			}
		})
	}
	// Exactly the limit passes.
	req, _ := http.NewRequest("POST", tg.srv.URL+"/fn/echo", io.MultiReader(strings.NewReader(strings.Repeat("x", 6<<20))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n != 6<<20 {
		t.Errorf("a body of exactly 6 MB: got %d with %d bytes back, want 200 and all of it", resp.StatusCode, n)
	}
}

func TestFunctionBackendDecideNeverCalls(t *testing.T) {
	calls := 0
	socket := fnSocket(t, func(w http.ResponseWriter, r *http.Request) { calls++ })
	_, g := functionGateway(t, routesSpec(functionRoute("/f", "ocid1.fnfunc.oc1..x")),
		[]config.Function{{ID: "ocid1.fnfunc.oc1..x", Listener: "unix:" + socket}})
	d := g.Decide(httptest.NewRequest("GET", "/fn/f", nil))
	if !d.Accepted || d.Function != "ocid1.fnfunc.oc1..x" || d.Backend != "ORACLE_FUNCTIONS_BACKEND ocid1.fnfunc.oc1..x" {
		t.Errorf("decision %+v, want accepted for the function", d)
	}
	if d.Forward == nil || d.Forward.Method != "GET" || d.Forward.URL != "/fn/f" || d.Forward.Header.Get("Opc-Request-Id") == "" {
		t.Errorf("decision's forwarded request %+v, want what the function would get", d.Forward)
	}
	if calls != 0 {
		t.Errorf("Decide called the function %d times", calls)
	}
}

func TestFunctionBackendMetrics(t *testing.T) {
	ok := fnSocket(t, fnEcho)
	slow := fnSocket(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	fns := []config.Function{{ID: "ok", Listener: "unix:" + ok, TimeoutMillis: 2000}, {ID: "slow", Listener: "unix:" + slow, TimeoutMillis: 100}}
	reg, err := function.New(fns, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	m := NewMetrics()
	g := compileSpec(t, "/fn", routesSpec(functionRoute("/ok", "ok"), functionRoute("/slow", "slow")),
		&config.Gateway{Functions: fns}, Options{Logger: slog.New(slog.DiscardHandler), Functions: reg, Metrics: m})
	for _, path := range []string{"/fn/ok", "/fn/ok", "/fn/slow"} {
		g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`keygate_function_invocations_total{function="ok",result="functionBackend.successfulRequest"} 2`,
		`keygate_function_invocations_total{function="slow",result="functionBackend.timeout"} 1`,
		`keygate_backend_duration_seconds_count{deployment="/fn",route="/ok"} 2`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}
