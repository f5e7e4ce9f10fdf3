package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAccessLogKeepsEveryLineUnderLoad runs keygate serve (the batching log
// writer, the access log's own encoder) with 16 clients sending as fast as
// they can to a proxied route whose backend takes 0-3 ms, then shuts it down
// while they still send. Every response a client received has exactly one
// access line, with its opc-request-id and status, and no line names a
// request nobody answered: no line is lost in the writer's buffer, at the
// batch boundaries, or at shutdown.
func TestAccessLogKeepsEveryLineUnderLoad(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	spec := fmt.Sprintf(`{"routes": [
	  {"path": "/a", "methods": ["GET"], "backend": {"type": "HTTP_BACKEND", "url": %q}},
	  {"path": "/s", "methods": ["GET"], "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 202, "body": "s"}}]}`,
		backend.URL+"/")
	file := filepath.Join(t.TempDir(), "spec.json")
	writeSpec(t, file, []byte(spec))

	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			logs := &lockedLog{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			go func() {
				done <- serveCommand(ctx, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs},
					[]string{"--spec", file, "--path-prefix", "/p", "--listen", "127.0.0.1:0",
						"--log-format", format, "--shutdown-timeout", "10s"}, nil)
			}()
			base := "http://" + listenAddress(t, logs, format, done)

			var mu sync.Mutex
			answered := map[string]int{} // opc-request-id -> status
			var wg sync.WaitGroup
			stopping := make(chan struct{})
			for c := 0; c < 16; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
					defer client.CloseIdleConnections()
					for i := 0; ; i++ {
						path := "/p/a"
						if i%5 == 4 {
							path = "/p/s"
						}
						resp, err := client.Get(base + path)
						if err != nil {
							select {
							case <-stopping:
								return // the listener closed: shutdown
							default:
								t.Errorf("GET %s before shutdown: %v", path, err)
								return
							}
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						mu.Lock()
						answered[resp.Header.Get("opc-request-id")] = resp.StatusCode
						mu.Unlock()
					}
				}()
			}
			time.Sleep(700 * time.Millisecond)
			close(stopping)
			cancel() // SIGTERM with the clients still sending
			if code := <-done; code != exitOK {
				t.Fatalf("serve exited %d\n%s", code, tail(logs.String()))
			}
			wg.Wait()

			logged := accessLines(t, logs.String(), format)
			if len(answered) < 200 {
				t.Fatalf("only %d requests answered: the test did not load the gateway", len(answered))
			}
			for id, status := range answered {
				got, ok := logged[id]
				switch {
				case !ok:
					t.Errorf("request %s answered %d has no access line", id, status)
				case got != status:
					t.Errorf("request %s answered %d, logged %d", id, status, got)
				}
			}
			for id := range logged {
				if _, ok := answered[id]; !ok {
					t.Errorf("access line for %s, a request no client got an answer to", id)
				}
			}
			t.Logf("%s: %d requests answered, %d access lines", format, len(answered), len(logged))
		})
	}
}

// listenAddress waits for serve's "listening" line in either format.
func listenAddress(t *testing.T, logs *lockedLog, format string, done <-chan int) string {
	t.Helper()
	re := regexp.MustCompile(`"message":"listening".*?"address":"([^"]+)"`)
	if format == "text" {
		re = regexp.MustCompile(`message=listening.*? address=(\S+)`)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before listening\n%s", code, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not listen\n%s", logs.String())
	return ""
}

var textAccessLine = regexp.MustCompile(`^time=\S+ level=INFO message=request opcRequestId=(\S+) method=GET path=\S+ status=(\d+) durationMs=\S+ bytes=\d+ deployment=/p route=/[as]$`)

// accessLines reads every access line of log: opc-request-id -> status. A
// request logged twice fails the test.
func accessLines(t *testing.T, log, format string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		var id string
		var status int
		switch {
		case format == "json" && strings.Contains(line, `"message":"request"`):
			var l struct {
				OpcRequestID string
				Status       int
				Route        string
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil || l.Route == "" {
				t.Fatalf("access line %q: %v (route %q)", line, err, l.Route)
			}
			id, status = l.OpcRequestID, l.Status
		case format == "text" && strings.Contains(line, "message=request"):
			m := textAccessLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("access line %q is not in the text shape", line)
			}
			id = m[1]
			_, _ = fmt.Sscan(m[2], &status)
		default:
			continue
		}
		if _, dup := out[id]; dup {
			t.Fatalf("request %s logged twice", id)
		}
		out[id] = status
	}
	return out
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// TestAsyncWriterBatches: lines written close together reach out in few
// writes (the point of the writer), and a lone line still arrives within
// a few batch delays without Close.
func TestAsyncWriterBatches(t *testing.T) {
	out := &countingWriter{}
	w := newAsyncWriter(out)
	defer w.Close()
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(w, "line %d\n", i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.lines() < 10000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := out.lines(); n != 10000 {
		t.Fatalf("%d lines arrived without Close, want 10000", n)
	}
	if n := out.writes(); n > 100 {
		t.Errorf("10000 lines took %d writes, want at most 100", n)
	}
	start := time.Now()
	fmt.Fprintf(w, "lone\n")
	for out.lines() < 10001 {
		if time.Since(start) > 2*time.Second {
			t.Fatal("a lone line did not arrive in 2 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAsyncWriterWaitsForSlowOutput: with an output slower than the lines,
// Write waits once maxPending bytes are queued; nothing is dropped, every
// goroutine's lines stay in its order, and memory stays bounded.
func TestAsyncWriterWaitsForSlowOutput(t *testing.T) {
	out := &countingWriter{delay: 20 * time.Millisecond}
	w := newAsyncWriter(out)
	line := strings.Repeat("x", 1000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1500; i++ { // 4 x 1.5 MB: more than maxPending
				fmt.Fprintf(w, "%d %04d %s\n", g, i, line)
			}
		}()
	}
	wg.Wait()
	w.Close()
	next := map[int]int{}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g, i int
		if _, err := fmt.Sscanf(l, "%d %d", &g, &i); err != nil {
			t.Fatalf("torn line %.40q", l)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g := 0; g < 4; g++ {
		if next[g] != 1500 {
			t.Errorf("goroutine %d: %d lines, want 1500", g, next[g])
		}
	}
	if m := out.largest(); m > maxPending+batchFlush {
		t.Errorf("a batch of %d bytes: the queue is not bounded by %d", m, maxPending)
	}
}

// countingWriter records what it is given, how many writes and the largest.
type countingWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	n     int
	max   int
	delay time.Duration
}

func (c *countingWriter) Write(p []byte) (int, error) {
	time.Sleep(c.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.max = max(c.max, len(p))
	return c.buf.Write(p)
}

func (c *countingWriter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *countingWriter) lines() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Count(c.buf.Bytes(), []byte("\n"))
}

func (c *countingWriter) writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *countingWriter) largest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

// BenchmarkAsyncWriter is the writer's share of a log line: 16 goroutines
// per core writing 300-byte lines to a file, as keygate serve's requests
// do to a redirected stderr.
func BenchmarkAsyncWriter(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := newAsyncWriter(f)
	line := []byte(strings.Repeat("x", 299) + "\n")
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = w.Write(line)
		}
	})
	w.Close()
}
