package function

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Fn FDK http-stream protocol (fdk-go handler.go, fdk-node fn-fdk.js):
// every invocation is POST /call on the function's unix socket. The Fn
// headers say who calls and until when; with Fn-Intent: httprequest the
// client's request travels in Fn-Http-Method, Fn-Http-Request-Url and one
// Fn-Http-H-<Name> per client header, Content-Type also unprefixed, the
// body as is. The FDK answers 200 with the function's status in
// Fn-Http-Status, its headers as Fn-Http-H-<Name> and Content-Type
// unprefixed; any other status is the FDK reporting its own failure (fdk-node:
// 502 for an exception in the function, 500 for a broken request; fdk-go
// and fdk-python: 502 and 504 with Fn-Fdk-Status).
const (
	fnHeaderPrefix    = "Fn-Http-H-"
	maxResponseHeader = 1 << 20
	// deadlineLayout is RFC 3339 in whole seconds, UTC ("Z"), exactly as
	// the Fn server and OCI Functions send Fn-Deadline, so every FDK parses
	// it as it does theirs.
	deadlineLayout = time.RFC3339
)

// hopHeaders are the connection's own headers, never delivered to a
// function nor taken from one (RFC 9110 §7.6.1), plus the framing a
// function's answer cannot dictate.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true,
}

// fdkCaller invokes a function built with an Fn FDK on its unix socket.
type fdkCaller struct {
	client *http.Client
	tr     *http.Transport
}

func newFDKCaller(socket string) *fdkCaller {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// A function's head is bounded as a backend's is (1 MiB), so it
		// cannot make keygate buffer without limit.
		MaxResponseHeaderBytes: maxResponseHeader,
	}
	return &fdkCaller{client: &http.Client{Transport: tr}, tr: tr}
}

func (c *fdkCaller) close() { c.tr.CloseIdleConnections() }

func (c *fdkCaller) call(ctx context.Context, inv invocation) (*Response, error) {
	body, length := requestBody(inv.Request)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/call", body)
	if err != nil {
		return nil, err
	}
	hr.ContentLength = length
	ct := inv.ContentType
	if inv.HTTP && ct == "" {
		ct = inv.Header.Get("Content-Type")
	}
	// The Fn headers' values share one array: one allocation, not one each.
	fixed := [...]string{inv.callID, fnDeadline(inv.deadline), "httprequest", "sync",
		orDefault(inv.Method, http.MethodGet), orDefault(inv.URL, "/"), ct}
	values := fixed[:]
	h := make(http.Header, len(inv.Header)+len(fixed))
	h["Fn-Call-Id"] = values[0:1:1]
	h["Fn-Deadline"] = values[1:2:2]
	if inv.HTTP {
		h["Fn-Intent"] = values[2:3:3]
		h["Fn-Invoke-Type"] = values[3:4:4]
		h["Fn-Http-Method"] = values[4:5:5]
		h["Fn-Http-Request-Url"] = values[5:6:6]
		for name, vs := range inv.Header {
			name = http.CanonicalHeaderKey(name)
			if !hopHeaders[name] {
				h[fnHeaderPrefix+name] = vs // sent, never changed
			}
		}
	}
	if ct != "" {
		h["Content-Type"] = values[6:7:7]
	}
	hr.Header = h
	resp, err := c.client.Do(hr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fdkFailure(resp)
	}
	return decodeFDKResponse(resp)
}

// fdkFailure reads the FDK's own error answer (its body is a short JSON
// message for keygate's log, never for the client).
func fdkFailure(resp *http.Response) error {
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	detail := strings.Join(strings.Fields(string(msg)), " ")
	status := resp.Header.Get("Fn-Fdk-Status")
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusGatewayTimeout || status == "504" {
		return fmt.Errorf("%w: the FDK answered %d: %s", ErrTimeout, resp.StatusCode, detail)
	}
	return fmt.Errorf("%w: the FDK answered %d (Fn-Fdk-Status %s): %s", ErrFailed, resp.StatusCode, status, detail)
}

// decodeFDKResponse takes the function's status and headers out of the
// FDK's answer: Fn-Http-Status (200 when absent) and Fn-Http-H-*, plus the
// unprefixed Content-Type. An input invocation (an authorizer's) is decoded
// the same way, so a function that sets a status or headers there is heard.
func decodeFDKResponse(resp *http.Response) (*Response, error) {
	out := &Response{Status: http.StatusOK, Header: http.Header{}, Body: resp.Body}
	if s := resp.Header.Get("Fn-Http-Status"); s != "" {
		code, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || !finalStatus(code) {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: Fn-Http-Status %q is not the status of a final response (200 to 599)", ErrBadResponse, s)
		}
		out.Status = code
	}
	for name, values := range resp.Header {
		inner, ok := strings.CutPrefix(name, fnHeaderPrefix)
		if !ok || inner == "" {
			continue
		}
		inner = http.CanonicalHeaderKey(inner)
		if hopHeaders[inner] {
			continue
		}
		out.Header[inner] = append(out.Header[inner], values...)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		out.Header.Set("Content-Type", ct)
	}
	return out, nil
}

// requestBody returns req's body and its length for http.Request (-1 for
// unknown, 0 with a nil body).
func requestBody(req *Request) (io.Reader, int64) {
	if req.Body == nil {
		return http.NoBody, 0
	}
	if req.ContentLength == 0 {
		return req.Body, -1
	}
	return req.Body, req.ContentLength
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fnDeadline formats an invocation's deadline for Fn-Deadline, rounded up
// to the second: a function never sees a deadline before keygate's own.
func fnDeadline(t time.Time) string {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.UTC().Format(deadlineLayout)
}

// finalStatus reports whether code can end an exchange: a 1xx is
// informational (and 101 would hand the client's connection over), so a
// function answering one breaks the protocol.
func finalStatus(code int) bool { return code >= 200 && code <= 599 }
