package token

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenError is the one error type of this package. It carries a stable
// reason code for the execution log, a message for people, and the errors
// it wraps, so that errors.Is matches both our sentinels and the keys
// package's. The message never holds a token or a signature, and values
// quoted from a token are cut short (see quote).
type tokenError struct {
	reason  string
	msg     string
	wrapped []error
}

func (e *tokenError) Error() string   { return e.msg }
func (e *tokenError) Unwrap() []error { return e.wrapped }

// Sentinel errors of a rejected token. Compare with errors.Is; Reason gives
// the stable code each one carries. The errors Verify and Check return wrap
// one of these and explain the detail.
var (
	// ErrTooLarge means the token is longer than 16 KiB.
	ErrTooLarge error = &tokenError{reason: "token_too_large", msg: "token too large"}
	// ErrMalformed means the token is not a compact JWS with JSON object
	// header and payload (segments, base64url, UTF-8, JSON, duplicate
	// members, nesting, a missing or non-string alg).
	ErrMalformed error = &tokenError{reason: "malformed_token", msg: "malformed token"}
	// ErrMissingKID means the header has no kid, or not a non-empty string.
	ErrMissingKID error = &tokenError{reason: "missing_kid", msg: "token has no kid"}
	// ErrUnknownKID means no key has the token's kid. When the resolver said
	// so, the error also matches keys.ErrUnknownKID.
	ErrUnknownKID error = &tokenError{reason: "unknown_kid", msg: "unknown kid"}
	// ErrKeysUnavailable means the keys could not be consulted, so the token
	// could not be checked. When the resolver said so, the error also
	// matches keys.ErrKeysUnavailable.
	ErrKeysUnavailable error = &tokenError{reason: "keys_unavailable", msg: "keys unavailable"}
	// ErrAlgorithm means the header's alg is not the key's algorithm, or
	// the key cannot be used with its algorithm.
	ErrAlgorithm error = &tokenError{reason: "alg_not_allowed", msg: "algorithm not allowed"}
	// ErrForbiddenHeader means the header carries crit, jwk, jku, x5u or x5c.
	ErrForbiddenHeader error = &tokenError{reason: "forbidden_header", msg: "forbidden header member"}
	// ErrBadSignature means the signature does not verify with the key.
	ErrBadSignature error = &tokenError{reason: "bad_signature", msg: "bad signature"}
	// ErrMissingExp means the token has no exp, or one that is not a number.
	ErrMissingExp error = &tokenError{reason: "missing_exp", msg: "token has no exp"}
	// ErrExpired means exp has passed, clock skew included.
	ErrExpired error = &tokenError{reason: "token_expired", msg: "token expired"}
	// ErrNotYetValid means nbf is in the future beyond the clock skew, or
	// is not a number.
	ErrNotYetValid error = &tokenError{reason: "token_not_yet_valid", msg: "token not yet valid"}
	// ErrInvalidIat means iat is not a number. An iat in the future is
	// accepted: OCI applies the clock skew to exp and nbf only.
	ErrInvalidIat error = &tokenError{reason: "invalid_iat", msg: "iat is not a NumericDate"}
	// ErrIssuer means iss is not one of the configured issuers.
	ErrIssuer error = &tokenError{reason: "wrong_issuer", msg: "wrong issuer"}
	// ErrAudience means aud holds none of the configured audiences.
	ErrAudience error = &tokenError{reason: "wrong_audience", msg: "wrong audience"}
	// ErrClaimMissing means a claim that verifyClaims requires is absent.
	ErrClaimMissing error = &tokenError{reason: "missing_claim", msg: "missing claim"}
	// ErrClaimValue means a claim's value is not one verifyClaims allows.
	ErrClaimValue error = &tokenError{reason: "claim_value_mismatch", msg: "claim value mismatch"}
)

// Reason returns the stable reason code of err for logs and metrics, such
// as "unknown_kid" or "token_expired", or "invalid_token" when err did not
// come from this package.
func Reason(err error) string {
	var te *tokenError
	if errors.As(err, &te) {
		return te.reason
	}
	return "invalid_token"
}

// newError returns an error with message msg that wraps sentinel and causes.
func newError(sentinel error, msg string, causes ...error) error {
	s := sentinel.(*tokenError)
	wrapped := make([]error, 0, 1+len(causes))
	wrapped = append(wrapped, sentinel)
	wrapped = append(wrapped, causes...)
	return &tokenError{reason: s.reason, msg: msg, wrapped: wrapped}
}

// maxQuoted is how many bytes of a token-supplied value a message shows, so
// that a 10 kB kid still makes a one-line message.
const maxQuoted = 64

// quote returns s as a Go string literal, cut to maxQuoted bytes at a rune
// boundary and marked with "..." when cut. Control characters come out
// escaped, so a value cannot forge a log line.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// quoteList returns values as a bracketed list of quoted strings.
func quoteList(values []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(v))
	}
	b.WriteByte(']')
	return b.String()
}
