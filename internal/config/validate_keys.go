package config

import (
	"net/url"
	"slices"
	"strings"
)

// maxKeys is OCI's limit of static keys per key set.
const maxKeys = 10

// keySet checks a key set (publicKeys, or the key part of validationPolicy).
func (c *checker) keySet(p string, ks *KeySet) {
	switch ks.Type {
	case KeySetStatic:
		c.staticKeys(p, ks)
	case KeySetRemoteJWKS:
		c.remoteJWKS(p, ks)
	case "":
		c.addf(at(p, "type"), "missing; use STATIC_KEYS")
	default:
		c.addf(at(p, "type"), "unknown type %q; use STATIC_KEYS or REMOTE_JWKS", ks.Type)
	}
}

func (c *checker) staticKeys(p string, ks *KeySet) {
	kp := at(p, "keys")
	switch {
	case len(ks.Keys) == 0:
		c.addf(kp, "missing; add at least one key with format JSON_WEB_KEY or PEM")
	case len(ks.Keys) > maxKeys:
		c.addf(kp, "%d keys; OCI allows at most %d; remove some", len(ks.Keys), maxKeys)
	}
	seen := make(map[string]int, len(ks.Keys))
	for i := range ks.Keys {
		k, p := &ks.Keys[i], idx(kp, i)
		before := len(c.probs)
		c.staticKey(p, k)
		if j, dup := seen[k.Kid]; dup && k.Kid != "" {
			c.addf(at(p, "kid"), "also the kid of keys[%d]; give each key its own kid", j)
		} else {
			seen[k.Kid] = i
		}
		c.labelKey(before, p, k.Kid)
	}
	const other = "only for REMOTE_JWKS; remove it"
	if ks.URI != "" {
		c.addf(at(p, "uri"), other)
	}
	if ks.MaxCacheDurationInHours != nil {
		c.addf(at(p, "maxCacheDurationInHours"), other)
	}
	if ks.IsSslVerifyDisabled {
		c.addf(at(p, "isSslVerifyDisabled"), other)
	}
}

func (c *checker) remoteJWKS(p string, ks *KeySet) {
	if ks.URI == "" {
		c.addf(at(p, "uri"), "missing; give the JWKS's https:// URL")
	} else if !isHTTPURL(ks.URI) {
		c.addf(at(p, "uri"), "%q is not an http or https URL with a host; give the JWKS's https:// URL", ks.URI)
	}
	if h := ks.MaxCacheDurationInHours; h != nil && (*h < 1 || *h > 24) {
		c.addf(at(p, "maxCacheDurationInHours"), "%d is out of range; give 1 to 24 hours", *h)
	}
	if ks.Keys != nil {
		c.addf(at(p, "keys"), "only for STATIC_KEYS; remove it")
	}
}

// staticKey checks one key's members by format. Whether the key material is
// a usable key is the keys package's job.
func (c *checker) staticKey(p string, k *StaticKey) {
	if k.Kid == "" {
		c.addf(at(p, "kid"), "missing; give the key id that tokens carry in their kid header")
	}
	switch k.Format {
	case KeyFormatJWK:
		c.jwk(p, k)
		if k.Key != "" {
			c.addf(at(p, "key"), "only for format PEM; remove it")
		}
	case KeyFormatPEM:
		if k.Key == "" {
			c.addf(at(p, "key"), "missing; paste the -----BEGIN PUBLIC KEY----- block")
		} else if !strings.HasPrefix(strings.TrimSpace(k.Key), "-----BEGIN") {
			c.addf(at(p, "key"), "not PEM; paste the -----BEGIN PUBLIC KEY----- block")
		}
		for _, m := range jwkMembers(k) {
			c.addf(at(p, m), "only for format JSON_WEB_KEY; remove it")
		}
	case "":
		c.addf(at(p, "format"), "missing; use JSON_WEB_KEY or PEM")
	default:
		c.addf(at(p, "format"), "unknown format %q; use JSON_WEB_KEY or PEM", k.Format)
	}
}

// jwk checks a JSON Web Key's members for its kty.
func (c *checker) jwk(p string, k *StaticKey) {
	var need, forbid []string
	switch k.Kty {
	case "RSA":
		need, forbid = []string{"n", "e"}, []string{"crv", "x", "y"}
	case "EC":
		need, forbid = []string{"crv", "x", "y"}, []string{"n", "e"}
	case "OKP":
		need, forbid = []string{"crv", "x"}, []string{"n", "e", "y"}
	case "":
		c.addf(at(p, "kty"), "missing; use RSA, EC or OKP")
	default:
		c.addf(at(p, "kty"), "unsupported key type %q; use RSA, EC or OKP", k.Kty)
	}
	members := map[string]string{"n": k.N, "e": k.E, "crv": k.Crv, "x": k.X, "y": k.Y}
	for _, m := range need {
		if members[m] == "" {
			c.addf(at(p, m), "missing; %s keys need %s", k.Kty, strings.Join(need, ", "))
		}
	}
	for _, m := range forbid {
		if members[m] != "" {
			c.addf(at(p, m), "not a member of %s keys; remove it", k.Kty)
		}
	}
	if k.Use != "" && k.Use != "sig" {
		c.addf(at(p, "use"), "%q cannot verify signatures; use \"sig\" or leave it out", k.Use)
	}
	if k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify") {
		c.addf(at(p, "key_ops"), "does not contain \"verify\"; add it or leave key_ops out")
	}
}

// jwkMembers lists the JSON Web Key members set on k, in JWK order.
func jwkMembers(k *StaticKey) []string {
	var set []string
	for _, m := range []struct {
		name string
		on   bool
	}{
		{"kty", k.Kty != ""}, {"alg", k.Alg != ""}, {"n", k.N != ""}, {"e", k.E != ""},
		{"use", k.Use != ""}, {"key_ops", k.KeyOps != nil}, {"crv", k.Crv != ""},
		{"x", k.X != ""}, {"y", k.Y != ""},
	} {
		if m.on {
			set = append(set, m.name)
		}
	}
	return set
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
