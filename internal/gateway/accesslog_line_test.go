package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"testing"
	"time"
)

// slogAccessLine is what keygate serve's slog handler (JSON or text, the
// message under "message") writes for the same fields: the reference the
// AccessLog encoder must equal byte for byte.
func slogAccessLine(t testing.TB, format AccessLogFormat, f accessFields, deployment, route string) []byte {
	t.Helper()
	var out bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.MessageKey {
			a.Key = "message"
		}
		return a
	}}
	var h slog.Handler = slog.NewJSONHandler(&out, opts)
	if format == AccessLogText {
		h = slog.NewTextHandler(&out, opts)
	}
	rec := slog.NewRecord(f.at, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("opcRequestId", f.requestID),
		slog.String("method", f.method),
		slog.String("path", f.path),
		slog.Int("status", f.status),
		slog.Float64("durationMs", f.durationMs),
		slog.Int64("bytes", f.bytes),
	)
	if deployment != "" {
		rec.AddAttrs(slog.String("deployment", deployment))
	}
	if route != "" {
		rec.AddAttrs(slog.String("route", route))
	}
	if f.subscriber != "" {
		rec.AddAttrs(slog.String("subscriber", f.subscriber))
	}
	if f.cache != "" {
		rec.AddAttrs(slog.String("cache", f.cache))
	}
	if err := h.Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// encodedAccessLine is the AccessLog encoder's line for the same fields.
func encodedAccessLine(format AccessLogFormat, f accessFields, deployment, route string) []byte {
	var out bytes.Buffer
	a := NewAccessLog(&out, format)
	if deployment != "" {
		f.tail = a.accessTail(deployment, route)
	}
	a.write(&f)
	return out.Bytes()
}

func TestAccessLineMatchesSlog(t *testing.T) {
	base := accessFields{
		at:        time.Date(2026, 12, 6, 9, 17, 44, 123456789, time.UTC),
		requestID: "4F2A9C0D11E24B7A0000000000000001", method: "GET", path: "/bench/jwt",
		status: 200, durationMs: 1.234, bytes: 2,
	}
	tests := []struct {
		name             string
		change           func(*accessFields)
		deployment, rout string
	}{
		{name: "routed", deployment: "/bench", rout: "/jwt"},
		{name: "deployment only", deployment: "/bench"},
		{name: "neither"},
		{name: "route with a parameter", deployment: "/api/v1", rout: "/pets/{id}"},
		{name: "wildcard route", deployment: "/api", rout: "/files/{path*}"},
		{name: "quote and backslash", change: func(f *accessFields) { f.path = `/a"b\c` }},
		{name: "controls", change: func(f *accessFields) { f.path = "/a\x00b\x01\x1f\n\r\t\x7f" }},
		{name: "space and equals", change: func(f *accessFields) { f.path = "/a b=c" }},
		{name: "html", change: func(f *accessFields) { f.path = "/<script>&amp;" }},
		{name: "utf-8", change: func(f *accessFields) { f.path = "/café/日本" }},
		{name: "invalid utf-8", change: func(f *accessFields) { f.path = "/a\xffb\xc3" }},
		{name: "replacement rune", change: func(f *accessFields) { f.path = "/a\ufffd" }},
		{name: "line separators", change: func(f *accessFields) { f.path = "/a\u2028b\u2029" }},
		{name: "non-printing rune", change: func(f *accessFields) { f.path = "/a\u00a0b\u200b" }},
		{name: "empty path", change: func(f *accessFields) { f.path = "" }},
		{name: "caller's request id", change: func(f *accessFields) { f.requestID = "client/req:1.2_3-x" }},
		{name: "zero duration", change: func(f *accessFields) { f.durationMs = 0 }},
		{name: "whole milliseconds", change: func(f *accessFields) { f.durationMs = 3 }},
		{name: "long duration", change: func(f *accessFields) { f.durationMs = 123456789.123 }},
		{name: "huge duration", change: func(f *accessFields) { f.durationMs = 1e22 }},
		{name: "tiny duration", change: func(f *accessFields) { f.durationMs = 1e-7 }},
		{name: "negative duration", change: func(f *accessFields) { f.durationMs = -0.5 }},
		{name: "1xx, big body", change: func(f *accessFields) { f.status, f.bytes = 101, math.MaxInt64 }},
		{name: "whole second", change: func(f *accessFields) { f.at = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }},
		{name: "offset zone", change: func(f *accessFields) {
			f.at = time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", 5*3600+30*60))
		}},
		{name: "monotonic clock", change: func(f *accessFields) { f.at = time.Now() }},
		{name: "usage plan subscriber", deployment: "/orders", rout: "/o", change: func(f *accessFields) { f.subscriber = "Acme \"EU\"" }},
		{name: "cache verdict", deployment: "/c", rout: "/x", change: func(f *accessFields) { f.cache = "HIT" }},
		{name: "subscriber and cache", change: func(f *accessFields) { f.subscriber, f.cache = "a b", "MISS" }},
	}
	for _, tt := range tests {
		for _, format := range []AccessLogFormat{AccessLogJSON, AccessLogText} {
			name := tt.name + "/json"
			if format == AccessLogText {
				name = tt.name + "/text"
			}
			t.Run(name, func(t *testing.T) {
				f := base
				if tt.change != nil {
					tt.change(&f)
				}
				want := slogAccessLine(t, format, f, tt.deployment, tt.rout)
				got := encodedAccessLine(format, f, tt.deployment, tt.rout)
				if !bytes.Equal(got, want) {
					t.Errorf("AccessLog wrote\n%s\nslog writes\n%s", got, want)
				}
			})
		}
	}
}

