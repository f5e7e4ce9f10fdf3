package token

import (
	"encoding/base64"
	"fmt"
	"slices"
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
	// signingInput is "header.payload" as sent: what the signature covers;
	// signingBytes is the same bytes.
	signingInput string
	signingBytes []byte
	header       []byte
	payload      []byte
	signature    []byte
	// headerText and payloadText are header and payload as strings, slices
	// of one copy: decoded names and values are slices of them.
	headerText, payloadText string
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
	// the three decoded segments, then one string holds the decoded header
	// and payload: two allocations per token.
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
	text := string(buf[len(raw) : len(raw)+len(out[0])+len(out[1])])
	return compact{signingInput: raw[:second], signingBytes: src[:second], header: out[0], payload: out[1],
		signature: out[2], headerText: text[:len(out[0])], payloadText: text[len(out[0]):]}, nil
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
func decodeHeader(parts *compact) (map[string]any, error) {
	if err := checkJSONObject(parts.header); err != nil {
		return nil, newError(ErrMalformed, "token header: "+err.Error())
	}
	m, err := decodeObject(parts.headerText)
	if err != nil {
		return nil, newError(ErrMalformed, "token header: "+err.Error())
	}
	return m, nil
}

// decodeClaims checks and decodes the payload JSON, keeping numbers as
// json.Number so that exp, large integers and claim values keep the
// digits the issuer wrote.
func decodeClaims(parts *compact) (Claims, error) {
	if err := checkJSONObject(parts.payload); err != nil {
		return nil, newError(ErrMalformed, "token payload: "+err.Error())
	}
	m, err := decodeObject(parts.payloadText)
	if err != nil {
		return nil, newError(ErrMalformed, "token payload: "+err.Error())
	}
	return Claims(m), nil
}

// joseHeader is what Verify reads of a token's header: the members it
// checks, without building a map of the whole header. Names compare
// case-sensitively after unescaping, as they do in a decoded map.
type joseHeader struct {
	// alg, kid and typ are the members' values when they are strings.
	alg, kid, typ string
	// hasAlg and hasKid: the member is present; algString and kidString:
	// and a string.
	hasAlg, algString, hasKid, kidString bool
	// forbidden is the first of forbiddenHeaders present, "" for none.
	forbidden string
}

// readHeader checks the header JSON as decodeHeader does and reads the
// members Verify needs from it.
func readHeader(parts *compact) (joseHeader, error) {
	var h joseHeader
	if err := checkJSONObject(parts.header); err != nil {
		return h, newError(ErrMalformed, "token header: "+err.Error())
	}
	forbidden := len(forbiddenHeaders)
	d := jsonBuilder{text: parts.headerText}
	d.space()
	more, err := d.openObject()
	for more && err == nil {
		var name, v string
		if name, err = d.memberName(); err != nil {
			break
		}
		if i := slices.Index(forbiddenHeaders[:], name); i >= 0 {
			forbidden = min(forbidden, i)
		}
		isString := d.text[d.i] == '"'
		if isString {
			v, err = d.str()
		} else {
			err = d.skip()
		}
		switch name {
		case "alg":
			h.hasAlg, h.algString, h.alg = true, isString, v
		case "kid":
			h.hasKid, h.kidString, h.kid = true, isString, v
		case "typ":
			h.typ = v
		}
		if err == nil {
			more, err = d.nextMember()
		}
	}
	if err != nil {
		return h, newError(ErrMalformed, "token header: "+err.Error())
	}
	if forbidden < len(forbiddenHeaders) {
		h.forbidden = forbiddenHeaders[forbidden]
	}
	return h, nil
}

// headerOf is the Header a joseHeader reports; members of the wrong type
// come out empty.
func headerOf(h joseHeader) Header {
	return Header{KeyID: h.kid, Algorithm: h.alg, Type: h.typ}
}

// forbiddenHeaders are header members keygate refuses outright: keys and
// key locations never come from the token (RFC 8725 §3.10) and keygate
// understands no critical extension (RFC 7515 §4.1.11).
var forbiddenHeaders = [...]string{"crit", "jwk", "jku", "x5u", "x5c"}

// checkHeader applies the header rules in order: alg a string, kid a
// non-empty string, no forbidden member. It returns the alg and kid
// problems apart, since Check can still use whichever of the two is sound.
func checkHeader(h joseHeader) (algErr, kidErr, forbiddenErr error) {
	switch {
	case !h.hasAlg:
		algErr = newError(ErrMalformed, `token header has no "alg"`)
	case !h.algString:
		algErr = newError(ErrMalformed, `token header "alg" is not a string`)
	}
	switch {
	case !h.hasKid:
		kidErr = newError(ErrMissingKID, `token header has no "kid"; keygate selects the key by kid only`)
	case !h.kidString:
		kidErr = newError(ErrMissingKID, `token header "kid" is not a string`)
	case h.kid == "":
		kidErr = newError(ErrMissingKID, `token header "kid" is empty`)
	}
	if h.forbidden != "" {
		forbiddenErr = forbiddenHeaderError(h.forbidden)
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
