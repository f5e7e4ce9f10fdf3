package config

import (
	"errors"
	"fmt"
	"testing"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.json", Path: "routes[0].path", Message: "missing"}, "a.json: routes[0].path: missing"},
		{Problem{Path: "listen", Message: "bad"}, "listen: bad"},
		{Problem{File: "a.json", Message: "invalid JSON"}, "a.json: invalid JSON"},
		{
			Problem{File: "a.json", Path: "requestPolicies.authentication.publicKeys.keys[1]", Kid: "client-2", Message: "weak key: rsa key is 1024 bits"},
			`a.json: requestPolicies.authentication.publicKeys.keys[1] (kid "client-2"): weak key: rsa key is 1024 bits`,
		},
		{Problem{Path: "keys[0].use", Kid: "a \"b\"\n", Message: "bad"}, `keys[0].use (kid "a \"b\"\n"): bad`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.p.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.p, ErrInvalid) {
				t.Errorf("errors.Is(Problem, ErrInvalid) = false")
			}
		})
	}
}

func TestProblemsIsErrInvalid(t *testing.T) {
	ps := Problems{{Path: "a", Message: "x"}, {Path: "b", Message: "y"}}
	if got, want := ps.Error(), "a: x\nb: y"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("load: %w", ps)
	if !errors.Is(wrapped, ErrInvalid) {
		t.Errorf("errors.Is(wrapped Problems, ErrInvalid) = false")
	}
	var got Problems
	if !errors.As(wrapped, &got) || len(got) != 2 {
		t.Errorf("errors.As did not recover the Problems")
	}
}

func TestLoadGatewayUnreadable(t *testing.T) {
	_, err := LoadGateway("testdata/nope.yaml")
	want := "testdata/nope.yaml: cannot read file: file does not exist; check the path"
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Errorf("LoadGateway error = %v, want %q", err, want)
	}
}

func TestDecodeSpecTooLarge(t *testing.T) {
	data := make([]byte, maxFileSize+1)
	_, err := DecodeSpec("big.json", data)
	want := "big.json: file is larger than 4 MiB; split it or remove what is not needed"
	if err == nil || err.Error() != want {
		t.Errorf("DecodeSpec error = %v, want %q", err, want)
	}
}

func TestEffectiveLogLevel(t *testing.T) {
	lp := func(level string) *LoggingPolicies {
		return &LoggingPolicies{ExecutionLog: &ExecutionLog{LogLevel: level}}
	}
	tests := []struct {
		name              string
		deployment, route *LoggingPolicies
		want              string
	}{
		{"neither", nil, nil, LogLevelInfo},
		{"deployment", lp("WARN"), nil, LogLevelWarn},
		{"route wins", lp("WARN"), lp("error"), LogLevelError},
		{"route without level", lp("ERROR"), &LoggingPolicies{ExecutionLog: &ExecutionLog{IsEnabled: true}}, LogLevelError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EffectiveLogLevel(tt.deployment, tt.route); got != tt.want {
				t.Errorf("EffectiveLogLevel = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLaterProblemsOverlap: a problem found after validation is dropped when
// validation already reported on the same value, or on a value holding it
// or held by it, in the same file.
func TestLaterProblemsOverlap(t *testing.T) {
	reported := Problems{
		{File: "s.json", Path: "routes[2].path", Message: "validation"},
		{File: "s.json", Path: "requestPolicies.authentication.publicKeys.keys[0].kid", Message: "validation"},
	}
	tests := []struct {
		later Problem
		want  bool
	}{
		{Problem{File: "s.json", Path: "routes[2].path"}, true},
		{Problem{File: "s.json", Path: "routes[2].path.x"}, true},
		{Problem{File: "s.json", Path: "routes[2]"}, true},
		{Problem{File: "s.json", Path: "requestPolicies.authentication.publicKeys.keys[0]"}, true},
		{Problem{File: "s.json", Path: "routes[2].backend.url"}, false},
		{Problem{File: "s.json", Path: "routes[20].path"}, false},
		{Problem{File: "s.json", Path: "routes[2].pathx"}, false},
		{Problem{File: "other.json", Path: "routes[2].path"}, false},
		{Problem{File: "s.json", Path: "requestPolicies.authentication.publicKeys.keys[1]"}, false},
	}
	for _, tt := range tests {
		if got := overlaps(reported, tt.later); got != tt.want {
			t.Errorf("overlaps(%s %s) = %v, want %v", tt.later.File, tt.later.Path, got, tt.want)
		}
	}
}

func TestKeyPath(t *testing.T) {
	tests := []struct{ base, key, want string }{
		{"a", "b", "a.b"},
		{"", "routes", "routes"},
		{"a", "x-b_c$1", "a.x-b_c$1"},
		{"c", "application/json", `c["application/json"]`},
		{"c", "application/vnd.api+json", `c["application/vnd.api+json"]`},
		{"c", "*/*", `c["*/*"]`},
		{"c", "", `c[""]`},
		{"c", `a"b`, `c["a\"b"]`},
	}
	for _, tt := range tests {
		if got := keyPath(tt.base, tt.key); got != tt.want {
			t.Errorf("keyPath(%q, %q) = %s, want %s", tt.base, tt.key, got, tt.want)
		}
	}
}
