package adversarial

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// Resource limits under abuse (attacks.md R9 and T12): idle and slow
// connections, a huge body, huge headers and tokens, and the goroutines all
// of it leaves behind. Every test runs the gateway behind gateway.NewServer
// with keygate's own limits.

const (
	idleConns     = 2000
	slowlorisConn = 200
	hugeBody      = 100 << 20
)

// limitsRig is a gateway with a stock route, a backend route and an
// authenticated route.
func limitsRig(t *testing.T) *gatewaytest.Gateway {
	t.Helper()
	b := gatewaytest.NewBackend(t)
	auth := gatewaytest.JWTAuth(gatewaytest.StaticKeys(gatewaytest.RSA("rsa").JWK(t)))
	auth["isAnonymousAccessAllowed"] = true
	sp := gatewaytest.Spec(auth,
		gatewaytest.StockRoute("/stock", 200, "stock ok", gatewaytest.Anonymous()),
		gatewaytest.HTTPRoute("/upload", b.URL+"/upload", gatewaytest.Anonymous()),
		gatewaytest.HTTPRoute("/r", b.URL+"/r", nil),
	)
	return gatewaytest.Start(t, sp, b, gatewaytest.Options{Now: gatewaytest.FixedClock})
}

// fileLimit makes room for n more descriptors (each loopback connection
// costs two: ours and the gateway's) and returns how many connections fit.
// It raises RLIMIT_NOFILE up to the hard limit when needed, and says in the
// log when even that is too little.
func fileLimit(t *testing.T, want int) int {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Logf("RLIMIT_NOFILE unknown (%v); trying %d connections", err, want)
		return want
	}
	const reserve = 512 // the test binary's own files, servers, clients
	need := uint64(2*want + reserve)
	if lim.Cur < need && lim.Cur < lim.Max {
		raised := lim
		raised.Cur = min(need, lim.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			t.Logf("raising RLIMIT_NOFILE from %d to %d: %v", lim.Cur, raised.Cur, err)
		} else {
			t.Logf("raised RLIMIT_NOFILE from %d to %d", lim.Cur, raised.Cur)
			lim = raised
		}
	}
	if lim.Cur >= need {
		return want
	}
	fit := int((lim.Cur - reserve) / 2)
	t.Logf("RLIMIT_NOFILE is %d (hard %d): LOWERED the connection count from %d to %d", lim.Cur, lim.Max, want, fit)
	return fit
}

// openIdle opens n connections to addr that send nothing.
func openIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, gatewaytest.ExchangeTimeout)
		if err != nil {
			closeAll(conns)
			t.Fatalf("idle connection %d of %d: %v", i+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// slowloris opens n connections that send a request head one header line
// at a time, a line every interval, never finishing it, until stop closes.
func slowloris(t *testing.T, addr string, n int, interval time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	t.Helper()
	conns := openIdle(t, addr, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			defer c.Close()
			if _, err := fmt.Fprintf(c, "GET /test/stock HTTP/1.1\r\nHost: gateway.test\r\n"); err != nil {
				return
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for line := 0; ; line++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := fmt.Fprintf(c, "X-Slow-%d-%d: a\r\n", i, line); err != nil {
					return // the gateway gave up on us: the point of the limit
				}
			}
		})
	}
	return &wg
}

