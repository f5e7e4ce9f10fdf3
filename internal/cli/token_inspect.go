package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/keygate/keygate/internal/explain"
	"github.com/keygate/keygate/internal/token"
)

const tokenInspectUsage = `keygate token inspect: decode a token and show it, UNVERIFIED.

USAGE
  keygate token inspect [TOKEN|-]

Prints the header and the claims as JSON, and iat, nbf and exp as RFC 3339
times with how far they are from now ("expires in 59m", "expired 3m ago").
Nothing is checked: not the signature, not the key, not a single claim. The
output says so at the top, because anyone can write any of these values.
For a verdict use keygate token verify. The token is the argument, or read
from stdin when it is - or absent; a pasted "Bearer " is dropped.

EXAMPLES
  keygate token inspect eyJraWQiOi...
  keygate token sign --key client.key --iss me --aud api | keygate token inspect
  pbpaste | keygate token inspect -
`

const unverifiedBanner = `UNVERIFIED: decoded only. The signature, key and claims have NOT been checked,
and anyone can write these values. Run keygate token verify for a verdict.
`

func runTokenInspect(e *env, args []string) int {
	fs := newFlags("token inspect")
	if code, ok := parseFlags(e, fs, tokenInspectUsage, args); !ok {
		return code
	}
	arg, problem := oneArg(fs.Args())
	if problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	raw, err := readToken(e, arg)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	u, err := token.DecodeUnverified(raw)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	w := e.stdout
	fmt.Fprint(w, unverifiedBanner+"\n")
	fmt.Fprintln(w, "HEADER")
	writeJSON(w, u.Header)
	fmt.Fprintln(w, "\nCLAIMS")
	writeJSON(w, u.Claims)
	fmt.Fprintln(w, "\nTIMES")
	now := time.Now()
	for _, name := range []string{"iat", "nbf", "exp"} {
		fmt.Fprintf(w, "  %s  %s\n", name, explain.DescribeTime(name, u.Claims, now))
	}
	alg, _ := u.Header["alg"].(string)
	fmt.Fprintf(w, "\nSIGNATURE\n  %d bytes, alg %s, NOT verified\n", u.SignatureLen, strconv.Quote(alg))
	return exitOK
}

// writeJSON prints v indented, numbers as written and without HTML escapes.
func writeJSON(w io.Writer, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(w, "(cannot be shown: %v)\n", err)
		return
	}
	_, _ = w.Write(b.Bytes())
}
