package function

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// ErrClosed is returned by Apply on a closed Registry.
var ErrClosed = errors.New("function registry is closed")

// Registry is keygate's function registry: the functions of config's
// functions: list, by id. It lives as long as the server, across reloads:
// Apply swaps in a new list, keeping the process of every supervised entry
// that did not change. It is safe for concurrent use.
type Registry struct {
	log *slog.Logger
	// now is the clock for Fn-Deadline and backoff; time.Now.
	now func() time.Time

	mu      sync.Mutex // serialises Apply and Close
	closed  bool
	current atomic.Pointer[map[string]*endpoint]
}

// endpoint is one function as configured, ready to call.
type endpoint struct {
	cfg     config.Function
	timeout time.Duration
	caller  caller
	// proc is the supervised process; nil when keygate does not start it.
	proc *process
}

// caller speaks one delivery protocol.
type caller interface {
	call(ctx context.Context, inv invocation) (*Response, error)
	close()
}

// invocation is a Request with what the registry adds to it.
type invocation struct {
	*Request
	id       string
	callID   string
	deadline time.Time
}

// NewRegistry returns an empty registry logging to log (supervised
// processes' output included).
func NewRegistry(log *slog.Logger) *Registry {
	r := &Registry{log: log, now: time.Now}
	empty := map[string]*endpoint{}
	r.current.Store(&empty)
	return r
}

// New returns a registry holding fns, their processes started.
func New(fns []config.Function, log *slog.Logger) (*Registry, error) {
	r := NewRegistry(log)
	if err := r.Apply(fns); err != nil {
		return nil, err
	}
	return r, nil
}

// Apply makes fns the registry's functions (a validated config's list):
// entries whose settings did not change keep their endpoint and process; a
// removed or changed entry's process is stopped (a changed one before its
// successor starts, as they share the socket); new processes start in the
// background, and an invocation waits for its function's socket.
func (r *Registry) Apply(fns []config.Function) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	old := *r.current.Load()
	next := make(map[string]*endpoint, len(fns))
	var retired []*endpoint
	for _, f := range fns {
		if ep, ok := old[f.ID]; ok && reflect.DeepEqual(ep.cfg, f) {
			next[f.ID] = ep
			continue
		}
		next[f.ID] = nil // built below, once the entries it replaces are stopped
	}
	for id, ep := range old {
		if next[id] != ep {
			retired = append(retired, ep)
		}
	}
	// A changed entry's process must be gone before its successor binds
	// the same socket; removed ones are stopped at the same time.
	stopAll(retired)
	for _, f := range fns {
		if next[f.ID] == nil {
			next[f.ID] = r.newEndpoint(f)
		}
	}
	r.current.Store(&next)
	return nil
}

// newEndpoint builds the caller for f and starts its process if it has one.
func (r *Registry) newEndpoint(f config.Function) *endpoint {
	ep := &endpoint{cfg: f, timeout: f.Timeout()}
	if f.URL != "" {
		ep.caller = newHTTPCaller(f.URL)
		return ep
	}
	ep.caller = newFDKCaller(f.SocketPath())
	if len(f.Command) > 0 {
		ep.proc = startProcess(f, r.log.With("function", f.ID), r.now)
	}
	return ep
}

// stopAll stops the processes of eps in parallel and closes their callers.
func stopAll(eps []*endpoint) {
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ep.proc != nil {
				ep.proc.stop()
			}
			ep.caller.close()
		}()
	}
	wg.Wait()
}

// Close stops every supervised process (SIGTERM, then SIGKILL after a
// grace period) and waits for them. Invocations after Close fail with
// ErrUnknownFunction.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	old := *r.current.Load()
	empty := map[string]*endpoint{}
	r.current.Store(&empty)
	eps := make([]*endpoint, 0, len(old))
	for _, ep := range old {
		eps = append(eps, ep)
	}
	stopAll(eps)
	return nil
}

// IDs lists the registry's function ids, sorted.
func (r *Registry) IDs() []string {
	cur := *r.current.Load()
	ids := make([]string, 0, len(cur))
	for id := range cur {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Has reports whether id is in the registry.
func (r *Registry) Has(id string) bool {
	_, ok := (*r.current.Load())[id]
	return ok
}

// Invoke calls function id with req within the function's timeout. Errors
// match ErrUnknownFunction, ErrTimeout, ErrUnavailable or ErrFailed, or
// are ctx's error when the caller gave up first. The timeout goes on
// applying while the response body is read.
func (r *Registry) Invoke(ctx context.Context, id string, req *Request) (*Response, error) {
	ep, ok := (*r.current.Load())[id]
	if !ok {
		return nil, fmt.Errorf("function %q: %w", id, ErrUnknownFunction)
	}
	ctx, cancel := context.WithTimeout(ctx, ep.timeout)
	deadline, _ := ctx.Deadline()
	if ep.proc != nil {
		if err := ep.proc.awaitReady(ctx); err != nil {
			err = classify(ctx, err)
			cancel()
			return nil, fmt.Errorf("function %q: %w", id, err)
		}
	}
	resp, err := ep.caller.call(ctx, invocation{Request: req, id: id, callID: newCallID(), deadline: deadline})
	if err != nil {
		err = classify(ctx, err)
		cancel()
		return nil, fmt.Errorf("function %q: %w", id, err)
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, ctx: ctx, cancel: cancel}
	return resp, nil
}

// classify turns a failed call into the package's errors: a passed
// deadline is a timeout, the caller's cancellation stays what it is, and
// anything else is the function being unavailable unless already typed.
func classify(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrUnavailable), errors.Is(err, ErrFailed):
		return err
	default:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}

// timedBody releases the invocation's timeout when closed, and reports a
// read cut by it as ErrTimeout.
type timedBody struct {
	io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return n, err
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// newCallID returns a fresh Fn-Call-Id: 128 random bits in hex.
func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
