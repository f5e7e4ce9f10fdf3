package adversarial

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// Response queue poisoning (attacks.md R14): a backend that writes past the
// end of its response (a body on HEAD, 204 or 304, more than its
// Content-Length, a whole second response) leaves bytes on its connection
// that the next request on it would take for its own response. Clients
// share the gateway's upstream connections, so those bytes must never reach
// another client. The backends here are bare TCP, so that they can misbehave
// as no net/http server would.

// rawBackend is a backend on bare TCP. It parses each request with
// http.ReadRequest, records it with the number of its connection and its
// place on it, and answers with whatever answer writes. It ignores
// Connection: close unless honourClose is set, so that a connection ends
// only when the gateway closes it.
type rawBackend struct {
	// answer writes the response to req on w: any bytes at all.
	answer func(w io.Writer, req rawRequest)
	// honourClose stops reading requests on a connection once a request
	// with Connection: close is answered; what follows on it is read and
	// dropped until the gateway closes. Default false.
	honourClose bool
	// skipBody names the methods whose body the backend never reads, so
	// that it parses the body as the next request: a "CL.0" server.
	// Default none.
	skipBody map[string]bool

	url string
	ln  net.Listener
	wg  sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  []net.Conn
	ended  map[int]bool // connections the gateway closed, by number
	reqs   []rawRequest
}

// rawRequest is one request a rawBackend received.
type rawRequest struct {
	Conn   int // the connection's number, from 1 in the order accepted
	Seq    int // the request's place on its connection, from 1
	Method string
	Path   string
	Header http.Header
	Body   string
	Close  bool // the request said Connection: close
}

// startRawBackend serves rb on 127.0.0.1 until the test ends; then it closes
// every connection and waits for its goroutines.
func startRawBackend(t *testing.T, rb *rawBackend) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rb.ln, rb.url, rb.ended = ln, "http://"+ln.Addr().String(), map[int]bool{}
	rb.wg.Add(1)
	go rb.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		rb.mu.Lock()
		rb.closed = true
		for _, c := range rb.conns {
			_ = c.Close()
		}
		rb.mu.Unlock()
		rb.wg.Wait()
	})
	return rb
}

func (rb *rawBackend) accept() {
	defer rb.wg.Done()
	for {
		c, err := rb.ln.Accept()
		if err != nil {
			return
		}
		rb.mu.Lock()
		if rb.closed {
			rb.mu.Unlock()
			_ = c.Close()
			return
		}
		rb.conns = append(rb.conns, c)
		id := len(rb.conns)
		rb.wg.Add(1)
		rb.mu.Unlock()
		go rb.serve(id, c)
	}
}

func (rb *rawBackend) serve(id int, c net.Conn) {
	defer rb.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for seq := 1; ; seq++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			rb.end(id)
			return
		}
		var body []byte
		if !rb.skipBody[req.Method] {
			body, _ = io.ReadAll(req.Body)
		}
		rec := rawRequest{Conn: id, Seq: seq, Method: req.Method, Path: req.URL.Path,
			Header: req.Header, Body: string(body), Close: req.Close}
		rb.mu.Lock()
		rb.reqs = append(rb.reqs, rec)
		rb.mu.Unlock()
		rb.answer(c, rec)
		if rb.honourClose && req.Close {
			_, _ = io.Copy(io.Discard, br)
			rb.end(id)
			return
		}
	}
}

func (rb *rawBackend) end(id int) {
	rb.mu.Lock()
	rb.ended[id] = true
	rb.mu.Unlock()
}

// hasEnded reports whether connection id was closed.
func (rb *rawBackend) hasEnded(id int) bool {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return rb.ended[id]
}

func (rb *rawBackend) count() int {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return len(rb.reqs)
}

func (rb *rawBackend) since(n int) []rawRequest {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return append([]rawRequest(nil), rb.reqs[n:]...)
}

// okResponse is an honest 200 carrying m as its X-Echo header and its body.
func okResponse(m string) string {
	return "HTTP/1.1 200 OK\r\nX-Echo: " + m + "\r\nContent-Length: " + strconv.Itoa(len(m)) + "\r\n\r\n" + m
}

// poisonResponse is a whole response that a backend writes where none
// belongs: taken for the answer to the next request on its connection, it
// would reach another client.
const poisonResponse = "HTTP/1.1 200 OK\r\nX-Echo: POISON\r\nContent-Length: 6\r\n\r\nPOISON"

