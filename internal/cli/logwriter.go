package cli

import (
	"io"
	"sync"
	"time"
)

// asyncWriter gathers log lines in a buffer that one goroutine writes out
// in batches. A Write copies the line under a mutex and returns: no
// allocation, no channel, no goroutine woken per line. The writer goroutine
// wakes when a line lands in an empty buffer, lets lines gather for
// batchDelay (or until batchFlush bytes wait), and writes them in one
// write(2); so at tens of thousands of lines a second the log costs a
// system call per few hundred lines instead of one per line.
//
// Lines are never dropped: when maxPending bytes wait while the previous
// batch is still being written (a slow terminal or collector), Write waits.
// Close writes what is pending; a line written after Close goes straight
// to out, after everything written before it.
type asyncWriter struct {
	out  io.Writer
	mu   sync.Mutex
	room sync.Cond // signalled when pending is swapped out
	// pending holds whole lines not yet handed to out; spare is the other
	// buffer, nil while the writer goroutine writes it.
	pending, spare []byte
	closed         bool
	// kick wakes the writer goroutine (a first line waits), full cuts its
	// wait short (batchFlush bytes wait), stop ends it; done is closed when
	// it has written everything.
	kick, full, stop, done chan struct{}
	// direct orders the Writes that follow Close.
	direct sync.Mutex
}

const (
	// batchDelay is how long the first line of a batch waits for others.
	batchDelay = 10 * time.Millisecond
	// batchFlush is the batch size written without waiting out batchDelay.
	batchFlush = 64 << 10
	// maxPending is the most that waits for the writer before Write blocks.
	maxPending = 1 << 20
)

func newAsyncWriter(out io.Writer) *asyncWriter {
	a := &asyncWriter{out: out, pending: make([]byte, 0, batchFlush), spare: make([]byte, 0, batchFlush),
		kick: make(chan struct{}, 1), full: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	a.room.L = &a.mu
	go a.run()
	return a
}

// Write queues p, which must be whole lines (a slog handler writes one
// record per call). It never fails.
func (a *asyncWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	for !a.closed && len(a.pending) > 0 && len(a.pending)+len(p) > maxPending {
		wake(a.full)
		a.room.Wait()
	}
	if a.closed {
		a.mu.Unlock()
		<-a.done
		a.direct.Lock()
		defer a.direct.Unlock()
		_, _ = a.out.Write(p)
		return len(p), nil
	}
	first := len(a.pending) == 0
	a.pending = append(a.pending, p...)
	big := len(a.pending) >= batchFlush
	a.mu.Unlock()
	if first {
		wake(a.kick)
	}
	if big {
		wake(a.full)
	}
	return len(p), nil
}

// wake wakes the receiver of c unless a wake-up is already waiting.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (a *asyncWriter) run() {
	defer close(a.done)
	wait := time.NewTimer(batchDelay)
	wait.Stop()
	for {
		select {
		case <-a.kick:
		case <-a.stop:
			a.flush()
			return
		}
		wait.Reset(batchDelay)
		select {
		case <-wait.C:
		case <-a.full:
			wait.Stop()
		case <-a.stop:
			wait.Stop()
			a.flush()
			return
		}
		a.flush()
	}
}

// flush writes what is pending, while Writes fill the other buffer.
func (a *asyncWriter) flush() {
	a.mu.Lock()
	batch := a.pending
	a.pending = a.spare
	a.spare = nil
	a.room.Broadcast()
	a.mu.Unlock()
	if len(batch) > 0 {
		_, _ = a.out.Write(batch)
	}
	if cap(batch) > 2*maxPending { // grown by one huge line: let it go
		batch = make([]byte, 0, batchFlush)
	}
	a.mu.Lock()
	a.spare = batch[:0]
	a.mu.Unlock()
}

// Close writes what is pending and stops the writer goroutine; a line
// written later goes straight to out.
func (a *asyncWriter) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return
	}
	a.closed = true
	a.room.Broadcast()
	a.mu.Unlock()
	close(a.stop)
	<-a.done
}
