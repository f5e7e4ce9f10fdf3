package gateway

import (
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// Transformation log codes (OCI's).
const (
	codeBadHeaderValue     = "headerTransformation.badHeaderValue"
	codeMissingSetValues   = "headerTransformation.missingSetValues"
	codeProtectedHeader    = "headerTransformation.protectedHeaderTransformed"
	codeBadParameterValue  = "queryParameterTransformation.badParameterValue"
	codeMissingQueryValues = "queryParameterTransformation.missingSetValues"
)

// transform is a compiled header or query parameter transformation
// policy: renames (from the original values), then sets, then the filter
// (oci-policies.md §3 and the README's decisions). Header names are
// canonical; query parameter names are case-sensitive.
type transform struct {
	log     *slog.Logger
	query   bool
	renames []renameOp
	sets    []setOp
	// allow keeps only its names (ALLOW); block removes them (BLOCK).
	allow, block map[string]bool
}

type renameOp struct{ from, to string }

type setOp struct {
	name     string
	values   []config.Template
	ifExists string
}

// compileTransform compiles a policy's parts. A header transformation of a
// protected header (response tells which side) is dropped with a warning:
// OCI never applies it (config warns at validate too).
func compileTransform(set *config.SetItems, rename *config.RenameItems, filter *config.FilterItems,
	query, response bool, log *slog.Logger, at string) *transform {
	t := &transform{query: query, log: log}
	name := func(n string) (string, bool) {
		if query {
			return n, true
		}
		if config.ProtectedHeader(n, response) {
			log.Warn("header transformation of a protected header skipped", "code", codeProtectedHeader, "at", at, "header", n)
			return "", false
		}
		return textproto.CanonicalMIMEHeaderKey(n), true
	}
	if rename != nil {
		for _, it := range rename.Items {
			from, ok1 := name(it.From)
			to, ok2 := name(it.To)
			if ok1 && ok2 {
				t.renames = append(t.renames, renameOp{from, to})
			}
		}
	}
	if set != nil {
		for _, it := range set.Items {
			n, ok := name(it.Name)
			if !ok {
				continue
			}
			op := setOp{name: n, ifExists: it.IfExists}
			for _, v := range it.Values {
				tmpl, err := config.ParseTemplate(v)
				if err == nil { // validated already
					op.values = append(op.values, tmpl)
				}
			}
			t.sets = append(t.sets, op)
		}
	}
	if filter != nil {
		names := map[string]bool{}
		for _, it := range filter.Items {
			if query {
				names[it.Name] = true
			} else {
				names[textproto.CanonicalMIMEHeaderKey(it.Name)] = true
			}
		}
		if filter.Type == config.FilterAllow {
			t.allow = names
		} else {
			t.block = names
		}
	}
	return t
}

// setValues evaluates every set item's values against the request as it is
// now: the values come from the original request, whatever the policy then
// changes. A value holding CR, LF, NUL or another control byte (a claim, a
// header, a query value an attacker controls) is dropped, so no value can
// split or inject a header; an item left with no value is skipped. Both
// are logged.
func (t *transform) setValues(r *http.Request, ex *exchange) [][]string {
	out := make([][]string, len(t.sets))
	for i, op := range t.sets {
		for _, tmpl := range op.values {
			v := evalTemplate(tmpl, r, ex)
			if !safeValue(v, t.query) {
				code := codeBadHeaderValue
				if t.query {
					code = codeBadParameterValue
				}
				t.logSkip(ex, code, "a value with a control character was dropped", op.name)
				continue
			}
			if v != "" {
				out[i] = append(out[i], v)
			}
		}
		if len(out[i]) == 0 {
			code := codeMissingSetValues
			if t.query {
				code = codeMissingQueryValues
			}
			t.logSkip(ex, code, "every value was empty; the item was skipped", op.name)
		}
	}
	return out
}

// safeValue reports whether v may go into a header field (no control
// byte but HTAB; bytes above 0x7F, UTF-8 in claims, pass as they are) or a
// query value (anything: it is escaped).
func safeValue(v string, query bool) bool {
	if query {
		return true
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// applyHeaders transforms h with the set values computed by setValues.
// protected tells which names no transformation may touch (an ALLOW filter
// keeps them).
func (t *transform) applyHeaders(h http.Header, values [][]string, response bool) {
	for _, op := range t.renames {
		if v, ok := h[op.from]; ok {
			delete(h, op.from)
			h[op.to] = v
		}
	}
	for i, op := range t.sets {
		vs := values[i]
		if len(vs) == 0 {
			continue
		}
		_, exists := h[op.name]
		switch {
		case !exists, op.ifExists == config.IfExistsOverwrite:
			h[op.name] = vs
		case op.ifExists == config.IfExistsAppend:
			h[op.name] = append(h[op.name][:len(h[op.name]):len(h[op.name])], vs...)
		}
	}
	for name := range h {
		switch {
		case t.block != nil && t.block[name] && !config.ProtectedHeader(name, response):
			delete(h, name)
		case t.allow != nil && !t.allow[name] && !config.ProtectedHeader(name, response):
			delete(h, name)
		}
	}
}

// applyQuery transforms the raw query q; pairs the policy does not touch
// keep their encoding and order.
func (t *transform) applyQuery(q string, values [][]string) string {
	type pair struct{ name, raw string }
	var pairs []pair
	if q != "" {
		for raw := range strings.SplitSeq(q, "&") {
			key, _, _ := strings.Cut(raw, "=")
			name, err := url.QueryUnescape(key)
			if err != nil {
				name = key
			}
			pairs = append(pairs, pair{name, raw})
		}
	}
	encode := func(name, value string) string { return url.QueryEscape(name) + "=" + url.QueryEscape(value) }
	for _, op := range t.renames {
		for i, p := range pairs {
			if p.name == op.from {
				_, value, _ := strings.Cut(p.raw, "=")
				pairs[i] = pair{op.to, url.QueryEscape(op.to) + "=" + value}
			}
		}
	}
	for i, op := range t.sets {
		vs := values[i]
		if len(vs) == 0 {
			continue
		}
		exists := false
		for _, p := range pairs {
			exists = exists || p.name == op.name
		}
		if exists && op.ifExists == config.IfExistsSkip {
			continue
		}
		if exists && op.ifExists == config.IfExistsOverwrite {
			kept := pairs[:0]
			for _, p := range pairs {
				if p.name != op.name {
					kept = append(kept, p)
				}
			}
			pairs = kept
		}
		for _, v := range vs {
			pairs = append(pairs, pair{op.name, encode(op.name, v)})
		}
	}
	var b strings.Builder
	for _, p := range pairs {
		if (t.block != nil && t.block[p.name]) || (t.allow != nil && !t.allow[p.name]) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.raw)
	}
	return b.String()
}

// logSkip logs a transformation that did not apply, at WARN, on the
// route's execution log.
func (t *transform) logSkip(ex *exchange, code, detail, name string) {
	if !ex.executionLogEnabled(slog.LevelWarn) {
		return
	}
	t.log.LogAttrs(ex.ctx, slog.LevelWarn, detail, slog.String("code", code),
		slog.String("opcRequestId", ex.requestID), slog.String("name", bounded(name)))
}

// withRequestTransforms applies a route's request header and query
// parameter transformations before the backend. The values are computed
// from the request before either changes it. A change to the verified
// credential's header is what the backend gets (a BLOCK of Authorization
// keeps the token from it).
func (g *Gateway) withRequestTransforms(headers, query *transform, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		var hv, qv [][]string
		if headers != nil {
			hv = headers.setValues(r, ex)
		}
		if query != nil {
			qv = query.setValues(r, ex)
		}
		if headers != nil {
			headers.applyHeaders(r.Header, hv, false)
			if ex.credentialHeader != "" {
				// Rewrite sets the credential again after hop-by-hop
				// removal (R12): it must set what the policy left.
				ex.credential = r.Header[ex.credentialHeader]
				if ex.credential == nil {
					ex.credentialHeader = ""
				}
			}
		}
		if query != nil {
			r.URL.RawQuery = query.applyQuery(r.URL.RawQuery, qv)
		}
		next.ServeHTTP(w, r)
	})
}