// writeThenPoison writes head and then poisonResponse: in the same write,
// or as a second write after delay (the backend's own timing, part of the
// attack, not a wait for the test).
func writeThenPoison(w io.Writer, head string, delay time.Duration) {
	if delay == 0 {
		_, _ = io.WriteString(w, head+poisonResponse)
		return
	}
	_, _ = io.WriteString(w, head)
	time.Sleep(delay)
	_, _ = io.WriteString(w, poisonResponse)
}

// marker names one request in a poisoning load: its kind ('t' trigger, 'v'
// victim), its client and its number; always 10 bytes.
func marker(kind byte, client, n int) string { return fmt.Sprintf("%c%02d-%06d", kind, client, n) }

// misbehaviour is how a backend answers the trigger requests of a load.
type misbehaviour struct {
	// head is what precedes the poison, for the trigger with marker m.
	head func(m string) string
	// status is what the trigger's client must get; its body is m when
	// echoed, else empty.
	status int
	echoed bool
}

var (
	bodyOnHead = misbehaviour{status: http.StatusOK, head: func(m string) string {
		return "HTTP/1.1 200 OK\r\nX-Echo: " + m + "\r\nContent-Length: " + strconv.Itoa(len(poisonResponse)) + "\r\n\r\n"
	}}
	bodyOn204 = misbehaviour{status: http.StatusNoContent, head: func(m string) string {
		return "HTTP/1.1 204 No Content\r\nX-Echo: " + m + "\r\n\r\n"
	}}
	bodyOn304 = misbehaviour{status: http.StatusNotModified, head: func(m string) string {
		return "HTTP/1.1 304 Not Modified\r\nX-Echo: " + m + "\r\n\r\n"
	}}
	pastContentLength = misbehaviour{status: http.StatusOK, echoed: true, head: okResponse}
)

// poisonLoad is a run of clients sending triggers and victims at once.
type poisonLoad struct {
	// triggerMethod and victimMethod are GET, HEAD or POST (POST sends a
	// body, so it takes the gateway's http.Transport path; GET and HEAD
	// take the inline path).
	triggerMethod, victimMethod string
	bad                         misbehaviour
	// delay separates the poison from the head (0: the same write).
	delay time.Duration
	// keepAlive false sets the backend origin's keepAlive to false.
	keepAlive bool
}

const (
	poisonClients   = 4
	poisonPerClient = 50
	// poisonDeadline bounds a whole load, so a gateway that hangs fails the
	// test instead of stalling it.
	poisonDeadline = 5 * time.Second
)

// startPoisonRig serves a gateway with the route /m/{marker} to a backend
// that answers triggers (markers starting with 't') with l.bad followed by
// poisonResponse, and victims with okResponse.
func startPoisonRig(t *testing.T, l poisonLoad) (*gatewaytest.Gateway, *rawBackend) {
	t.Helper()
	rb := startRawBackend(t, &rawBackend{answer: func(w io.Writer, req rawRequest) {
		m := path.Base(req.Path)
		if !strings.HasPrefix(m, "t") {
			_, _ = io.WriteString(w, okResponse(m))
			return
		}
		writeThenPoison(w, l.bad.head(m), l.delay)
	}})
	o := gatewaytest.Options{}
	if !l.keepAlive {
		off := false
		o.Backends = []config.BackendOrigin{{Origin: rb.url, KeepAlive: &off}}
	}
	r := gatewaytest.Start(t, gatewaytest.Spec(nil, gatewaytest.HTTPRoute("/m/{marker}", rb.url+"/m/${request.path[marker]}", nil)), nil, o)
	return r, rb
}

// answer is what a client got.
type answer struct {
	status     int
	echo, body string
}

// sendMarked sends one request for marker m through the gateway.
func sendMarked(ctx context.Context, r *gatewaytest.Gateway, method, m string) (answer, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("payload of " + m)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL+"/test/m/"+m, body)
	if err != nil {
		return answer{}, err
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return answer{status: resp.StatusCode, echo: resp.Header.Get("X-Echo"), body: string(data)}, err
}

