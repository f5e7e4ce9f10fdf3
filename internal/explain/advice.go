package explain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// policyView is what a failing token check was compared with, and whether
// the fix on the verifying side is an edit of the deployment or a flag of
// the standalone form.
type policyView struct {
	// where names the lists in messages: "the deployment's" or "the given".
	where              string
	issuers, audiences []string
	keys               []keyRef
	standalone, pem    bool
}

// keyRef is what advice needs of a verification key.
type keyRef struct {
	// kid, alg and kty are the key's id, its one algorithm and its JWK kty.
	kid, alg, kty string
}

func keyRefs(ks []*keys.Key) []keyRef {
	out := make([]keyRef, len(ks))
	for i, k := range ks {
		out[i] = keyRef{kid: k.ID, alg: k.Algorithm, kty: k.Type()}
	}
	return out
}

// checkAdvice is one failing check in words, with its fix. Each token
// sentinel has its own advice; the token's values are UNVERIFIED and only
// quoted.
func checkAdvice(err error, tok *token.Token, p policyView) string {
	var claims token.Claims
	var header token.Header
	if tok != nil {
		claims, header = tok.Claims, tok.Header
	}
	switch {
	case errors.Is(err, token.ErrIssuer):
		return p.issuerAdvice(err, claims)
	case errors.Is(err, token.ErrAudience):
		return p.audienceAdvice(err, claims)
	case errors.Is(err, token.ErrUnknownKID):
		return p.unknownKIDAdvice(header.KeyID)
	case errors.Is(err, token.ErrMissingKID):
		return fmt.Sprintf("%v: sign with --kid NAME, NAME being %s", err, p.kidChoice())
	case errors.Is(err, token.ErrAlgorithm):
		return p.algorithmAdvice(err, header)
	case errors.Is(err, token.ErrBadSignature):
		return fmt.Sprintf("%v: the token was signed by another private key than the one whose public key %s keys hold under kid %s; "+
			"sign with the matching private key, or %s", err, p.where, quoteValue(header.KeyID), p.replaceKey(header.KeyID))
	case errors.Is(err, token.ErrExpired):
		return fmt.Sprintf("%v: sign a new token (keygate token sign --ttl sets how long it lives), or, if the clocks disagree, %s", err, p.skewFix())
	case errors.Is(err, token.ErrMissingExp):
		return fmt.Sprintf("%v: sign with an exp (keygate token sign sets exp = iat + --ttl)", err)
	case errors.Is(err, token.ErrNotYetValid):
		return fmt.Sprintf("%v: wait until then, sign without --nbf, or fix the signer's clock (or %s)", err, p.skewFix())
	case errors.Is(err, token.ErrInvalidIat):
		return fmt.Sprintf("%v: sign with iat as seconds since the epoch (keygate token sign sets it), or without iat", err)
	case errors.Is(err, token.ErrClaimMissing):
		return fmt.Sprintf("%v: sign with --claim NAME=VALUE, or set isRequired false in the deployment's verifyClaims", err)
	case errors.Is(err, token.ErrClaimValue):
		return fmt.Sprintf("%v: sign with one of those values (--claim NAME=VALUE), or add the token's value to the rule's values in verifyClaims", err)
	case errors.Is(err, token.ErrForbiddenHeader):
		return fmt.Sprintf("%v: sign without that header member (keygate token sign never writes it); keys come from the gateway's configuration only", err)
	case errors.Is(err, token.ErrMalformed):
		return fmt.Sprintf("%v: give the compact token exactly as issued, three base64url parts joined by dots (keygate token sign makes one)", err)
	case errors.Is(err, token.ErrTooLarge):
		return fmt.Sprintf("%v: carry fewer or shorter claims", err)
	case errors.Is(err, token.ErrKeysUnavailable):
		return fmt.Sprintf("%v: the keys could not be consulted; check the deployment's publicKeys (keygate validate)", err)
	}
	return err.Error()
}

func (p policyView) issuerAdvice(err error, claims token.Claims) string {
	if len(p.issuers) == 0 {
		return err.Error()
	}
	fix := "sign with --iss " + shellWord(p.issuers[0])
	iss, ok := claims["iss"].(string)
	if !ok {
		return fmt.Sprintf("%v: %s", err, fix)
	}
	add := fmt.Sprintf("add %s to issuers", quoteValue(iss))
	if p.standalone {
		add = "verify with --iss " + shellWord(iss)
	}
	return fmt.Sprintf("iss %s is not one of %s issuers %s: %s, or %s", quoteValue(iss), p.where, quoteList(p.issuers), fix, add)
}

