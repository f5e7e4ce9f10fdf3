package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/keygate/keygate/internal/config"
)

// errUnsealable is a sealed value that no key of the ring opens: tampered,
// truncated, sealed for another cookie or deployment, or sealed with a key
// that was retired. The browser goes back to login; it is never a 500.
var errUnsealable = errors.New("sealed value does not open with any session key")

// sealVersion is the first byte of every sealed value, so a later format
// can be told apart.
const sealVersion = 1

// sealOverhead is what sealing adds to the plaintext: version, key id,
// nonce and the GCM tag.
const sealOverhead = 1 + keyIDSize + 12 + 16

const keyIDSize = 4

// sealer seals and opens the values of OAUTH2 cookies and X-APIGW-TOKEN:
// AES-256-GCM, authenticated with the value's name and the deployment's
// path prefix as additional data, so a value copied to another cookie name
// or another deployment does not open. The first key seals; every key
// opens, so a new key put first logs nobody out (keys rotate).
type sealer struct {
	keys []sealKey
}

type sealKey struct {
	id   [keyIDSize]byte // first bytes of SHA-256 of the key: which key sealed, without trying all
	aead cipher.AEAD
}

// newSealer makes a sealer from the gateway file's session keys, first the
// sealing one.
func newSealer(keys []config.SessionKey) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no session keys")
	}
	s := &sealer{}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Key[:])
		if err != nil {
			return nil, fmt.Errorf("session key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("session key %q: %w", k.ID, err)
		}
		sum := sha256.Sum256(k.Key[:])
		var id [keyIDSize]byte
		copy(id[:], sum[:])
		s.keys = append(s.keys, sealKey{id: id, aead: aead})
	}
	return s, nil
}

// seal encrypts and authenticates plaintext as the value of name within
// the deployment at prefix; the result is base64url, cookie-safe.
func (s *sealer) seal(name, prefix string, plaintext []byte) string {
	k := s.keys[0]
	out := make([]byte, 1+keyIDSize+12, sealOverhead+len(plaintext))
	out[0] = sealVersion
	copy(out[1:], k.id[:])
	nonce := out[1+keyIDSize:]
	_, _ = rand.Read(nonce) // crypto/rand never fails (Go 1.24)
	out = k.aead.Seal(out, nonce, plaintext, additionalData(name, prefix))
	return base64.RawURLEncoding.EncodeToString(out)
}

// open reverses seal; any failure is errUnsealable.
func (s *sealer) open(name, prefix, value string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < sealOverhead || raw[0] != sealVersion {
		return nil, errUnsealable
	}
	id, nonce, ct := raw[1:1+keyIDSize], raw[1+keyIDSize:1+keyIDSize+12], raw[1+keyIDSize+12:]
	for _, k := range s.keys {
		if string(k.id[:]) != string(id) {
			continue
		}
		if pt, err := k.aead.Open(nil, nonce, ct, additionalData(name, prefix)); err == nil {
			return pt, nil
		}
	}
	return nil, errUnsealable
}

func additionalData(name, prefix string) []byte {
	return []byte("keygate-session\x00" + name + "\x00" + prefix)
}
