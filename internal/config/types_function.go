package config

import (
	"strings"
	"time"
)

// Function timeouts, in milliseconds. The default is OCI Functions' default
// timeout; the maximum is its maximum (300 s).
const (
	DefaultFunctionTimeoutMillis = 30000
	MaxFunctionTimeoutMillis     = 300000
)

// Function is one entry of keygate's function registry: the functionId a
// spec names (ORACLE_FUNCTIONS_BACKEND, CUSTOM_AUTHENTICATION) mapped to
// where that function runs outside OCI.
type Function struct {
	// ID is the functionId exactly as the specs write it: an OCID or any
	// placeholder. Required; unique.
	ID string `json:"id"`
	// URL is a plain HTTP endpoint, http:// or https://, that serves the
	// function. Exactly one of URL and Listener. Default "".
	URL string `json:"url,omitempty"`
	// Listener is unix:/path/to/lsnr.sock, the socket of a function built
	// with an Fn FDK and started with FN_LISTENER set to it and
	// FN_FORMAT=http-stream; keygate speaks the FDK's protocol to it. A
	// relative path starts at the gateway file's directory (and is stored
	// absolute). Exactly one of URL and Listener. Default "".
	Listener string `json:"listener,omitempty"`
	// TimeoutMillis bounds one invocation, 1 to 300000 ms; 0 means the
	// default. Default 30000 (OCI Functions' default timeout).
	TimeoutMillis int `json:"timeoutMillis,omitempty"`
	// Command is the argv of the function's process, which keygate then
	// starts with FN_LISTENER and FN_FORMAT set, restarts with backoff when
	// it exits, and stops on shutdown. Listener only. Default nil: the
	// function is started by someone else.
	Command []string `json:"command,omitempty"`
	// Env is added to the environment of Command's process (which inherits
	// only PATH, HOME, USER, LANG, LC_ALL, TZ and TMPDIR from keygate).
	// Default nil.
	Env map[string]string `json:"env,omitempty"`
	// Dir is the working directory of Command's process; a relative path
	// starts at the gateway file's directory (and is stored absolute).
	// Default "": the gateway file's directory.
	Dir string `json:"dir,omitempty"`
}

// Timeout is the function's invocation timeout, its default applied.
func (f *Function) Timeout() time.Duration {
	if f.TimeoutMillis <= 0 {
		return DefaultFunctionTimeoutMillis * time.Millisecond
	}
	return time.Duration(f.TimeoutMillis) * time.Millisecond
}

// SocketPath is the file of Listener, without the "unix:" scheme; "" when
// the function has no listener.
func (f *Function) SocketPath() string {
	p, _ := strings.CutPrefix(f.Listener, listenerScheme)
	if f.Listener == "" {
		return ""
	}
	return p
}

// listenerScheme starts every Listener, as FN_LISTENER spells it.
const listenerScheme = "unix:"
