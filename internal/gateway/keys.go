package gateway

import (
	"strconv"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keys"
)

// staticKeySet parses a STATIC_KEYS set. Every key that fails is a problem
// located at its index, so an operator sees all bad keys at once.
func staticKeySet(ks *config.KeySet, src config.Source, at string) (*keys.StaticSet, error) {
	var problems config.Problems
	list := make([]*keys.Key, 0, len(ks.Keys))
	for i, k := range ks.Keys {
		key, err := keyFromConfig(k)
		if err != nil {
			p := src.Problem(at+".keys["+strconv.Itoa(i)+"]", err.Error())
			p.Kid = k.Kid // named beside the path: a spec's keys are known by kid
			problems = append(problems, p)
			continue
		}
		list = append(list, key)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	set, err := keys.NewStaticSet(list...)
	if err != nil {
		return nil, config.Problems{src.Problem(at+".keys", err.Error())}
	}
	return set, nil
}

// keyFromConfig turns one static key of the spec into a verification key.
// A PEM key's algorithm is the default of its type (RSA: RS256), as OCI's
// PEM keys carry no alg.
func keyFromConfig(k config.StaticKey) (*keys.Key, error) {
	if k.Format == config.KeyFormatPEM {
		pub, err := keys.ParsePublicPEM([]byte(k.Key))
		if err != nil {
			return nil, err
		}
		return keys.NewKey(k.Kid, "", pub)
	}
	return keys.FromJWK(keys.JWK{
		Kty: k.Kty, Kid: k.Kid, Alg: k.Alg, Use: k.Use, KeyOps: k.KeyOps,
		N: k.N, E: k.E, Crv: k.Crv, X: k.X, Y: k.Y,
	})
}
