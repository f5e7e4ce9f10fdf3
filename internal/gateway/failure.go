package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// failureResponse is a compiled validationFailurePolicy of type
// MODIFY_RESPONSE: what a request with a missing or invalid credential gets
// instead of the 401 (oci-policies.md §5 and the README's decisions).
type failureResponse struct {
	// status is the status to send; 0 when statusFrom computes it.
	status     int
	statusFrom config.Template
	// message is the body, as text; nil keeps the JSON error body.
	message config.Template
	// headers transform the response's headers, starting from the
	// refusal's own (WWW-Authenticate included); nil for none.
	headers *transform
	log     *slog.Logger
}

// compileFailure compiles fp.
func compileFailure(fp *config.ValidationFailurePolicy, log *slog.Logger, at string) *failureResponse {
	f := &failureResponse{status: http.StatusUnauthorized, log: log}
	switch code := string(fp.ResponseCode); {
	case code == "":
	case strings.HasPrefix(code, "request."):
		if v, ok := config.ParseBareVariable(code); ok {
			f.status, f.statusFrom = 0, config.Template{{Var: &v}}
		}
	case strings.Contains(code, "${"):
		if t, err := config.ParseTemplate(code); err == nil {
			f.status, f.statusFrom = 0, t
		}
	default:
		f.status = fp.ResponseCode.Int()
	}
	if fp.ResponseMessage != "" {
		if t, err := config.ParseTemplate(fp.ResponseMessage); err == nil {
			f.message = t
		}
	}
	if ht := fp.ResponseHeaderTransformations; ht != nil {
		f.headers = compileTransform(ht.SetHeaders, ht.RenameHeaders, ht.FilterHeaders, false, true, log, at+".responseHeaderTransformations")
	}
	return f
}

// apply turns e, the refusal of a missing or invalid credential, into the
// policy's response for r.
func (f *failureResponse) apply(r *http.Request, ex *exchange, e *httpError) {
	e.status = f.status
	if f.status == 0 {
		value := evalTemplate(f.statusFrom, r, ex)
		n, err := strconv.Atoi(value)
		if err != nil || n < 100 || n > 599 {
			n = http.StatusUnauthorized
			e.attrs = append(e.attrs, slog.String("invalidResponseCode", bounded(value)))
		}
		e.status = n
	}
	if e.status != http.StatusUnauthorized {
		e.header.Del("WWW-Authenticate") // a challenge belongs to a 401 (RFC 9110 §11.6.1)
	}
	if f.message != nil {
		e.body = evalTemplate(f.message, r, ex)
	}
	if f.headers != nil {
		values := f.headers.setValues(r, ex)
		e.transform = func(h http.Header) { f.headers.applyHeaders(h, values, true) }
	}
}