// normalClientServed fails unless a new client gets its answer promptly.
func normalClientServed(t *testing.T, r *gatewaytest.Gateway) {
	t.Helper()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Get(r.URL + "/test/stock")
	if err != nil {
		t.Fatalf("a normal client beside the abuse: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "stock ok" {
		t.Errorf("normal client got %d %q, want 200 %q", resp.StatusCode, body, "stock ok")
	}
	tok := validToken(t)
	r.Passes(t, "/test/r", gatewaytest.Bearer(tok))
	t.Logf("normal client served in %v", time.Since(start).Round(time.Millisecond))
}

func TestIdleAndSlowlorisConnections(t *testing.T) {
	r := limitsRig(t)
	n := fileLimit(t, idleConns+slowlorisConn)
	idle := openIdle(t, r.Addr, n-slowlorisConn)
	defer closeAll(idle)
	stop := make(chan struct{})
	wg := slowloris(t, r.Addr, slowlorisConn, 200*time.Millisecond, stop)
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(500 * time.Millisecond) // let the slow heads grow
	t.Logf("%d idle and %d slowloris connections open", len(idle), slowlorisConn)
	normalClientServed(t, r)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// upload sends a body of size bytes (chunked or with Content-Length) to
// path on a new connection and returns the response status, how many body
// bytes the client had written when the response came, and how many in all.
func upload(t *testing.T, addr, path string, size int64, chunked bool) (status int, atResponse, total int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	head := "POST " + path + " HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/octet-stream\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.FormatInt(size, 10) + "\r\n\r\n"
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	cw := &countingWriter{w: conn}
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		chunk := make([]byte, 64<<10)
		for sent := int64(0); sent < size; sent += int64(len(chunk)) {
			var err error
			if chunked {
				_, err = fmt.Fprintf(cw, "%x\r\n%s\r\n", len(chunk), chunk)
			} else {
				_, err = cw.Write(chunk)
			}
			if err != nil {
				return // cut off
			}
		}
		if chunked {
			_, _ = io.WriteString(cw, "0\r\n\r\n")
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response while uploading: %v", err)
	}
	atResponse = cw.n.Load()
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	conn.Close() // ends the writer if the gateway kept reading
	<-writeDone
	return resp.StatusCode, atResponse, cw.n.Load()
}

func TestHugeBodyCutOff(t *testing.T) {
	r := limitsRig(t)
	// What the kernel buffers on loopback is written but never read: up to
	// a few MiB. A stock route reads nothing; a backend route streams up to
	// its 20 MB body limit (OCI's) before the 413.
	const buffers = 16 << 20
	tests := []struct {
		name       string
		path       string
		chunked    bool
		wantStatus int
		readBound  int64
	}{
		{"stock route, Content-Length", "/test/stock", false, http.StatusOK, buffers},
		{"stock route, chunked", "/test/stock", true, http.StatusOK, buffers},
		{"backend route, Content-Length", "/test/upload", false, http.StatusRequestEntityTooLarge, buffers},
		{"backend route, chunked", "/test/upload", true, http.StatusRequestEntityTooLarge, 20<<20 + buffers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.Backend.Count()
			start := time.Now()
			status, atResponse, total := upload(t, r.Addr, tt.path, hugeBody, tt.chunked)
			t.Logf("status %d after %v; client had written %d bytes at the response, %d in all",
				status, time.Since(start).Round(time.Millisecond), atResponse, total)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if total > tt.readBound {
				t.Errorf("the client wrote %d bytes of %d: the gateway kept reading", total, hugeBody)
			}
			if tt.wantStatus != http.StatusOK {
				for _, got := range r.Backend.Since(before) {
					if got.BodySize >= hugeBody {
						t.Errorf("backend received the whole %d-byte body", got.BodySize)
					}
				}
			}
		})
	}
	normalClientServed(t, r)
}

func TestHeaderAndTokenCaps(t *testing.T) {
	r := limitsRig(t)
	raw := func(lines ...string) int {
		head := "GET /test/r HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
		resp, _ := gatewaytest.RawDo(t, r.Addr, http.MethodGet, head)
		return resp.StatusCode
	}
	t.Run("header block over 64 KiB: 431", func(t *testing.T) {
		many := make([]string, 40)
		for i := range many {
			many[i] = fmt.Sprintf("X-Pad-%d: %s", i, strings.Repeat("p", 2048))
		}
		for name, lines := range map[string][]string{
			"one 80 KiB header":     {"X-Big: " + strings.Repeat("a", 80<<10)},
			"40 headers of 2 KiB":   append(many, many...),
			"1 MB token":            {"Authorization: Bearer " + strings.Repeat("a", 1<<20)},
			"64 KiB of dots":        {"Authorization: Bearer " + strings.Repeat(".", 64<<10+4<<10)},
			"JSON nested 100k deep": {"Authorization: Bearer " + gatewaytest.Forge(rsaHeader(""), `{"a":`+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)+`}`, []byte("s"))},
			// net/http lets MaxHeaderBytes + 4 KiB through (slack for the
			// request line), so this is the first size it must refuse.
			"68 KiB header + a token": {"X-Big: " + strings.Repeat("a", 68<<10), "Authorization: Bearer " + validToken(t)},
		} {
			t.Run(name, func(t *testing.T) {
				before := r.Backend.Count()
				if got := raw(lines...); got != http.StatusRequestHeaderFieldsTooLarge {
					t.Errorf("status = %d, want 431", got)
				}
				if n := r.Backend.Count() - before; n != 0 {
					t.Errorf("backend received %d requests, want none", n)
				}
			})
		}
	})
	t.Run("token of 16 to 60 KiB: 401 token_too_large", func(t *testing.T) {
		for _, size := range []int{16<<10 + 1, 32 << 10, 48 << 10, 60 << 10} {
			t.Run(strconv.Itoa(size), func(t *testing.T) {
				pad := strings.Repeat("A", size*3/4)
				tok := validTokenWith(t, map[string]any{"pad": pad})
				if len(tok) < size || len(tok) > 62<<10 {
					// Trim the padding until the token is the size wanted.
					pad = pad[:len(pad)-(len(tok)-size)]
					tok = validTokenWith(t, map[string]any{"pad": pad})
				}
				if len(tok) <= 16<<10 || len(tok) > 62<<10 {
					t.Fatalf("token is %d bytes, want 16 KiB < size <= 62 KiB", len(tok))
				}
				r.RefusedFor(t, "/test/r", gatewaytest.Bearer(tok), http.StatusUnauthorized, "token_too_large")
			})
		}
	})
	t.Run("a 16 KiB token still fits", func(t *testing.T) {
		tok := validTokenWith(t, map[string]any{"pad": strings.Repeat("A", 11_500)})
		if len(tok) > 16<<10 {
			t.Fatalf("token is %d bytes, want at most 16 KiB", len(tok))
		}
		r.Passes(t, "/test/r", gatewaytest.Bearer(tok))
	})
}