func (p policyView) audienceAdvice(err error, claims token.Claims) string {
	if len(p.audiences) == 0 {
		return err.Error()
	}
	fix := "sign with --aud " + shellWord(p.audiences[0])
	var auds []string
	switch aud := claims["aud"].(type) {
	case string:
		auds = []string{aud}
	case []any:
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return fmt.Sprintf("%v: %s (keygate token sign writes aud as an array of strings)", err, fix)
			}
			auds = append(auds, s)
		}
	}
	if len(auds) == 0 {
		return fmt.Sprintf("%v: %s", err, fix)
	}
	add := fmt.Sprintf("add %s to audiences", quoteValue(auds[0]))
	if p.standalone {
		add = "verify with --aud " + shellWord(auds[0])
	}
	return fmt.Sprintf("aud %s holds none of %s audiences %s: %s, or %s", quoteList(auds), p.where, quoteList(p.audiences), fix, add)
}

func (p policyView) unknownKIDAdvice(kid string) string {
	fix := "sign with --kid NAME, NAME being " + p.kidChoice()
	if len(p.keys) == 1 {
		fix = "sign with --kid " + shellWord(p.keys[0].kid)
	}
	var add string
	switch {
	case p.pem:
		add = "verify with --kid " + shellWord(kid)
	case p.standalone:
		add = "give the JWK the kid " + quoteValue(kid)
	default:
		add = fmt.Sprintf("add the client's public key under kid %s to the deployment's keys (keygate jwk --oci --kid %s public_key.crt)",
			quoteValue(kid), shellWord(kid))
	}
	return fmt.Sprintf("kid %s is not one of %s keys %s: %s, or %s", quoteValue(kid), p.where, quoteList(p.kids()), fix, add)
}

func (p policyView) algorithmAdvice(err error, h token.Header) string {
	var key *keyRef
	for i := range p.keys {
		if p.keys[i].kid == h.KeyID {
			key = &p.keys[i]
		}
	}
	if key == nil {
		return err.Error()
	}
	upper := strings.ToUpper(h.Algorithm)
	switch {
	case upper == "NONE" || strings.HasPrefix(upper, "HS"):
		return fmt.Sprintf("%v: alg %s is never accepted (an unsigned token, or a shared secret); sign with the client's private key and --alg %s",
			err, quoteValue(h.Algorithm), key.alg)
	case key.kty != "RSA" || (!strings.HasPrefix(h.Algorithm, "RS") && !strings.HasPrefix(h.Algorithm, "PS")):
		// The key cannot verify that algorithm at all: the token was
		// signed with a key of another type.
		return fmt.Sprintf("%v: key %s is an %s key; sign with its private key (--alg %s is then the default)",
			err, quoteValue(key.kid), key.kty, key.alg)
	}
	bind := "set the key's alg to " + quoteValue(h.Algorithm) + " in its JWK"
	if p.pem {
		bind = "verify with --alg " + shellWord(h.Algorithm)
	}
	return fmt.Sprintf("%v: sign with --alg %s, or %s", err, key.alg, bind)
}

func (p policyView) replaceKey(kid string) string {
	switch {
	case p.standalone:
		return "verify with the public key of the key you sign with (keygate jwk private_key.key shows it)"
	}
	return fmt.Sprintf("put the public key of the key you sign with under kid %s (keygate jwk --oci --kid %s private_key.key prints it)",
		quoteValue(kid), shellWord(kid))
}

func (p policyView) skewFix() string {
	if p.standalone {
		return "allow some --max-clock-skew"
	}
	return "raise the deployment's maxClockSkewInSeconds (at most 120)"
}

func (p policyView) kids() []string {
	out := make([]string, len(p.keys))
	for i, k := range p.keys {
		out[i] = k.kid
	}
	return out
}

// kidChoice names the kids a token may carry.
func (p policyView) kidChoice() string {
	return "one of " + p.where + " kids " + quoteList(p.kids())
}
