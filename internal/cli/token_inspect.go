package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

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
		fmt.Fprintf(w, "  %s  %s\n", name, describeTime(name, u.Claims, now))
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

// describeTime renders a NumericDate claim as RFC 3339 and its distance
// from now, or says why it cannot.
func describeTime(name string, claims token.Claims, now time.Time) string {
	raw, present := claims[name]
	if !present {
		if name == "exp" {
			return "(none: the gateway rejects a token without exp)"
		}
		return "(none)"
	}
	n, ok := raw.(json.Number)
	f, err := strconv.ParseFloat(string(n), 64)
	if !ok || err != nil || math.Abs(f) > 1e15 {
		return fmt.Sprintf("%s is not a NumericDate (seconds since 1970)", compactJSON(raw))
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(frac*1e9))
	d := t.Sub(now)
	var rel string
	switch name {
	case "exp":
		rel = "expires in " + humanSpan(t, now)
		if d <= 0 {
			rel = "expired " + humanSpan(t, now) + " ago"
		}
	case "nbf":
		rel = "valid since " + humanSpan(t, now) + " ago"
		if d > 0 {
			rel = "not valid for another " + humanSpan(t, now)
		}
	default:
		rel = "issued " + humanSpan(t, now) + " ago"
		if d > 0 {
			rel = "issued " + humanSpan(t, now) + " in the future (the signer's clock is ahead)"
		}
	}
	return t.UTC().Format(time.RFC3339) + "  " + rel
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// humanSpan is the distance between t and now for humans: humanDuration,
// or whole years beyond two (where a time.Duration would saturate at about
// 292 years and claim a far-future exp expires sooner than it does).
func humanSpan(t, now time.Time) string {
	if years := t.Year() - now.Year(); years > 2 || years < -2 {
		return fmt.Sprintf("about %d years", max(years, -years))
	}
	d := t.Sub(now)
	return humanDuration(max(d, -d))
}

// humanDuration is d, not negative, to the largest two units that matter:
// "45s", "59m", "2h5m", "3d4h". Smaller parts are cut, not rounded, so a
// fresh one-hour token "expires in 59m".
func humanDuration(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}
