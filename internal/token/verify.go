// Package token verifies and signs JWTs as an OCI API Gateway deployment
// does: compact JWS only, the key chosen by kid from the deployment's keys,
// the algorithm taken from the key and never from the token, then exp,
// nbf, iat, iss, aud and verifyClaims. It also parses the scope claim and
// renders claims for context variables. It never logs and does no I/O of
// its own: every rejection is an error carrying a stable reason code
// (see Reason).
//
// golang-jwt/jwt/v5 does the cryptography (its SigningMethod Verify and
// Sign). Its Parser (WithValidMethods, WithExpirationRequired, WithLeeway,
// MapClaims) is not used, by decision: it stops at the first failure,
// where `keygate token verify` lists every failing check (Check); its JSON
// decoding accepts duplicate members ("alg":"RS256","alg":"none" reads as
// none, attack T11), which this package must refuse before anything is
// read; its keyfunc would receive the token's alg where keygate pins the
// algorithm to the key; and its errors carry no stable reason code for the
// execution log. The rules it would apply (exp required, nbf, leeway,
// iss, aud as string or array) are in rules.go with the same semantics.
package token

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keygate/keygate/internal/keys"
)

// ClaimRule is one entry of OCI's verifyClaims: {key, values, isRequired}.
type ClaimRule struct {
	// Name is the claim's name, compared case-sensitively.
	Name string
	// Values, when not empty, lists the string forms (see Claims.Value) the
	// claim may have; for an array claim, one element must match. Empty
	// means any value.
	Values []string
	// Required rejects a token without the claim (or with null). Default
	// false: an absent claim passes.
	Required bool
}

// Policy is what a deployment asks of a token beyond its signature.
type Policy struct {
	// Issuers lists the accepted "iss" values, compared exactly. Empty
	// means iss is not checked (TOKEN_AUTHENTICATION without an
	// additionalValidationPolicy).
	Issuers []string
	// Audiences lists the accepted "aud" values, compared exactly; one
	// match in an aud array is enough. Empty means aud is not checked.
	Audiences []string
	// MaxClockSkew is the leeway for exp and nbf. Default 0; a
	// negative value counts as 0.
	MaxClockSkew time.Duration
	// VerifyClaims are further claim rules, checked in order.
	VerifyClaims []ClaimRule
}

// Token is a decoded token. Verify and Check return one even for a token
// they reject, as soon as its header could be decoded, so the caller can
// log kid, iss and sub: in that case these values are UNVERIFIED, chosen by
// whoever sent the token, and must be used for nothing but the log.
type Token struct {
	// Header holds the reported members of the JOSE header.
	Header Header
	// Claims is the payload; nil when the payload could not be decoded.
	Claims Claims
	// Scopes is Claims.Scopes(), parsed once: a cached token is authorized
	// on every request without parsing its scope again.
	Scopes []string
}

// Verifier checks tokens against one deployment's keys and policy. It is
// immutable, so one Verifier may serve any number of goroutines.
type Verifier struct {
	keys   keys.Resolver
	policy Policy
	skew   time.Duration
	now    func() time.Time
	// cache, when set, remembers accepted tokens (see UseCache).
	cache   *Cache
	cacheID uint64
}

// NewVerifier returns a Verifier that finds keys with resolver and applies
// policy. now is the clock; nil means time.Now. The policy's slices are
// copied, so later changes to them have no effect.
func NewVerifier(resolver keys.Resolver, policy Policy, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	p := Policy{
		Issuers:      slices.Clone(policy.Issuers),
		Audiences:    slices.Clone(policy.Audiences),
		MaxClockSkew: max(policy.MaxClockSkew, 0),
	}
	for _, r := range policy.VerifyClaims {
		r.Values = slices.Clone(r.Values)
		p.VerifyClaims = append(p.VerifyClaims, r)
	}
	return &Verifier{keys: resolver, policy: p, skew: p.MaxClockSkew, now: now}
}

// Verify checks raw and returns the token, or the first failed check as an
// error that wraps one of the Err sentinels. On error the returned token
// is nil when even the header could not be decoded, and otherwise holds
// UNVERIFIED values for logging only (see Token).
func (v *Verifier) Verify(raw string) (*Token, error) {
	if v.cache != nil {
		return v.verifyCached(raw)
	}
	tok, errs := v.run(raw, false)
	if len(errs) > 0 {
		return tok, errs[0]
	}
	return tok, nil
}

// Check checks raw like Verify but reports every failed check, for the
// offline explainer. A structural failure (size, segments, base64, JSON)
// ends it; past that it reports key, algorithm and signature problems and
// all claim problems together. The token is nil or unverified as for
// Verify whenever the returned slice is not empty.
func (v *Verifier) Check(raw string) (*Token, []error) {
	return v.run(raw, true)
}

