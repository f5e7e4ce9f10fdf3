package function

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Supervision timing.
const (
	// stopGrace is how long a function has to exit after SIGTERM before
	// SIGKILL.
	stopGrace = 5 * time.Second
	// minBackoff and maxBackoff bound the wait before a restart; it
	// doubles with each exit that comes soon after a start.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
	// healthyRun is how long a process must have run for its exit to
	// reset the backoff.
	healthyRun = 10 * time.Second
	// socketPoll is how often a starting process's socket is tried.
	socketPoll = 10 * time.Millisecond
	// maxLogLine bounds one line of a function's output in keygate's log.
	maxLogLine = 16 << 10
)

// inheritedEnv are the variables of keygate's environment a function's
// process gets; the rest of its environment is its entry's env.
var inheritedEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// errNotRunning is why a call to a function whose process is down fails.
var errNotRunning = errors.New("the function's process is not running (restarting after an exit)")

// process supervises one function's process: start, wait for its socket,
// restart with backoff when it exits, stop on demand.
type process struct {
	cfg    config.Function
	socket string
	log    *slog.Logger
	now    func() time.Time

	mu sync.Mutex
	// ready is closed once the current process's socket accepts; replaced
	// when the process exits.
	ready chan struct{}
	// down is true between an exit and the next start, when a call fails
	// at once instead of waiting.
	down bool

	quit chan struct{} // closed by stop
	done chan struct{} // closed when the supervisor has ended
	once sync.Once
}

// startProcess starts supervising f's command.
func startProcess(f config.Function, log *slog.Logger, now func() time.Time) *process {
	p := &process{cfg: f, socket: f.SocketPath(), log: log, now: now,
		ready: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	go p.supervise()
	return p
}

// awaitReady waits until the process's socket accepts, failing at once
// while the process is down between restarts.
func (p *process) awaitReady(ctx context.Context) error {
	p.mu.Lock()
	ready, down := p.ready, p.down
	p.mu.Unlock()
	if down {
		return fmt.Errorf("%w: %w", ErrUnavailable, errNotRunning)
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the function's process did not open %s in time: %w", p.socket, ctx.Err())
	case <-p.quit:
		return fmt.Errorf("%w: the function's process is stopping", ErrUnavailable)
	}
}

// stop ends supervision: SIGTERM to the process group, SIGKILL after
// stopGrace; it returns once the process is gone.
func (p *process) stop() {
	p.once.Do(func() { close(p.quit) })
	<-p.done
}

// supervise runs the process until stop, restarting it after each exit.
func (p *process) supervise() {
	defer close(p.done)
	backoff := minBackoff
	for {
		started := p.now()
		err := p.runOnce()
		select {
		case <-p.quit:
			return
		default:
		}
		if p.now().Sub(started) >= healthyRun {
			backoff = minBackoff
		}
		p.log.Warn("function process exited; restarting", "error", errString(err), "restartIn", backoff.String())
		select {
		case <-p.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// runOnce starts the process, marks it ready once its socket accepts, and
// returns when it exited (or was stopped).
func (p *process) runOnce() error {
	// The FDK listens in the socket's directory but does not create it.
	if err := os.MkdirAll(filepath.Dir(p.socket), 0o750); err != nil {
		return p.failedStart(err)
	}
	removeStaleSocket(p.socket)
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = p.environ()
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return p.failedStart(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return p.failedStart(err)
	}
	if err := cmd.Start(); err != nil {
		return p.failedStart(err)
	}
	p.setDown(false)
	p.log.Info("function process started", "pid", cmd.Process.Pid, "listener", p.cfg.Listener)
	var output sync.WaitGroup
	output.Add(2)
	go p.pipeLines(&output, stdout, "stdout")
	go p.pipeLines(&output, stderr, "stderr")
	exited, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		p.watchSocket(exited)
	}()
	waitErr := make(chan error, 1)
	go func() {
		output.Wait() // Wait closes the pipes: read them to the end first
		waitErr <- cmd.Wait()
	}()
	select {
	case err = <-waitErr:
	case <-p.quit:
		err = p.terminate(cmd, waitErr)
	}
	close(exited)
	<-watched // the next run's watcher must be the only one to mark readiness
	p.setDown(true)
	return err
}

// failedStart records a process that could not start (no such program).
func (p *process) failedStart(err error) error {
	p.setDown(true)
	return fmt.Errorf("start %s: %w", p.cfg.Command[0], err)
}

// terminate stops cmd's process group: SIGTERM, SIGKILL after stopGrace.
func (p *process) terminate(cmd *exec.Cmd, waitErr <-chan error) error {
	signalGroup(cmd.Process, syscall.SIGTERM)
	select {
	case err := <-waitErr:
		p.log.Info("function process stopped", "pid", cmd.Process.Pid)
		return err
	case <-time.After(stopGrace):
		p.log.Warn("function process ignored SIGTERM; killing it", "pid", cmd.Process.Pid, "grace", stopGrace.String())
		signalGroup(cmd.Process, syscall.SIGKILL)
		return <-waitErr
	}
}

// setDown records the process as down (exited) or starting. An exit
// after readiness replaces the closed readiness channel with an open one; an
// open one is kept, so that calls waiting for a start that failed are
// woken by the next start's readiness.
func (p *process) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if down {
		select {
		case <-p.ready:
			p.ready = make(chan struct{}) // no longer ready
		default:
		}
	}
	p.down = down
}

// watchSocket marks the process ready when its socket accepts a
// connection, polling until then or until the process exits.
func (p *process) watchSocket(exited <-chan struct{}) {
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	tick := time.NewTicker(socketPoll)
	defer tick.Stop()
	for {
		if c, err := net.DialTimeout("unix", p.socket, time.Second); err == nil {
			c.Close()
			close(ready)
			p.log.Info("function ready", "listener", p.cfg.Listener)
			return
		}
		select {
		case <-exited:
			return
		case <-tick.C:
		}
	}
}

// pipeLines sends r's lines to the log, attributed to the function.
func (p *process) pipeLines(wg *sync.WaitGroup, r io.Reader, stream string) {
	defer wg.Done()
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := string(line)
			if n := len(text); text[n-1] == '\n' {
				text = text[:n-1]
			}
			if text != "" {
				p.log.Info("function output", "stream", stream, "line", text)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue // a long line is logged in pieces
		case err != nil:
			return
		}
	}
}

// environ is the process's environment: a few of keygate's variables, the
// FDK's, then the entry's own.
func (p *process) environ() []string {
	var env []string
	for _, name := range inheritedEnv {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	env = append(env, "FN_LISTENER="+p.cfg.Listener, "FN_FORMAT=http-stream", "FN_FN_ID="+p.cfg.ID,
		"FN_TYPE=sync")
	for name, v := range p.cfg.Env {
		env = append(env, name+"="+v)
	}
	return env
}

// removeStaleSocket removes what a previous run of an FDK left at socket
// (the socket or its symlink, and the FDKs' temporary sockets beside it),
// which would make the new process fail to listen. Only sockets and
// symlinks are removed, never a regular file.
func removeStaleSocket(socket string) {
	dir, base := filepath.Dir(socket), filepath.Base(socket)
	for _, name := range []string{socket, filepath.Join(dir, base+".tmp"), filepath.Join(dir, "phony"+base)} {
		fi, err := os.Lstat(name)
		if err == nil && fi.Mode()&(os.ModeSocket|os.ModeSymlink) != 0 {
			_ = os.Remove(name)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
