package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// fixPubout is the command that turns the seed's private keys.pem into the
// public key a gateway should hold.
const fixPubout = "openssl rsa -in keys.pem -pubout -out public_key.crt"

// ParsePublicPEM returns the public key in the first PEM block of data: a
// "PUBLIC KEY" (SPKI), "RSA PUBLIC KEY" (PKCS#1) or "CERTIFICATE", of which
// only the public key is used (no chain or expiry checks: the key is pinned
// by configuration, not trusted through a CA). Surrounding whitespace, CRLF
// line ends, indentation and a PEM flattened onto one line are tolerated,
// because keys get pasted into JSON and YAML. The key's strength is not
// checked here; NewKey does that.
func ParsePublicPEM(data []byte) (crypto.PublicKey, error) {
	block, err := firstBlock(data)
	if err != nil {
		return nil, err
	}
	return publicFromBlock(block)
}

// ParsePrivatePEM returns the signer in the first PEM block of data: a
// "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1) or "EC PRIVATE KEY"
// (SEC 1). Encrypted keys are refused with the command that decrypts them.
func ParsePrivatePEM(data []byte) (crypto.Signer, error) {
	block, err := firstBlock(data)
	if err != nil {
		return nil, err
	}
	return privateFromBlock(block)
}

// PublicFromPEM returns the public key of the first PEM block of data,
// public or private, in any form ParsePublicPEM or ParsePrivatePEM reads. It
// serves tools that turn whatever file a user has into a JWK.
func PublicFromPEM(data []byte) (crypto.PublicKey, error) {
	block, err := firstBlock(data)
	if err != nil {
		return nil, err
	}
	switch {
	case isPrivateType(block.Type):
	case block.Type == "PUBLIC KEY", block.Type == "RSA PUBLIC KEY", block.Type == "CERTIFICATE":
		return publicFromBlock(block)
	default:
		return nil, fmt.Errorf("%w: pem block is %q; want a public key (\"PUBLIC KEY\", \"RSA PUBLIC KEY\", \"CERTIFICATE\") or a private one (\"PRIVATE KEY\", \"RSA PRIVATE KEY\", \"EC PRIVATE KEY\")", ErrMalformedKey, block.Type)
	}
	signer, err := privateFromBlock(block)
	if err != nil {
		return nil, err
	}
	return signer.Public(), nil
}

// EncodePublicPEM encodes pub as a "PUBLIC KEY" (SPKI) PEM block, the form
// OCI's static PEM keys use.
func EncodePublicPEM(pub crypto.PublicKey) ([]byte, error) {
	pub, err := supportedPublic(pub)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: encode public key: %v", ErrMalformedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// EncodePrivatePEM encodes key as an unencrypted "PRIVATE KEY" (PKCS#8) PEM
// block, the form the seed's openssl pkcs8 command writes.
func EncodePrivatePEM(key crypto.Signer) ([]byte, error) {
	key, err := supportedSigner(key)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: encode private key: %v", ErrMalformedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func publicFromBlock(block *pem.Block) (crypto.PublicKey, error) {
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		if isPrivateType(block.Type) {
			return nil, fmt.Errorf("%w: pem block is a %q; give the gateway the public key only (%s)", ErrPrivateKey, block.Type, fixPubout)
		}
		return nil, fmt.Errorf("%w: pem block is %q; want \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\"", ErrMalformedKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: pem %q block does not parse: %v", ErrMalformedKey, block.Type, err)
	}
	return supportedPublic(pub)
}

func privateFromBlock(block *pem.Block) (crypto.Signer, error) {
	if _, ok := block.Headers["DEK-Info"]; ok || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%w: pem private key is encrypted; decrypt it first (openssl pkcs8 -topk8 -nocrypt -in encrypted.key -out private_key.key)", ErrUnsupportedKey)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: pem block is %q; want \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\"", ErrMalformedKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: pem %q block does not parse: %v", ErrMalformedKey, block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key type %T cannot sign; use rsa, ec or ed25519", ErrUnsupportedKey, key)
	}
	return supportedSigner(signer)
}

func isPrivateType(blockType string) bool {
	return strings.HasSuffix(blockType, "PRIVATE KEY")
}

// supportedPublic refuses key types keygate cannot verify with, and empty
// keys that would make the x509 encoders panic.
func supportedPublic(pub any) (crypto.PublicKey, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if err := checkRSAMaterial(p); err != nil {
			return nil, err
		}
	case *ecdsa.PublicKey:
		if p == nil {
			return nil, unsupportedType(nil)
		}
		if _, err := p.Bytes(); err != nil {
			return nil, fmt.Errorf("%w: ec public key is not a valid point on a supported curve: %v", ErrUnsupportedKey, err)
		}
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: ed25519 public key is %d bytes; want %d", ErrMalformedKey, len(p), ed25519.PublicKeySize)
		}
	default:
		return nil, unsupportedType(pub)
	}
	return pub, nil
}

// supportedSigner refuses signer types keygate cannot use, and empty ones.
func supportedSigner(key crypto.Signer) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k == nil || k.N == nil {
			return nil, fmt.Errorf("%w: empty rsa private key", ErrMalformedKey)
		}
	case *ecdsa.PrivateKey:
		if k == nil {
			return nil, fmt.Errorf("%w: empty ec private key", ErrMalformedKey)
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%w: ed25519 private key is %d bytes; want %d", ErrMalformedKey, len(k), ed25519.PrivateKeySize)
		}
	default:
		return nil, fmt.Errorf("%w: signer type %T is not supported; use rsa, ec or ed25519", ErrUnsupportedKey, key)
	}
	if _, err := supportedPublic(key.Public()); err != nil {
		return nil, err
	}
	return key, nil
}
