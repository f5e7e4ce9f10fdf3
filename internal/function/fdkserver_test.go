package function

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveFDK serves handler on a unix socket in a temp dir the way an Fn FDK
// does (fdk-go: POST /call, Fn-Http-* headers) and returns the socket.
func serveFDK(t testing.TB, handler http.HandlerFunc) string {
	t.Helper()
	socket := filepath.Join(shortTempDir(t), "lsnr.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return socket
}

// echoFDK answers like an FDK function that echoes the HTTP request it
// was given: status from the X-Status header, method, URL and body back,
// every request header as X-Echo-<Name>.
func echoFDK(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/call" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	status := 200
	if s := r.Header.Get("Fn-Http-H-X-Status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	for name, values := range r.Header {
		if inner, ok := strings.CutPrefix(name, "Fn-Http-H-"); ok {
			w.Header()["Fn-Http-H-X-Echo-"+inner] = values
		}
	}
	w.Header().Set("Fn-Http-H-X-Method", r.Header.Get("Fn-Http-Method"))
	w.Header().Set("Fn-Http-H-X-Url", r.Header.Get("Fn-Http-Request-Url"))
	w.Header().Set("Fn-Http-H-X-Intent", r.Header.Get("Fn-Intent"))
	w.Header().Set("Fn-Http-H-X-Call-Id", r.Header.Get("Fn-Call-Id"))
	w.Header().Set("Fn-Http-H-X-Deadline", r.Header.Get("Fn-Deadline"))
	w.Header().Set("Fn-Http-Status", strconv.Itoa(status))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// shortTempDir is a temp dir with a path short enough for a unix socket.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := mkdirTempShort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll(dir) })
	return dir
}
