package explain

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		in      string
		want    Request
		wantErr error
	}{
		{"GET /api/orders", Request{"GET", "/api/orders"}, nil},
		{"  post /a?b=1 ", Request{"POST", "/a?b=1"}, nil},
		{"GET https://gw.example.com/api/x?y=2", Request{"GET", "/api/x?y=2"}, nil},
		{"GET", Request{}, ErrRequestForm},
		{"GET api/orders", Request{}, ErrRequestForm},
		{"GET /a b", Request{}, ErrRequestBytes},
		{"GET /a\r\nX: y", Request{}, ErrRequestBytes},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRequest(tt.in)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzParseRequest: the console hands ParseRequest whatever a form holds.
// What it accepts is one request line's worth: a method and a target that
// starts with / and holds no space or control character, and HTTP either
// parses it or says why, never panics.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"GET /api/orders", "POST https://x/y?z=1", "GET /%00", "get /a\tb", "X /" + strings.Repeat("a", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequest(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(r.Target, "/") || strings.ContainsAny(r.Target, " \r\n\t") || r.Method == "" {
			t.Fatalf("ParseRequest(%q) accepted %+v", s, r)
		}
		if req, err := r.HTTP(); err == nil && req.Method != r.Method {
			t.Fatalf("HTTP() of %+v has method %q", r, req.Method)
		}
	})
}