// withResponseTransforms applies a route's response header transformations
// to the response of its backend (or stock response) when its status is
// written; values read the request.
func (g *Gateway) withResponseTransforms(t *transform, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r)
		next.ServeHTTP(&transformWriter{ResponseWriter: w, apply: func(h http.Header) {
			t.applyHeaders(h, t.setValues(r, ex), true)
		}}, r)
	})
}

// transformWriter applies a header transformation when the final status is
// written. Informational responses pass as they are.
type transformWriter struct {
	http.ResponseWriter
	apply   func(http.Header)
	written bool
}

func (tw *transformWriter) WriteHeader(status int) {
	if !tw.written && status >= 200 {
		tw.written = true
		tw.apply(tw.ResponseWriter.Header())
	}
	tw.ResponseWriter.WriteHeader(status)
}

func (tw *transformWriter) Write(p []byte) (int, error) {
	if !tw.written {
		tw.WriteHeader(http.StatusOK)
	}
	return tw.ResponseWriter.Write(p)
}

// Flush passes flushes through, so streamed responses stay streamed.
func (tw *transformWriter) Flush() {
	if !tw.written {
		tw.WriteHeader(http.StatusOK)
	}
	if f, ok := tw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (tw *transformWriter) Unwrap() http.ResponseWriter { return tw.ResponseWriter }
