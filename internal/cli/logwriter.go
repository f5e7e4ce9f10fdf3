package cli

import (
	"io"
	"sync"
)

// asyncWriter hands log lines to one goroutine that writes them in batches.
// slog handlers hold a lock while they write; with this writer that lock
// covers a channel send, not a write(2) to stderr, so requests logging at
// the same time do not queue behind the terminal or the log collector.
// Lines are never dropped: a full queue makes the writer wait.
type asyncWriter struct {
	out   io.Writer
	lines chan []byte
	done  chan struct{}
	// mu orders Write's sends before Close's close of lines; closed says
	// the writer goroutine is gone, so a late line is written directly.
	mu     sync.RWMutex
	closed bool
}

func newAsyncWriter(out io.Writer) *asyncWriter {
	a := &asyncWriter{out: out, lines: make(chan []byte, 4096), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return a.out.Write(p)
	}
	a.lines <- append([]byte(nil), p...) // the handler reuses p
	return len(p), nil
}

// run writes what is queued, joining the lines already waiting into one
// write.
func (a *asyncWriter) run() {
	defer close(a.done)
	buf := make([]byte, 0, 64<<10)
	for line := range a.lines {
		buf = append(buf[:0], line...)
	more:
		for len(buf) < 60<<10 {
			select {
			case next, ok := <-a.lines:
				if !ok {
					break more
				}
				buf = append(buf, next...)
			default:
				break more
			}
		}
		_, _ = a.out.Write(buf)
	}
}

// Close writes what is queued and stops the writer; a line logged later is
// written directly.
func (a *asyncWriter) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.lines)
	}
	a.mu.Unlock()
	<-a.done
}
