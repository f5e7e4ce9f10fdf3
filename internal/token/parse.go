package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// maxTokenBytes is the longest token keygate reads (16 KiB). Longer ones
// are refused before any other work, so their cost stays bounded.
const maxTokenBytes = 16384

// strictBase64 is unpadded base64url that also refuses non-zero trailing
// bits, so each segment has exactly one accepted spelling. It is never
// modified after package initialisation.
var strictBase64 = base64.RawURLEncoding.Strict()

// segmentNames name a compact JWS's segments in messages.
var segmentNames = [3]string{"header", "payload", "signature"}

// compact is a token split into its segments and decoded from base64url.
type compact struct {
	// signingInput is "header.payload" as sent: what the signature covers.
	signingInput string
	header       []byte
	payload      []byte
	signature    []byte
}

// split checks the size and shape of raw and decodes its segments. It does
// no JSON and no cryptography.
func split(raw string) (compact, error) {
	if len(raw) > maxTokenBytes {
		return compact{}, newError(ErrTooLarge,
			fmt.Sprintf("token is %d bytes; the limit is %d", len(raw), maxTokenBytes))
	}
	first := strings.IndexByte(raw, '.')
	second := -1
	if first >= 0 {
		second = strings.IndexByte(raw[first+1:], '.')
	}
	if first < 0 || second < 0 || strings.IndexByte(raw[first+second+2:], '.') >= 0 {
		return compact{}, segmentCountError(raw)
	}
	second += first + 1
	segs := [3]string{raw[:first], raw[first+1 : second], raw[second+1:]}
	size := 0
	for i, seg := range segs {
		if err := checkSegment(segmentNames[i], seg); err != nil {
			return compact{}, err
		}
		size += strictBase64.DecodedLen(len(seg))
	}
	// One buffer holds a byte copy of raw (the decoder reads []byte) and
	// the three decoded segments: one allocation per token.
	buf := make([]byte, len(raw)+size)
	src, dst := buf[:copy(buf, raw)], buf[len(raw):]
	bounds := [3][2]int{{0, first}, {first + 1, second}, {second + 1, len(raw)}}
	var out [3][]byte
	for i, bd := range bounds {
		n, err := strictBase64.Decode(dst, src[bd[0]:bd[1]])
		if err != nil {
			return compact{}, newError(ErrMalformed,
				fmt.Sprintf("token's %s segment is not valid unpadded base64url", segmentNames[i]))
		}
		out[i], dst = dst[:n:n], dst[n:]
	}
	return compact{signingInput: raw[:second], header: out[0], payload: out[1], signature: out[2]}, nil
}

// segmentCountError explains a token that does not have three segments.
func segmentCountError(raw string) error {
	n := strings.Count(raw, ".") + 1
	plural := "s"
	if n == 1 {
		plural = ""
	}
	msg := fmt.Sprintf("token has %d segment%s; a compact JWS has 3 (header.payload.signature)", n, plural)
	switch {
	case strings.HasPrefix(strings.TrimSpace(raw), "{"):
		msg = "token is JSON; only the compact JWS serialisation (header.payload.signature) is accepted"
	case n == 5:
		msg = "token has 5 segments, the shape of an encrypted JWE; keygate accepts only signed compact JWS (3 segments)"
	}
	return newError(ErrMalformed, msg)
}

// checkSegment accepts a non-empty segment of base64url characters only.
// The decoder alone would let '\r' and '\n' through, and a token must have
// exactly one spelling.
func checkSegment(name, seg string) error {
	if seg == "" {
		return newError(ErrMalformed, fmt.Sprintf("token's %s segment is empty", name))
	}
	for i := 0; i < len(seg); i++ {
		if !isBase64URL(seg[i]) {
			return newError(ErrMalformed, fmt.Sprintf(
				"token's %s segment has a character outside the unpadded base64url alphabet at offset %d",
				name, i))
		}
	}
	return nil
}

func isBase64URL(c byte) bool {
	return ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_'
}

// decodeHeader checks and decodes the header JSON. A map, not a struct,
// keeps member names case-sensitive: encoding/json would fill an Alg field
// from "ALG".
func decodeHeader(b []byte) (map[string]any, error) {
	if err := checkJSONObject(b); err != nil {
		return nil, newError(ErrMalformed, "token header: "+err.Error())
	}
	m, err := decodeObject(b)
	if err != nil {
		return nil, newError(ErrMalformed, "token header: "+err.Error())
	}
	return m, nil
}

// decodeClaims checks and decodes the payload JSON, keeping numbers as
// json.Number so that exp, large integers and claim values keep the
// digits the issuer wrote.
func decodeClaims(b []byte) (Claims, error) {
	if err := checkJSONObject(b); err != nil {
		return nil, newError(ErrMalformed, "token payload: "+err.Error())
	}
	m, err := decodeObject(b)
	if err != nil {
		return nil, newError(ErrMalformed, "token payload: "+err.Error())
	}
	return Claims(m), nil
}

// decodeObject decodes a checked JSON object with numbers as json.Number:
// a float64 would lose digits, and refuse 1e400 outright.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// headerOf picks the members keygate reports from a decoded header; members
// of the wrong type come out empty.
func headerOf(m map[string]any) Header {
	var h Header
	h.KeyID, _ = m["kid"].(string)
	h.Algorithm, _ = m["alg"].(string)
	h.Type, _ = m["typ"].(string)
	return h
}

// forbiddenHeaders are header members keygate refuses outright: keys and
// key locations never come from the token (RFC 8725 §3.10) and keygate
// understands no critical extension (RFC 7515 §4.1.11).
var forbiddenHeaders = [...]string{"crit", "jwk", "jku", "x5u", "x5c"}

// checkHeader applies the header rules in order: alg a string, kid a
// non-empty string, no forbidden member. It returns the alg and kid
// problems apart, since Check can still use whichever of the two is sound.
func checkHeader(m map[string]any) (algErr, kidErr, forbiddenErr error) {
	switch alg, ok := m["alg"]; {
	case !ok:
		algErr = newError(ErrMalformed, `token header has no "alg"`)
	case !isString(alg):
		algErr = newError(ErrMalformed, `token header "alg" is not a string`)
	}
	switch kid, ok := m["kid"]; {
	case !ok:
		kidErr = newError(ErrMissingKID, `token header has no "kid"; keygate selects the key by kid only`)
	case !isString(kid):
		kidErr = newError(ErrMissingKID, `token header "kid" is not a string`)
	case kid == "":
		kidErr = newError(ErrMissingKID, `token header "kid" is empty`)
	}
	for _, name := range forbiddenHeaders {
		if _, ok := m[name]; ok {
			forbiddenErr = forbiddenHeaderError(name)
			break
		}
	}
	return algErr, kidErr, forbiddenErr
}

func forbiddenHeaderError(name string) error {
	why := "keygate never takes keys or key locations from a token"
	if name == "crit" {
		why = "keygate understands no critical JWS extension"
	}
	return newError(ErrForbiddenHeader, fmt.Sprintf("token header carries %q; %s", name, why))
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
