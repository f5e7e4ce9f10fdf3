//go:build cgo

package hsm

import (
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/ThalesGroup/crypto11"
)

// Generate makes a key pair inside the token the URI names and returns it
// open. kind is "rsa" (bits 2048, 3072 or 4096) or "ec" (curve P-256,
// P-384 or P-521). The private key is created sensitive and not
// extractable: it never leaves the token. The pair gets the URI's object
// as its label and id as its CKA_ID (16 random bytes without one: PKCS#11
// pairs the halves by id). An existing pair with that label or id is an
// error wrapping ErrExists.
func Generate(uri string, opts Options, kind string, bits int, curve string) (*Key, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	var c elliptic.Curve
	switch {
	case kind == "ec" && curve == "P-256":
		c = elliptic.P256()
	case kind == "ec" && curve == "P-384":
		c = elliptic.P384()
	case kind == "ec" && curve == "P-521":
		c = elliptic.P521()
	case kind == "rsa" && (bits == 2048 || bits == 3072 || bits == 4096):
	default:
		return nil, fmt.Errorf("a token key is rsa 2048, 3072 or 4096 or ec P-256, P-384 or P-521, not %s %d %s", kind, bits, curve)
	}
	ctx, err := login(u, opts)
	if err != nil {
		return nil, err
	}
	for _, q := range []struct{ id, label []byte }{{u.ID, nil}, {nil, label(u)}} {
		if q.id == nil && q.label == nil {
			continue
		}
		// FindPrivateKeys, not FindKeyPairs: a private key whose public half
		// is gone would still clash with a new pair.
		existing, err := ctx.FindPrivateKeys(q.id, q.label)
		if err != nil {
			ctx.Close()
			return nil, fmt.Errorf("token %s: look for existing keys: %w", describeToken(u), err)
		}
		if len(existing) > 0 {
			ctx.Close()
			return nil, fmt.Errorf("%w: token %s already holds a key with %s; pick another object and id, or delete it with the token's tools", ErrExists, describeToken(u), describeKey(u))
		}
	}
	id := u.ID
	if len(id) == 0 {
		id = make([]byte, 16)
		_, _ = rand.Read(id)
	}
	var signer crypto11.Signer
	switch {
	case kind == "rsa" && u.Object != "":
		signer, err = ctx.GenerateRSAKeyPairWithLabel(id, label(u), bits)
	case kind == "rsa":
		signer, err = ctx.GenerateRSAKeyPair(id, bits) // crypto11 refuses a nil label
	case u.Object != "":
		signer, err = ctx.GenerateECDSAKeyPairWithLabel(id, label(u), c)
	default:
		signer, err = ctx.GenerateECDSAKeyPair(id, c)
	}
	if err != nil {
		ctx.Close()
		return nil, fmt.Errorf("token %s: generate %s key: %w", describeToken(u), kind, err)
	}
	return &Key{signer: signer, close: ctx.Close}, nil
}
