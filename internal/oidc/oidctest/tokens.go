package oidctest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// Tokens is a token response of the OP's token endpoint.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Login runs the authorization-code flow for the test user through the
// OP's own login form (no browser: the form is posted as a browser would)
// and redeems the code as clientID (ClientID: opaque access token,
// JWTClientID: JWT). scopes default to "openid"; the example OP grants the
// standard OpenID scopes and "custom_scope".
func (o *OP) Login(clientID string, scopes ...string) *Tokens {
	o.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"openid"}
	}
	code, err := o.authorize(clientID, scopes)
	if err != nil {
		o.t.Fatalf("oidctest: login: %v", err)
	}
	tokens, err := o.redeem(clientID, code)
	if err != nil {
		o.t.Fatalf("oidctest: redeem code: %v", err)
	}
	return tokens
}

// AccessToken returns an opaque access token of the test user with scopes.
func (o *OP) AccessToken(scopes ...string) string {
	o.t.Helper()
	return o.Login(ClientID, scopes...).AccessToken
}

// JWTAccessToken returns a JWT access token of the test user with scopes,
// signed with the OP's current key.
func (o *OP) JWTAccessToken(scopes ...string) string {
	o.t.Helper()
	return o.Login(JWTClientID, scopes...).AccessToken
}

func (o *OP) authorize(clientID string, scopes []string) (string, error) {
	ctx, cancel := o.ctx()
	defer cancel()
	jar, _ := cookiejar.New(nil)
	var final *url.URL
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if isRedirectURI(req.URL.String()) {
			final = req.URL
			return errStop
		}
		return nil
	}}
	q := url.Values{"client_id": {clientID}, "redirect_uri": {RedirectURI}, "response_type": {"code"},
		"scope": {strings.Join(scopes, " ")}, "state": {"oidctest-state"}, "nonce": {"oidctest-nonce"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.Issuer+"/auth?"+q.Encode(), nil)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return "", fmt.Errorf("the authorize endpoint led to %s, not the login form", resp.Request.URL)
	}
	form := url.Values{"id": {id}, "username": {Username}, "password": {Password}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, o.Issuer+"/login/username", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if final == nil {
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return "", fmt.Errorf("the login form did not redirect to the client: status %d: %.200s", resp.StatusCode, body)
		}
		return "", err
	}
	if resp != nil {
		resp.Body.Close()
	}
	code := final.Query().Get("code")
	if code == "" {
		return "", fmt.Errorf("no code in the redirect (error %q)", final.Query().Get("error"))
	}
	return code, nil
}

func (o *OP) redeem(clientID, code string) (*Tokens, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {RedirectURI}}
	var t Tokens
	if err := o.post(TokenPath, clientID, form, &t); err != nil {
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("no access token in the token response")
	}
	return &t, nil
}

// Refresh redeems a refresh token issued to clientID.
func (o *OP) Refresh(clientID, refreshToken string) *Tokens {
	o.t.Helper()
	var t Tokens
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if err := o.post(TokenPath, clientID, form, &t); err != nil {
		o.t.Fatalf("oidctest: refresh: %v", err)
	}
	return &t
}

// Revoke revokes a token issued to clientID at the OP's revocation
// endpoint (RFC 7009): introspection calls it inactive from then on.
func (o *OP) Revoke(clientID, token string) {
	o.t.Helper()
	if err := o.post(RevocationPath, clientID, url.Values{"token": {token}}, nil); err != nil {
		o.t.Fatalf("oidctest: revoke: %v", err)
	}
}

// Introspect asks the OP itself about a token, as clientID (what keygate's
// answer is compared with).
func (o *OP) Introspect(clientID, token string) map[string]any {
	o.t.Helper()
	out := map[string]any{}
	if err := o.post(IntrospectionPath, clientID, url.Values{"token": {token}}, &out); err != nil {
		o.t.Fatalf("oidctest: introspect: %v", err)
	}
	return out
}

func (o *OP) post(path, clientID string, form url.Values, out any) error {
	ctx, cancel := o.ctx()
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(ClientSecret))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d: %.300s", path, resp.StatusCode, body)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}
