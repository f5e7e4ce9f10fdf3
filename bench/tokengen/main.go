// Command tokengen prints a JWT for bench/compare.sh, and the bad ones for its
// refusal checks (expired, wrong iss/aud, scopes, tampered signature, alg
// none, HS256 keyed with the public key). The default token is RS256, about
// 800 bytes, valid for 24 h. It is a benchmark tool, not part of keygate:
// keygate's own "token sign" refuses to make most of these tokens.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "tokengen: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	keyPath := flag.String("key", "", "PEM RSA private key (PKCS#1 or PKCS#8)")
	pubPath := flag.String("pub", "", "PEM public key, used as the HMAC secret with -alg HS256 (the alg-confusion attack)")
	alg := flag.String("alg", "RS256", "RS256, HS256 or none")
	kid := flag.String("kid", "perf-key-1", "kid header (RS256)")
	iss := flag.String("iss", "https://auth.example.test/", "iss claim")
	aud := flag.String("aud", "api://perf-gateway", "aud claim")
	scope := flag.String("scope", "openid profile api:read api:write", "scope claim")
	ttl := flag.Duration("ttl", 24*time.Hour, "exp = now + ttl (negative: already expired)")
	noExp := flag.Bool("no-exp", false, "omit exp")
	tamper := flag.Bool("tamper", false, "corrupt the signature")
	flag.Parse()

	now := time.Now()
	c := jwt.MapClaims{
		"iss":   *iss,
		"aud":   *aud,
		"sub":   "user-7f3c2a91-5b4e-4d1a-9c3e-2f8b6a1d0e47",
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"jti":   "b9e2c6f4-1d3a-4e8b-a7c5-3f2d1e0b9a86",
		"scope": *scope,
		"email": "alice@example.test",
		"name":  "Alice Example",
	}
	if !*noExp {
		c["exp"] = now.Add(*ttl).Unix()
	}

	var s string
	var err error
	switch *alg {
	case "RS256":
		pem, err := os.ReadFile(*keyPath)
		if err != nil {
			return err
		}
		key, err := jwt.ParseRSAPrivateKeyFromPEM(pem)
		if err != nil {
			return err
		}
		t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		t.Header["kid"] = *kid
		s, err = t.SignedString(key)
		if err != nil {
			return err
		}
	case "HS256":
		secret, err := os.ReadFile(*pubPath)
		if err != nil {
			return err
		}
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		t.Header["kid"] = *kid
		s, err = t.SignedString(secret)
		if err != nil {
			return err
		}
	case "none":
		t := jwt.NewWithClaims(jwt.SigningMethodNone, c)
		t.Header["kid"] = *kid
		s, err = t.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown alg %q (RS256, HS256 or none)", *alg)
	}
	if *tamper {
		b := []byte(s)
		i := len(b) - 10
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		s = string(b)
	}
	fmt.Println(s)
	return nil
}
