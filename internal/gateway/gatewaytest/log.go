package gatewaytest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// accessWait bounds how long a log reader waits for a request's access line.
// The gateway writes it once the handler returns, which can be a moment
// after the client has its response.
const accessWait = 2 * time.Second

// Log is the sink of a gateway's JSON log lines. The gateway, its server and
// its key sets write to it from many goroutines, so every access is locked.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{} }

// Write appends p; it never fails.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a logger writing JSON lines to l at debug level, shaped as
// keygate serve writes them (the text under "message"), so tests read the
// lines an operator reads.
func (l *Log) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.MessageKey {
				a.Key = "message"
			}
			return a
		}}))
}

// Lines decodes every line written so far; a line that is not JSON fails the
// test, since then nothing could parse the log.
func (l *Log) Lines(t testing.TB) []map[string]any {
	t.Helper()
	return decodeLines(t, l.String(), "")
}

// decodeLines decodes the lines of text that hold filter (all when filter is
// ""): a test reading one request's lines decodes only those that can be
// its own, which keeps long tables fast.
func decodeLines(t testing.TB, text, filter string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(text, "\n") {
		if line == "" || !strings.Contains(line, filter) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// IsAccessLine reports whether line is the access line the gateway writes
// for every request it answers.
func IsAccessLine(line map[string]any) bool { return line["message"] == "request" }

// Of returns the lines of the request whose opc-request-id is id, waiting
// for its access line (the last one the gateway writes for it) so that the
// result is complete. An empty id fails the test: every answer of the
// gateway carries one.
func (l *Log) Of(t testing.TB, id string) []map[string]any {
	t.Helper()
	if id == "" {
		t.Fatal("response has no opc-request-id")
	}
	deadline := time.Now().Add(accessWait)
	for {
		var out []map[string]any
		access := false
		for _, line := range decodeLines(t, l.String(), id) {
			if line["opcRequestId"] == id {
				out = append(out, line)
				access = access || IsAccessLine(line)
			}
		}
		if access || time.Now().After(deadline) {
			return out
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Exec returns the execution log lines of request id: all of its lines but
// the access line.
func (l *Log) Exec(t testing.TB, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range l.Of(t, id) {
		if !IsAccessLine(line) {
			out = append(out, line)
		}
	}
	return out
}

// Rejection returns the one execution log line of request id, failing the
// test unless there is exactly one: a refusal is logged once, with its code
// and reason.
func (l *Log) Rejection(t testing.TB, id string) map[string]any {
	t.Helper()
	lines := l.Exec(t, id)
	if len(lines) != 1 {
		t.Fatalf("request %s left %d execution log lines, want 1: %v", id, len(lines), lines)
	}
	return lines[0]
}

// Access returns the one access line of request id.
func (l *Log) Access(t testing.TB, id string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, line := range l.Of(t, id) {
		if IsAccessLine(line) {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		t.Fatalf("request %s left %d access lines, want 1", id, len(found))
	}
	return found[0]
}

// Reason returns the reason of request id's execution log line, "" when it
// has none (or id is "": net/http refused the request before the gateway
// ran).
func (l *Log) Reason(t testing.TB, id string) string {
	t.Helper()
	if id == "" {
		return ""
	}
	for _, line := range l.Of(t, id) {
		if reason, ok := line["reason"].(string); ok {
			return reason
		}
	}
	return ""
}

// NoSecrets fails if the log holds any of secrets (tokens, signatures).
// Strings under 16 bytes are skipped: any text may hold them by chance.
func (l *Log) NoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	text := l.String()
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(text, s) {
			t.Errorf("log holds a secret (%.24s...)", s)
		}
	}
}
