package oidctest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/storage"
)

// Paths of the example OP's browser login.
const (
	// LoginFormPath shows the login form (GET, authRequestID) and takes it
	// (POST, id, username, password).
	LoginFormPath = "/login/username"
	// EndSessionPath is the end_session_endpoint.
	EndSessionPath = "/end_session"
)

// RegisterWebClient registers a confidential web client (client secret
// basic) whose redirect URIs are redirectURIs: what a gateway that logs
// browsers in is at the provider. Its access tokens are opaque, or JWTs
// with jwt.
func (o *OP) RegisterWebClient(id, secret string, jwt bool, redirectURIs ...string) {
	o.RegisterClient(storage.WebClient(id, secret, redirectURIs...), secret, jwt)
}

// SubmitLogin fills in the login form that page (a response of client,
// after it followed the provider's redirects to the form) shows, as the
// test user with password, and returns where client ends up after
// following the redirects that come back. The form is the example OP's:
// its authRequestID travels in the page's URL.
func (o *OP) SubmitLogin(client *http.Client, page *http.Response, password string) (*http.Response, error) {
	if page.Request == nil || page.Request.URL.Path != LoginFormPath {
		return nil, fmt.Errorf("oidctest: not the login form: %s", page.Request.URL)
	}
	_, _ = io.Copy(io.Discard, page.Body)
	page.Body.Close()
	id := page.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return nil, fmt.Errorf("oidctest: the login form's URL has no authRequestID: %s", page.Request.URL)
	}
	form := url.Values{"id": {id}, "username": {Username}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, o.Issuer+LoginFormPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return client.Do(req)
}
