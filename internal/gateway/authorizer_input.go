package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// authorizerInput is what the function is asked about one request: the
// single-argument form's token, or the multi-argument form's values (one
// list per argument, nil when absent). It becomes JSON only when the
// function is called, not on a cache hit.
type authorizerInput struct {
	token string
	args  []authorizerArg // nil: the single-argument form
	// values[i] are args[i]'s values (held in place: no allocation on a
	// cache hit; validation allows at most maxAuthorizerArgs arguments).
	values [maxAuthorizerArgs][]string
}

// maxAuthorizerArgs is OCI's limit on an authorizer's parameters.
const maxAuthorizerArgs = 10

// json is the function's input: {"type":"TOKEN","token":...} or
// {"type":"USER_DEFINED","data":{...}}, an absent argument omitted, a
// repeated header or query parameter as an array.
func (in authorizerInput) json() []byte {
	if in.args == nil {
		body, _ := json.Marshal(struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		}{"TOKEN", in.token})
		return body
	}
	data := make(map[string]any, len(in.args))
	for i, arg := range in.args {
		switch values := in.values[i]; len(values) {
		case 0:
		case 1:
			data[arg.name] = values[0]
		default:
			data[arg.name] = values
		}
	}
	body, _ := json.Marshal(struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}{"USER_DEFINED", data})
	return body
}

// input reads what the function is asked and the request's cache key: the
// single-argument form's token (errNoCredential without one: the function
// is not called), or the multi-argument form's arguments.
func (a *customAuthenticator) input(r *http.Request, ex *exchange) (authorizerInput, cacheKey, error) {
	if a.args == nil {
		tok, folded, err := a.token(r)
		ex.credentialFolded = folded
		if err != nil {
			if err == errNoCredential {
				return authorizerInput{}, cacheKey{}, err
			}
			return authorizerInput{}, cacheKey{}, a.credentialError(r, ex, err)
		}
		return authorizerInput{token: tok}, a.cache.key("T", tok), nil
	}
	in := authorizerInput{args: a.args}
	var parts [3 * maxAuthorizerArgs]string
	keyParts := parts[:0]
	for i, arg := range a.args {
		values, err := a.argument(r, ex, arg)
		if err != nil {
			return authorizerInput{}, cacheKey{}, err
		}
		in.values[i] = values
		if arg.inKey && len(values) > 0 {
			// Every part is length-prefixed by key: the name, how many
			// values, then each value, so that ?a=x%00y and ?a=x&a=y differ.
			keyParts = append(keyParts, arg.name, strconv.Itoa(len(values)))
			keyParts = append(keyParts, values...)
		}
	}
	return in, a.cache.key("U", keyParts...), nil
}

// argument reads one argument's values from the request; none when it is
// absent.
func (a *customAuthenticator) argument(r *http.Request, ex *exchange, arg authorizerArg) ([]string, error) {
	switch arg.v.Table {
	case config.VarHeaders:
		return foldedHeaderValues(r.Header, http.CanonicalHeaderKey(arg.v.Key)), nil
	case config.VarQuery:
		return r.URL.Query()[arg.v.Key], nil
	case config.VarHost:
		if host := requestHost(r); host != "" {
			return []string{host}, nil
		}
	case config.VarCert:
		if value, ok := ex.clientCertBase64(); ok {
			return []string{value}, nil
		}
	case config.VarBody:
		return a.body(r)
	}
	return nil, nil
}

// body reads the request body for a request.body argument, as text, and
// puts it back for the backend; a body over authorizerBodyLimit is
// refused with 413.
func (a *customAuthenticator) body(r *http.Request) ([]string, error) {
	if !hasRequestBody(r) {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, authorizerBodyLimit+1))
	if err != nil {
		return nil, &httpError{status: http.StatusBadRequest, code: "request.clientEof", reason: "client_body_error",
			detail: "reading the request body for the authorizer: " + err.Error(), cause: err, level: slog.LevelInfo}
	}
	if len(data) > authorizerBodyLimit {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "request.bodyTooLarge", reason: reasonBodyTooLarge,
			detail: "the request body exceeds the 1 MiB an authorizer's request.body argument reads", level: slog.LevelInfo}
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.TransferEncoding = nil
	if len(data) == 0 {
		r.Body = http.NoBody
		return nil, nil
	}
	return []string{string(data)}, nil
}

// token reads the single-argument form's token: the whole value of the
// header (scheme included: CUSTOM_AUTHENTICATION has no tokenAuthScheme)
// or query parameter. Several values are refused without calling the
// function: which one the function would see and which one a backend
// reads could differ. folded reports a spelling of the header with '_'
// for '-' (see tokenAuthenticator.credential).
func (a *customAuthenticator) token(r *http.Request) (string, bool, error) {
	var values []string
	folded := false
	if a.queryParam != "" {
		values = r.URL.Query()[a.queryParam]
	} else {
		values = r.Header[a.header]
		for name, vs := range r.Header {
			if len(name) == len(a.header) && name != a.header && sameHeaderFolded(name, a.header) {
				values = append(values[:len(values):len(values)], vs...)
				folded = true
			}
		}
	}
	switch {
	case len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "":
		return "", folded, errNoCredential
	case len(values) > 1:
		return "", folded, errMultipleCredentials
	}
	return values[0], folded, nil
}