// run sends poisonClients×poisonPerClient requests through r,
// poisonClients at once; request n of client c is a trigger when n+c is
// even. Every client must get exactly the answer the backend gave its own
// request: its own marker, never another's, never the poison.
func (l poisonLoad) run(t *testing.T, r *gatewaytest.Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), poisonDeadline)
	defer cancel()
	var (
		mu       sync.Mutex
		problems []string
		foreign  int // answers carrying another request's bytes
		wg       sync.WaitGroup
	)
	report := func(mixed bool, format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		if mixed {
			foreign++
		}
		mu.Unlock()
	}
	for c := range poisonClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range poisonPerClient {
				trigger := (n+c)%2 == 0
				method, want := l.victimMethod, answer{status: http.StatusOK}
				m := marker('v', c, n)
				if trigger {
					method, want = l.triggerMethod, answer{status: l.bad.status}
					m = marker('t', c, n)
				}
				want.echo = m
				if !trigger || l.bad.echoed {
					want.body = m
				}
				if method == http.MethodHead {
					want.body = ""
				}
				got, err := sendMarked(ctx, r, method, m)
				switch {
				case err != nil:
					report(false, "%s %s: %v", method, m, err)
					if ctx.Err() != nil {
						return
					}
				case got != want:
					report(got.foreign(m), "%s %s: got status %d, X-Echo %q, body %q; want %d, %q, %q",
						method, m, got.status, got.echo, got.body, want.status, want.echo, want.body)
				}
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b string) int { // the poison first
			return cmp.Compare(strings.Count(b, "POISON"), strings.Count(a, "POISON"))
		})
		t.Errorf("of %d exchanges, %d got another request's bytes (the poison or another marker), %d others failed; the first:\n%s",
			poisonClients*poisonPerClient, foreign, len(problems)-foreign, strings.Join(problems[:min(len(problems), 5)], "\n"))
	}
}

// markerPattern matches any marker.
var markerPattern = regexp.MustCompile(`[tv][0-9]{2}-[0-9]{6}`)

// foreign reports whether a carries bytes of another request than m's: the
// poison, or another request's marker.
func (a answer) foreign(m string) bool {
	if strings.Contains(a.echo+a.body, "POISON") {
		return true
	}
	for _, seen := range markerPattern.FindAllString(a.echo+" "+a.body, -1) {
		if seen != m {
			return true
		}
	}
	return false
}

// triggersEndTheirConnection checks on the backend's side that no request
// followed a trigger on its connection, and that every request arrived
// exactly once.
func triggersEndTheirConnection(t *testing.T, reqs []rawRequest) {
	t.Helper()
	last := map[int]int{} // connection → highest request number on it
	seen := map[string]int{}
	for _, rec := range reqs {
		last[rec.Conn] = max(last[rec.Conn], rec.Seq)
		seen[path.Base(rec.Path)]++
	}
	for _, rec := range reqs {
		if m := path.Base(rec.Path); strings.HasPrefix(m, "t") && last[rec.Conn] > rec.Seq {
			t.Errorf("trigger %s was request %d on backend connection %d, which then carried %d requests: the connection was reused",
				m, rec.Seq, rec.Conn, last[rec.Conn])
		}
	}
	for m, n := range seen {
		if n != 1 {
			t.Errorf("backend received %s %d times, want once", m, n)
		}
	}
	if len(seen) != poisonClients*poisonPerClient {
		t.Errorf("backend received %d distinct requests, want %d", len(seen), poisonClients*poisonPerClient)
	}
}

// later is when a misbehaving backend writes the poison as a second write:
// after the gateway has read the response, before it is likely to reuse the
// connection.
const later = 5 * time.Millisecond

// pooledLoads runs each load against its own gateway and backend, with
// pooled (keep-alive) upstream connections, and checks on the backend's
// side too that no trigger's connection carried another request.
func pooledLoads(t *testing.T, loads map[string]poisonLoad) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(loads)) {
		l := loads[name]
		l.keepAlive = true
		t.Run(name, func(t *testing.T) {
			r, rb := startPoisonRig(t, l)
			l.run(t, r)
			reqs := rb.since(0)
			triggersEndTheirConnection(t, reqs)
			for _, rec := range reqs {
				if rec.Method == http.MethodHead && !rec.Close {
					t.Errorf("HEAD %s arrived without Connection: close", rec.Path)
				}
			}
		})
	}
}

