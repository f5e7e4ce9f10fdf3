package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// TestMain doubles the test binary as a function process: with
// KEYGATE_FN_HELPER set it serves the FDK protocol on FN_LISTENER,
// answering its pid, as a supervised command: would.
func TestMain(m *testing.M) {
	if os.Getenv("KEYGATE_FN_HELPER") != "" {
		helperFunction()
		return
	}
	os.Exit(m.Run())
}

func helperFunction() {
	socket := strings.TrimPrefix(os.Getenv("FN_LISTENER"), "unix:")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(2)
	}
	fmt.Println("helper listening as", os.Getenv("FN_FN_ID"), os.Getenv("FN_FORMAT"))
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Fn-Http-H-X-Exit") != "" {
			os.Exit(3)
		}
		w.Header().Set("Fn-Http-Status", "200")
		_, _ = io.WriteString(w, strconv.Itoa(os.Getpid()))
	}))
}

func helperEntry(t *testing.T, id, dir string) config.Function {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return config.Function{ID: id, Listener: "unix:" + filepath.Join(dir, "run", id+".sock"), TimeoutMillis: 5000, // run/ is created by keygate
		Command: []string{exe}, Env: map[string]string{"KEYGATE_FN_HELPER": "1"}, Dir: dir}
}

func pidOf(t *testing.T, r *Registry, id string, header http.Header) (int, error) {
	t.Helper()
	resp, err := r.Invoke(context.Background(), id, &Request{HTTP: true, Method: "GET", URL: "/", Header: header})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strconv.Atoi(string(b))
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestSupervisedProcessAcrossApply(t *testing.T) {
	dir := shortTempDir(t)
	a, b := helperEntry(t, "a", dir), helperEntry(t, "b", dir)
	r, err := New([]config.Function{a, b}, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pidA, err := pidOf(t, r, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	pidB, err := pidOf(t, r, "b", nil)
	if err != nil {
		t.Fatal(err)
	}

	// Unchanged a keeps its process; changed b is restarted.
	b2 := b
	b2.TimeoutMillis = 4000
	if err := r.Apply([]config.Function{a, b2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := pidOf(t, r, "a", nil); got != pidA {
		t.Errorf("unchanged entry: pid %d, want %d kept", got, pidA)
	}
	newB, err := pidOf(t, r, "b", nil)
	if err != nil || newB == pidB || alive(pidB) {
		t.Errorf("changed entry: pid %d (%v), want a new process and %d gone", newB, err, pidB)
	}

	// Removed b is stopped and unknown.
	if err := r.Apply([]config.Function{a}); err != nil {
		t.Fatal(err)
	}
	if alive(newB) {
		t.Errorf("removed entry's process %d still runs", newB)
	}
	if _, err := pidOf(t, r, "b", nil); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("removed entry: %v, want ErrUnknownFunction", err)
	}

	// A crash is restarted; calls while it is down fail at once.
	if _, err := pidOf(t, r, "a", http.Header{"X-Exit": {"1"}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("the crashing call: %v, want ErrUnavailable", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := pidOf(t, r, "a", nil)
		if err == nil {
			if got == pidA {
				t.Errorf("pid %d after a crash, want a new process", got)
			}
			pidA = got
			break
		}
		if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("after the crash: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Close stops every process.
	r.Close()
	if alive(pidA) {
		t.Errorf("process %d runs after Close", pidA)
	}
	if err := r.Apply([]config.Function{a}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v, want ErrClosed", err)
	}
}

func TestSupervisedProcessThatCannotStart(t *testing.T) {
	dir := shortTempDir(t)
	f := config.Function{ID: "x", Listener: "unix:" + filepath.Join(dir, "x.sock"), TimeoutMillis: 500,
		Command: []string{filepath.Join(dir, "no-such-program")}, Dir: dir}
	r, err := New([]config.Function{f}, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	time.Sleep(50 * time.Millisecond)
	if _, err := pidOf(t, r, "x", nil); !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, want the function unavailable", err)
	}
}
