package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"

	"github.com/keygate/keygate/internal/config"
)

// key is the entry's key: the route's scope, the method, the scheme, the
// Host as sent, the path exactly as it arrived (routing refused every
// non-canonical spelling; other spellings are other keys), the query as
// the backend receives it (raw: another order, encoding or duplicate is
// another key), the cacheKeyAdditions' values, and the credential's
// digest or "public".
func (p *cachePolicy) key(r *http.Request, ex *exchange, cx *cacheExchange) string {
	h := sha256.New()
	h.Write(p.scope[:])
	writeField(h, r.Method)
	if r.TLS != nil {
		writeField(h, "https")
	} else {
		writeField(h, "http")
	}
	writeField(h, r.Host)
	writeField(h, ex.escapedPath)
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		writeField(h, "?"+r.URL.RawQuery) // "/p?" reaches the backend as it is, unlike "/p"
	} else {
		writeField(h, "")
	}
	for _, v := range p.additions {
		values := additionValues(r, ex, v)
		writeField(h, v.String())
		writeField(h, strconv.Itoa(len(values)))
		for _, s := range values {
			writeField(h, s)
		}
	}
	if cx.private {
		writeField(h, "private")
		h.Write(cx.fingerprint[:])
	} else {
		writeField(h, "public")
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// additionValues are every value a cacheKeyAdditions variable has: all of
// a header's values (also under spellings with '_' for '-', which some
// backends read as the same header), all of a query parameter's.
func additionValues(r *http.Request, ex *exchange, v config.ContextVariable) []string {
	switch v.Table {
	case config.VarHeaders:
		return foldedHeaderValues(r.Header, http.CanonicalHeaderKey(v.Key))
	case config.VarQuery:
		q, _ := url.ParseQuery(r.URL.RawQuery)
		return q[v.Key]
	}
	if value := evalVariable(r, ex, v); value != "" {
		return []string{value}
	}
	return nil
}