// collector gathers failed checks. In Verify's mode it asks to stop at the
// first; in Check's mode it asks to go on.
type collector struct {
	all  bool
	errs []error
}

// add records err, if any, and reports whether checking should go on.
func (c *collector) add(err error) bool {
	if err == nil {
		return true
	}
	c.errs = append(c.errs, err)
	return c.all
}

// run is Verify when all is false and Check when all is true. The order of
// the checks is the order the errors are reported in.
func (v *Verifier) run(raw string, all bool) (*Token, []error) {
	parts, err := split(raw)
	if err != nil {
		return nil, []error{err}
	}
	header, err := decodeHeader(parts.header)
	if err != nil {
		return nil, []error{err}
	}
	tok := &Token{Header: headerOf(header)}
	if tok.Claims, err = decodeClaims(parts.payload); err != nil {
		return tok, []error{err}
	}
	tok.Scopes = tok.Claims.Scopes()
	c := collector{all: all}
	if v.checkSignature(&parts, header, tok.Header, &c) {
		v.checkClaims(tok.Claims, &c)
	}
	return tok, c.errs
}

// checkSignature applies the header rules, finds the key and verifies the
// signature. It reports whether checking should go on.
func (v *Verifier) checkSignature(parts *compact, header map[string]any, h Header, c *collector) bool {
	algErr, kidErr, forbiddenErr := checkHeader(header)
	if !c.add(algErr) || !c.add(kidErr) || !c.add(forbiddenErr) {
		return false
	}
	if kidErr != nil {
		return true // Check only: without a kid there is no key to try
	}
	key, err := v.lookup(h.KeyID)
	if err != nil {
		return c.add(err)
	}
	if algErr != nil {
		return true // Check only: no alg to compare with the key's
	}
	method, err := methodFor(h.Algorithm, key)
	if err != nil {
		if c.add(err) {
			c.add(signatureUnderTokenAlg(parts, h.Algorithm, key))
		}
		return c.all
	}
	if err := method.Verify(parts.signingInput, parts.signature, key.Public); err != nil {
		return c.add(newError(ErrBadSignature,
			fmt.Sprintf("signature does not verify with key %s (%s)", quote(key.ID), key.Algorithm)))
	}
	return true
}

// signatureUnderTokenAlg is for Check only, after the token's alg was
// refused for key: would the signature verify under the token's own alg?
// If not, that failure is listed too, so fixing the alg does not reveal a
// second problem. It never accepts anything (Verify stops at the alg).
func signatureUnderTokenAlg(parts *compact, alg string, key *keys.Key) error {
	method := signingMethod(alg)
	if method == nil || !keyFits(alg, key.Public) {
		return nil // an alg keygate never verifies, or one this key cannot
	}
	if method.Verify(parts.signingInput, parts.signature, key.Public) != nil {
		return newError(ErrBadSignature, fmt.Sprintf(
			"signature does not verify with key %s under the token's alg %s either", quote(key.ID), quote(alg)))
	}
	return nil
}

// lookup asks the resolver for kid's key and maps its failures onto our
// sentinels, keeping the resolver's error in the chain.
func (v *Verifier) lookup(kid string) (*keys.Key, error) {
	if v.keys == nil {
		return nil, newError(ErrKeysUnavailable, "no key set is configured")
	}
	key, err := v.keys.Key(kid)
	switch {
	case err == nil && key != nil && key.Public != nil:
		return key, nil
	case errors.Is(err, keys.ErrUnknownKID):
		return nil, newError(ErrUnknownKID,
			fmt.Sprintf("no key with kid %s in the deployment's keys", quote(kid)), err)
	case err == nil:
		return nil, newError(ErrKeysUnavailable,
			fmt.Sprintf("the key set returned no public key for kid %s", quote(kid)))
	}
	// Any other failure means the key could not be consulted, not that
	// the token is bad: report it as unavailable, never as valid.
	return nil, newError(ErrKeysUnavailable,
		fmt.Sprintf("keys could not be consulted for kid %s: %v", quote(kid), err), err)
}

// VerifyClaims applies the policy's claim rules (exp, nbf, iat, iss, aud,
// verifyClaims) to claims that did not come from a signed token, such as
// an introspection answer, and returns the first failure, an error that
// wraps one of the Err sentinels.
func (v *Verifier) VerifyClaims(cl Claims) error {
	c := collector{}
	v.checkClaims(cl, &c)
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	return nil
}

// CheckClaims is VerifyClaims reporting every failure, for the offline
// explainer.
func (v *Verifier) CheckClaims(cl Claims) []error {
	c := collector{all: true}
	v.checkClaims(cl, &c)
	return c.errs
}
