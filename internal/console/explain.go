package console

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/explain"
)

// explainData is the explainer's form and, after a POST, its verdict. The
// token is never put back in the page.
type explainData struct {
	Methods      []string
	Method, Path string
	// Done: a verdict is shown; Accepted says which.
	Done, Accepted bool
	// Output is the verdict, the lines `keygate token verify` prints.
	Output string
	Error  string
}

var explainMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// maxExplainBody bounds the explainer's form: a token and a path.
const maxExplainBody = 64 << 10

// explainForm shows the form, filled with ?method= and ?path= when given
// (the Deployments page links each route here). A token is never taken
// from the URL: URLs end up in histories and logs.
func (c *Console) explainForm(w http.ResponseWriter, r *http.Request) {
	d := explainData{Methods: explainMethods, Method: "GET", Path: r.URL.Query().Get("path")}
	if m := strings.ToUpper(r.URL.Query().Get("method")); slices.Contains(explainMethods, m) {
		d.Method = m
	}
	c.render(w, r, http.StatusOK, "explain", pageData{Title: "Token explainer", Nav: "explain", Body: d})
}

// explain runs the pasted request through the live gateway's Decide, as
// `keygate token verify --config` does, and shows the same lines. The token
// lives in this function only: it is not logged, stored or echoed.
func (c *Console) explain(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxExplainBody)
	d := explainData{Methods: explainMethods}
	if err := r.ParseForm(); err != nil {
		d.Error = "the form could not be read: it may hold at most 64 KiB"
		c.render(w, r, http.StatusBadRequest, "explain", pageData{Title: "Token explainer", Nav: "explain", Body: d})
		return
	}
	d.Method = strings.ToUpper(strings.TrimSpace(r.PostFormValue("method")))
	d.Path = strings.TrimSpace(r.PostFormValue("path"))
	raw := strings.TrimSpace(r.PostFormValue("token"))
	if scheme, rest, ok := strings.Cut(raw, " "); ok && strings.EqualFold(scheme, "Bearer") {
		raw = strings.TrimSpace(rest)
	}
	req, err := explain.ParseRequest(d.Method + " " + d.Path)
	if err == nil {
		_, err = req.HTTP()
	}
	if err != nil {
		if errors.Is(err, explain.ErrRequestForm) {
			err = errors.New(`give a method and a path starting with /, e.g. GET /api/orders`)
		}
		d.Error = "request " + d.Method + " " + d.Path + ": " + err.Error()
		c.render(w, r, http.StatusBadRequest, "explain", pageData{Title: "Token explainer", Nav: "explain", Body: d})
		return
	}
	g := c.opts.Live.Current()
	var out bytes.Buffer
	d.Accepted = explain.Gateway(&out, g, g.Config(), req, raw, explain.Options{})
	d.Done, d.Output = true, out.String()
	if raw != "" {
		// The rendering never prints the token; this keeps it so should a
		// new line ever quote it.
		d.Output = strings.ReplaceAll(d.Output, raw, "(the token)")
	}
	c.render(w, r, http.StatusOK, "explain", pageData{Title: "Token explainer", Nav: "explain", Body: d})
}