// FuzzAccessLine holds the encoder to slog's output for any strings and
// numbers: the access log's lines parse as every other line does.
func FuzzAccessLine(f *testing.F) {
	f.Add("/bench/jwt", "GET", "4F2A9C0D11E24B7A0000000000000001", "/bench", "/jwt", 200, 1.234, int64(2), int64(0))
	f.Add("/a\"b\\c\x00\u2028\xff", "PO ST", "", "/x y", "/{p*}", 599, 1e-9, int64(-1), int64(1e18))
	f.Add("", "", "=", "", "", 0, math.Inf(1), int64(0), int64(-1e18))
	f.Fuzz(func(t *testing.T, path, method, id, deployment, route string, status int, ms float64, n, unixNano int64) {
		if math.IsNaN(ms) || math.IsInf(ms, 0) {
			return // never a duration; encoding/json refuses them
		}
		at := time.Unix(0, unixNano).UTC()
		if y := at.Year(); y < 0 || y >= 10000 {
			return
		}
		if deployment == "" {
			route = "" // the encoder is never asked for a route without a deployment
		}
		fields := accessFields{at: at, requestID: id, method: method, path: path, status: status, durationMs: ms, bytes: n}
		for _, format := range []AccessLogFormat{AccessLogJSON, AccessLogText} {
			want := slogAccessLine(t, format, fields, deployment, route)
			got := encodedAccessLine(format, fields, deployment, route)
			if !bytes.Equal(got, want) {
				t.Fatalf("format %d: AccessLog wrote\n%q\nslog writes\n%q", format, got, want)
			}
		}
	})
}

func TestParseAccessLogFormat(t *testing.T) {
	for in, want := range map[string]AccessLogFormat{"json": AccessLogJSON, "JSON": AccessLogJSON, "text": AccessLogText} {
		if got, err := ParseAccessLogFormat(in); err != nil || got != want {
			t.Errorf("ParseAccessLogFormat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseAccessLogFormat("logfmt"); err == nil {
		t.Error("ParseAccessLogFormat(logfmt) did not fail")
	}
}

// TestAccessLineAllocations: writing a line allocates nothing once the
// buffer pool is warm.
func TestAccessLineAllocations(t *testing.T) {
	a := NewAccessLog(io.Discard, AccessLogJSON)
	f := accessFields{at: time.Now(), requestID: "id", method: "GET", path: "/a/b", status: 200, durationMs: 1.5,
		bytes: 10, tail: a.accessTail("/a", "/b")}
	a.write(&f)
	if n := testing.AllocsPerRun(100, func() { a.write(&f) }); n != 0 {
		t.Errorf("a line costs %v allocations, want 0", n)
	}
}

// TestRequestIDKeyIsCanonical: the hot path indexes header maps with
// requestIDKey directly, which finds the header only in canonical form.
func TestRequestIDKeyIsCanonical(t *testing.T) {
	if got := http.CanonicalHeaderKey(requestIDHeader); got != requestIDKey {
		t.Fatalf("canonical %q is %q, requestIDKey is %q", requestIDHeader, got, requestIDKey)
	}
}
