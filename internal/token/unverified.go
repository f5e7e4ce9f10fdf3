package token

// Unverified is a token decoded without any check of its key, signature or
// claims. Everything in it was chosen by whoever made the token: it serves
// tools that show a token to a person, never a decision.
type Unverified struct {
	// Header is the whole JOSE header; numbers are json.Number.
	Header map[string]any
	// Claims is the payload.
	Claims Claims
	// SignatureLen is the length of the decoded signature in bytes.
	SignatureLen int
}

// DecodeUnverified decodes raw with the same parser Verify uses (size
// limit, three base64url segments, JSON objects without duplicate members)
// but checks nothing else. Its name says what it skips, so that code which
// calls it cannot pass for verification. Errors wrap ErrTooLarge or
// ErrMalformed.
func DecodeUnverified(raw string) (*Unverified, error) {
	parts, err := split(raw)
	if err != nil {
		return nil, err
	}
	header, err := decodeHeader(&parts)
	if err != nil {
		return nil, err
	}
	claims, err := decodeClaims(&parts)
	if err != nil {
		return nil, err
	}
	return &Unverified{Header: header, Claims: claims, SignatureLen: len(parts.signature)}, nil
}
