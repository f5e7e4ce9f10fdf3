package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// maxNumericDate bounds NumericDates (about 31 million years either way) so
// that converting one to time.Time and adding the skew cannot overflow.
const maxNumericDate = 1e15

// checkClaims applies the claim rules in order: exp, nbf, iat, iss, aud,
// then verifyClaims. The && chain stops at the first failure in Verify's
// mode and runs every rule in Check's.
func (v *Verifier) checkClaims(cl Claims, c *collector) {
	now := v.now()
	_ = c.add(v.checkExp(cl, now)) &&
		c.add(v.checkNbf(cl, now)) &&
		c.add(v.checkIat(cl, now)) &&
		c.add(v.checkIssuer(cl)) &&
		c.add(v.checkAudience(cl)) &&
		v.checkRules(cl, c)
}

// numericDate converts a NumericDate claim (RFC 7519 §2), fractions
// allowed. ok is false unless v is a JSON number.
func numericDate(v any) (t time.Time, ok bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return time.Time{}, false
	}
	// Out of range parses as ±Inf; the clamp makes it a far date.
	f = min(max(f, -maxNumericDate), maxNumericDate)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))), true
}

// kindOf names a claim value's JSON type for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return "an object"
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// checkExp requires exp and accepts the token only while now < exp + skew,
// so a token whose exp is exactly now is expired.
func (v *Verifier) checkExp(cl Claims, now time.Time) error {
	raw, present := cl["exp"]
	exp, ok := numericDate(raw)
	switch {
	case !present:
		return newError(ErrMissingExp, `token has no "exp" claim; keygate requires an expiry`)
	case !ok:
		return newError(ErrMissingExp, fmt.Sprintf(`"exp" is %s, not a NumericDate (seconds since the epoch)`, kindOf(raw)))
	case now.Before(exp.Add(v.skew)):
		return nil
	}
	return newError(ErrExpired, fmt.Sprintf("token expired at %s (%s ago, clock skew allowed %s)",
		formatTime(exp), now.Sub(exp).Round(time.Second), v.skew))
}

// checkNbf accepts a token without nbf, or once now + skew >= nbf.
func (v *Verifier) checkNbf(cl Claims, now time.Time) error {
	raw, present := cl["nbf"]
	if !present {
		return nil
	}
	nbf, ok := numericDate(raw)
	switch {
	case !ok:
		return newError(ErrNotYetValid, fmt.Sprintf(`"nbf" is %s, not a NumericDate (seconds since the epoch)`, kindOf(raw)))
	case !now.Add(v.skew).Before(nbf):
		return nil
	}
	return newError(ErrNotYetValid, fmt.Sprintf("token is not valid before %s (in %s, clock skew allowed %s)",
		formatTime(nbf), nbf.Sub(now).Round(time.Second), v.skew))
}

// checkIat accepts a token without iat, or with any numeric iat: OCI checks
// the time claims exp and nbf against its clock and skew, not iat, so a
// token whose iat is ahead of the gateway's clock is accepted, as OCI does
// (attacks.md T8). An iat that is not a number is refused.
func (v *Verifier) checkIat(cl Claims, _ time.Time) error {
	raw, present := cl["iat"]
	if !present {
		return nil
	}
	if _, ok := numericDate(raw); !ok {
		return newError(ErrInvalidIat, fmt.Sprintf(`"iat" is %s, not a NumericDate (seconds since the epoch)`, kindOf(raw)))
	}
	return nil
}

// checkIssuer requires iss to be exactly one of the configured issuers.
func (v *Verifier) checkIssuer(cl Claims) error {
	issuers := v.policy.Issuers
	if len(issuers) == 0 {
		return nil
	}
	raw, present := cl["iss"]
	iss, ok := raw.(string)
	switch {
	case ok && slices.Contains(issuers, iss):
		return nil
	case !present:
		return newError(ErrIssuer, fmt.Sprintf(`token has no "iss" claim; the configured issuers are %s`, quoteList(issuers)))
	case !ok:
		return newError(ErrIssuer, fmt.Sprintf(`"iss" is %s, not a string; the configured issuers are %s`, kindOf(raw), quoteList(issuers)))
	}
	return newError(ErrIssuer, fmt.Sprintf("iss %s is not one of the configured issuers %s", quote(iss), quoteList(issuers)))
}

// checkAudience requires aud, a string or an array of strings, to hold one
// of the configured audiences.
func (v *Verifier) checkAudience(cl Claims) error {
	audiences := v.policy.Audiences
	if len(audiences) == 0 {
		return nil
	}
	raw, present := cl["aud"]
	switch aud := raw.(type) {
	case string:
		if slices.Contains(audiences, aud) {
			return nil
		}
		return newError(ErrAudience, fmt.Sprintf("aud %s is not one of the configured audiences %s", quote(aud), quoteList(audiences)))
	case []any:
		return audienceArray(aud, audiences)
	}
	if !present {
		return newError(ErrAudience, fmt.Sprintf(`token has no "aud" claim; the configured audiences are %s`, quoteList(audiences)))
	}
	return newError(ErrAudience, fmt.Sprintf(`"aud" is %s, not a string or an array of strings`, kindOf(raw)))
}

// audienceArray checks an aud array: strings only, one of them configured.
func audienceArray(aud []any, audiences []string) error {
	found := false
	for _, e := range aud {
		s, ok := e.(string)
		if !ok {
			return newError(ErrAudience, fmt.Sprintf(`"aud" holds %s; it must hold strings only`, kindOf(e)))
		}
		found = found || slices.Contains(audiences, s)
	}
	if found {
		return nil
	}
	if len(aud) == 0 {
		return newError(ErrAudience, fmt.Sprintf(`"aud" is an empty array; the configured audiences are %s`, quoteList(audiences)))
	}
	return newError(ErrAudience, fmt.Sprintf("aud holds none of the configured audiences %s", quoteList(audiences)))
}

// checkRules applies verifyClaims in order and reports whether checking
// should go on.
func (v *Verifier) checkRules(cl Claims, c *collector) bool {
	for _, r := range v.policy.VerifyClaims {
		if !c.add(checkRule(cl, r)) {
			return false
		}
	}
	return true
}

// checkRule applies one verifyClaims rule. Values compare with the claim's
// string form, exactly; for an array claim any non-null element may match.
func checkRule(cl Claims, r ClaimRule) error {
	raw := cl[r.Name]
	if raw == nil {
		if r.Required {
			return newError(ErrClaimMissing, fmt.Sprintf("token has no %s claim, which the deployment requires", quote(r.Name)))
		}
		return nil
	}
	if len(r.Values) == 0 {
		return nil
	}
	if arr, ok := raw.([]any); ok {
		for _, e := range arr {
			if e != nil && slices.Contains(r.Values, stringForm(e)) {
				return nil
			}
		}
		return newError(ErrClaimValue, fmt.Sprintf("claim %s holds none of the configured values %s", quote(r.Name), quoteList(r.Values)))
	}
	if slices.Contains(r.Values, stringForm(raw)) {
		return nil
	}
	return newError(ErrClaimValue, fmt.Sprintf("claim %s is %s, not one of the configured values %s",
		quote(r.Name), quote(stringForm(raw)), quoteList(r.Values)))
}