// HEAD is always the inline path (it can carry no body, R13).
func TestR14BodyOnHead(t *testing.T) {
	pooledLoads(t, map[string]poisonLoad{
		"same write": {triggerMethod: http.MethodHead, victimMethod: http.MethodGet, bad: bodyOnHead},
		"5ms later":  {triggerMethod: http.MethodHead, victimMethod: http.MethodGet, bad: bodyOnHead, delay: later},
	})
}

func TestR14BodyOn204(t *testing.T) {
	pooledLoads(t, map[string]poisonLoad{
		"GET, same write":  {triggerMethod: http.MethodGet, victimMethod: http.MethodGet, bad: bodyOn204},
		"GET, 5ms later":   {triggerMethod: http.MethodGet, victimMethod: http.MethodGet, bad: bodyOn204, delay: later},
		"POST, same write": {triggerMethod: http.MethodPost, victimMethod: http.MethodPost, bad: bodyOn204},
		"POST, 5ms later":  {triggerMethod: http.MethodPost, victimMethod: http.MethodPost, bad: bodyOn204, delay: later},
	})
}

func TestR14BodyOn304(t *testing.T) {
	pooledLoads(t, map[string]poisonLoad{
		"GET, same write":  {triggerMethod: http.MethodGet, victimMethod: http.MethodGet, bad: bodyOn304},
		"GET, 5ms later":   {triggerMethod: http.MethodGet, victimMethod: http.MethodGet, bad: bodyOn304, delay: later},
		"POST, same write": {triggerMethod: http.MethodPost, victimMethod: http.MethodPost, bad: bodyOn304},
		"POST, 5ms later":  {triggerMethod: http.MethodPost, victimMethod: http.MethodPost, bad: bodyOn304, delay: later},
	})
}

// Bytes past the Content-Length in the same write are in the gateway's hands
// when the response ends: the connection must not carry another request.
func TestR14PastContentLength(t *testing.T) {
	pooledLoads(t, map[string]poisonLoad{
		"GET":  {triggerMethod: http.MethodGet, victimMethod: http.MethodGet, bad: pastContentLength},
		"POST": {triggerMethod: http.MethodPost, victimMethod: http.MethodPost, bad: pastContentLength},
	})
}

// A second response written well after the first one ended is, to the
// gateway, a response that has not come yet: nothing tells it apart from
// the answer to the next request. Only not reusing the connection helps,
// which is what an origin's keepAlive false is for.
func TestR14DelayedSecondResponseNeedsKeepAliveOff(t *testing.T) {
	const muchLater = 50 * time.Millisecond
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			l := poisonLoad{triggerMethod: method, victimMethod: method, bad: pastContentLength, delay: muchLater}
			r, rb := startPoisonRig(t, l)
			l.run(t, r)
			reqs := rb.since(0)
			conns := map[int]bool{}
			for _, rec := range reqs {
				conns[rec.Conn] = true
				if rec.Seq != 1 || !rec.Close {
					t.Errorf("%s was request %d on backend connection %d (Connection: close %v), want the first and only one, with close",
						rec.Path, rec.Seq, rec.Conn, rec.Close)
				}
			}
			if len(conns) != len(reqs) || len(reqs) != poisonClients*poisonPerClient {
				t.Errorf("backend got %d requests on %d connections, want %d on as many", len(reqs), len(conns), poisonClients*poisonPerClient)
			}
		})
	}
	// The control: with pooled connections the delayed response does reach
	// the next request, so the loads above would see it if keepAlive false
	// did not work. The delay is long, so the second request surely goes
	// out before it.
	t.Run("control: pooled connections", func(t *testing.T) {
		l := poisonLoad{bad: pastContentLength, delay: 300 * time.Millisecond, keepAlive: true}
		r, _ := startPoisonRig(t, l)
		ctx, cancel := context.WithTimeout(context.Background(), gatewaytest.ExchangeTimeout)
		defer cancel()
		first, err := sendMarked(ctx, r, http.MethodGet, marker('t', 0, 0))
		if err != nil || first.body != marker('t', 0, 0) {
			t.Fatalf("trigger: got %+v, %v; want its own answer", first, err)
		}
		second, err := sendMarked(ctx, r, http.MethodGet, marker('v', 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		if second.body != "POISON" {
			t.Errorf("with keepAlive the next request got %+v, want the delayed poison (the control shows the loads can see a mix-up)", second)
		}
	})
}
