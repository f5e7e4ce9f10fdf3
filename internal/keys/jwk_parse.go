package keys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// privateMembers are the JWK members that carry secrets (RFC 7518 §6.2.2,
// §6.3.2, §6.4; RFC 8037). A JWK holding one was copied from the wrong file.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParseJWK parses one JSON object as a public JWK and returns its key (see
// FromJWK). Members are matched by exact, case-sensitive name; unknown ones
// are ignored, but private members give ErrPrivateKey and a member named
// twice gives ErrMalformedKey, since two parsers could each pick a different
// one.
func ParseJWK(data []byte) (*Key, error) {
	members, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	if _, ok := members["keys"]; ok {
		if _, ok := members["kty"]; !ok {
			return nil, fmt.Errorf("%w: this is a jwks (it has \"keys\"); give a single jwk", ErrMalformedKey)
		}
	}
	j, err := jwkFromMembers(members)
	if err != nil {
		return nil, err
	}
	return FromJWK(j)
}

// decodeObject decodes data, which must be exactly one JSON object, into its
// members, refusing duplicate member names and trailing data.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: want a json object", ErrMalformedKey)
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid json: %v", ErrMalformedKey, err)
		}
		name, _ := tok.(string) // object keys are always strings
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%w: member %q appears twice", ErrMalformedKey, name)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: invalid json in member %q: %v", ErrMalformedKey, name, err)
		}
		members[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: invalid json: %v", ErrMalformedKey, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the json object", ErrMalformedKey)
	}
	return members, nil
}

// jwkFromMembers fills a JWK from exactly named members. encoding/json would
// match "N" or "Kty" case-insensitively; JOSE names are case-sensitive.
func jwkFromMembers(members map[string]json.RawMessage) (JWK, error) {
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			return JWK{}, fmt.Errorf("%w: jwk has private member %q; remove it and publish only the public members", ErrPrivateKey, name)
		}
	}
	var j JWK
	fields := []struct {
		name string
		dst  any
	}{
		{"kty", &j.Kty}, {"kid", &j.Kid}, {"alg", &j.Alg}, {"use", &j.Use},
		{"key_ops", &j.KeyOps}, {"n", &j.N}, {"e", &j.E},
		{"crv", &j.Crv}, {"x", &j.X}, {"y", &j.Y},
	}
	for _, f := range fields {
		raw, ok := members[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil || bytes.Equal(raw, []byte("null")) {
			return JWK{}, fmt.Errorf("%w: jwk member %q must be a %s", ErrMalformedKey, f.name, kindOf(f.dst))
		}
	}
	if _, ok := members["key_ops"]; ok && j.KeyOps == nil {
		j.KeyOps = []string{} // present but empty still means "no verify"
	}
	return j, nil
}

func kindOf(dst any) string {
	if _, ok := dst.(*[]string); ok {
		return "list of strings"
	}
	return "string"
}
