package keys

import (
	"encoding/json"
	"fmt"
)

// JWKS limits (attack K3): a key set is a few kilobytes; anything far larger
// is a mistake or an attempt to make the gateway parse and hold junk.
const (
	maxJWKSBytes = 256 << 10
	maxJWKSKeys  = 50
)

// JWKS is a JSON Web Key Set (RFC 7517 §5) as keygate writes it.
type JWKS struct {
	// Keys are the set's keys, in publication order.
	Keys []JWK `json:"keys"`
}

// ParseJWKS parses a JWKS document. err is set, and no key returned, when
// data is not a JWKS object, exceeds 256 KiB or holds more than 50 keys.
// Otherwise each key that cannot be used is left out with an error in
// skipped naming keys[i] and its kid: other key types (kty not RSA, EC or
// OKP), encryption keys (use "enc"), keys without a kid, keys FromJWK
// refuses and later keys repeating an earlier kid (ErrDuplicateKID). The keys
// returned can always form a StaticSet. A provider publishing one odd
// key must not take down verification with all its others.
func ParseJWKS(data []byte) (ks []*Key, skipped []error, err error) {
	if len(data) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("%w: jwks is %d bytes; the limit is %d", ErrMalformedKey, len(data), maxJWKSBytes)
	}
	members, err := decodeObject(data)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: %w", err)
	}
	var raws []json.RawMessage
	raw, ok := members["keys"]
	if !ok || json.Unmarshal(raw, &raws) != nil || raws == nil {
		return nil, nil, fmt.Errorf("%w: jwks has no \"keys\" array", ErrMalformedKey)
	}
	if len(raws) > maxJWKSKeys {
		return nil, nil, fmt.Errorf("%w: jwks has %d keys; the limit is %d", ErrMalformedKey, len(raws), maxJWKSKeys)
	}
	seen := make(map[string]int, len(raws))
	for i, raw := range raws {
		k, err := parseSetMember(raw)
		if err == nil {
			if j, dup := seen[k.ID]; dup {
				err = fmt.Errorf("%w: also used by keys[%d], which is kept", ErrDuplicateKID, j)
			}
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("keys[%d]%s: %w", i, kidLabel(raw), err))
			continue
		}
		seen[k.ID] = i
		ks = append(ks, k)
	}
	return ks, skipped, nil
}

// parseSetMember parses one member of a JWKS's keys array.
func parseSetMember(raw json.RawMessage) (*Key, error) {
	members, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	j, err := jwkFromMembers(members)
	if err != nil {
		return nil, err
	}
	switch j.Kty {
	case "RSA", "EC", "OKP":
	default:
		return nil, fmt.Errorf("%w: kty %q is not used for verification; want RSA, EC or OKP", ErrUnsupportedKey, j.Kty)
	}
	if j.Use == "enc" {
		return nil, fmt.Errorf("%w: use is \"enc\", an encryption key", ErrKeyUsage)
	}
	if j.Kid == "" {
		return nil, fmt.Errorf("%w: no kid; tokens select keys by kid, so this key could never be used", ErrMalformedKey)
	}
	return FromJWK(j)
}

// kidLabel names the kid of a raw JWKS member for an error, if it has one.
func kidLabel(raw json.RawMessage) string {
	var members map[string]any
	if json.Unmarshal(raw, &members) != nil {
		return ""
	}
	if kid, ok := members["kid"].(string); ok {
		return " (kid " + quoteKID(kid) + ")"
	}
	return ""
}
