package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxInputBytes bounds what a client command reads from a file or stdin:
// keys, JWKs, specs' keys and tokens are a few kilobytes.
const maxInputBytes = 1 << 20

// failure reports a command that could not do its work, the one way every
// client command does, and returns the failure exit code.
func failure(e *env, cmd string, err error) int {
	fmt.Fprintf(e.stderr, "%s: %v\n", cmd, err)
	return exitFail
}

// readInput reads the file name, or stdin when name is "-".
func readInput(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s: more than %d bytes; this is not a key or a token", inputName(name), maxInputBytes)
	}
	return data, nil
}

// readKeySource reads the PEM a --key flag names: a file, "-" for stdin,
// or env:VAR for an environment variable, so that a CI secret or a vault
// agent can hand the key over without a file.
func readKeySource(e *env, src string) ([]byte, error) {
	name, ok := strings.CutPrefix(src, "env:")
	if !ok {
		return readInput(e, src)
	}
	if name == "" {
		return nil, errors.New("env: names no variable; write env:VAR")
	}
	value := ""
	if e.getenv != nil {
		value = e.getenv(name)
	}
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("environment variable %s is not set or empty", name)
	}
	return []byte(value), nil
}

// readToken returns the token given as an argument, or read from stdin when
// arg is "-" or "" (no argument). Surrounding space and a pasted
// "Bearer " scheme are dropped, since people copy whole header values.
func readToken(e *env, arg string) (string, error) {
	raw := arg
	if arg == "" || arg == "-" {
		data, err := readInput(e, "-")
		if err != nil {
			return "", err
		}
		raw = string(data)
	}
	raw = strings.TrimSpace(raw)
	if scheme, rest, ok := strings.Cut(raw, " "); ok && strings.EqualFold(scheme, "Bearer") {
		raw = strings.TrimSpace(rest)
	}
	if raw == "" {
		return "", errors.New("no token given: pass it as the argument, or - to read it from stdin")
	}
	return raw, nil
}

func inputName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// oneArg returns the one optional positional argument, or a usage problem.
func oneArg(args []string) (string, string) {
	switch len(args) {
	case 0:
		return "", ""
	case 1:
		return args[0], ""
	}
	return "", fmt.Sprintf("unexpected argument %q", args[1])
}