func TestGoroutinesReturnToBaseline(t *testing.T) {
	r := limitsRig(t)
	normalClientServed(t, r)
	r.Client.CloseIdleConnections()
	settle := func() int {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	baseline := settle()

	// The abuse: idle and slow connections, cut uploads, oversized heads.
	n := fileLimit(t, 500+100)
	idle := openIdle(t, r.Addr, n-100)
	stop := make(chan struct{})
	wg := slowloris(t, r.Addr, 100, 100*time.Millisecond, stop)
	for range 3 {
		upload(t, r.Addr, "/test/stock", 32<<20, true)
		upload(t, r.Addr, "/test/upload", 32<<20, false)
	}
	for range 10 {
		resp, _ := gatewaytest.RawDo(t, r.Addr, http.MethodGet,
			"GET /test/r HTTP/1.1\r\nHost: gateway.test\r\nX-Big: "+strings.Repeat("a", 100<<10)+"\r\n\r\n")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("oversized head: status %d, want 431", resp.StatusCode)
		}
	}
	during := runtime.NumGoroutine()
	close(stop)
	wg.Wait()
	closeAll(idle)
	r.Client.CloseIdleConnections()

	const tolerance = 10
	var now int
	ok := waitFor(5*time.Second, func() bool { now = settle(); return now <= baseline+tolerance })
	t.Logf("goroutines: %d before, %d during the abuse, %d after", baseline, during, now)
	if !ok {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines = %d after the abuse ended, want at most %d (baseline %d + %d)\n%s",
			now, baseline+tolerance, baseline, tolerance, buf)
	}
}
