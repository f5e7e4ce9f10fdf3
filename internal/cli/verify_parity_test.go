package cli

import (
	"crypto"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/keys"
	"github.com/keygate/keygate/internal/token"
)

// TestVerifyMatchesServe runs every case of the gateway's end-to-end table
// twice: through `keygate token verify --spec` offline and through a running
// `keygate serve` on the same spec. Verdict, status and reason must agree.
func TestVerifyMatchesServe(t *testing.T) {
	dir := t.TempDir()
	client, err := keys.Generate("rsa", 2048, "")
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := keys.Generate("rsa", 2048, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicJWK(client.Public())
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]any{"format": "JSON_WEB_KEY", "kid": "suitable_name", "kty": pub.Kty, "n": pub.N, "e": pub.E, "alg": "RS256", "use": "sig"}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "backend")
	}))
	defer backend.Close()
	specFile := writeSeedSpec(t, dir, key, backend.URL)
	base, logs := startServe(t, "--spec", specFile, "--path-prefix", "/test3", "--listen", "127.0.0.1:0")

	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"sub": "suitable_subject", "iss": "suitable_issuer", "aud": []string{"suitable_audience"},
			"scope": "Desired_scopes other", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := mustSign(t, client, "suitable_name", claims(nil))
	b64 := base64.RawURLEncoding.EncodeToString
	algNone := b64([]byte(`{"alg":"none","kid":"suitable_name","typ":"JWT"}`)) + "." +
		b64([]byte(`{"iss":"suitable_issuer","aud":"suitable_audience","scope":"Desired_scopes","exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`}`)) + "."

	tests := []struct {
		name, method, path, token string
		wantStatus                int
		wantReason                string
	}{
		{"valid", "POST", "/test3/1", good, 200, ""},
		{"no token", "POST", "/test3/1", "", 401, "missing_token"},
		{"unknown kid", "POST", "/test3/1", mustSign(t, client, "other_name", claims(nil)), 401, "unknown_kid"},
		{"wrong iss", "POST", "/test3/1", mustSign(t, client, "suitable_name", claims(func(c map[string]any) { c["iss"] = "other" })), 401, "wrong_issuer"},
		{"wrong aud", "POST", "/test3/1", mustSign(t, client, "suitable_name", claims(func(c map[string]any) { c["aud"] = "other" })), 401, "wrong_audience"},
		{"expired", "POST", "/test3/1", mustSign(t, client, "suitable_name", claims(func(c map[string]any) { c["exp"] = now.Add(-3 * time.Minute).Unix() })), 401, "token_expired"},
		{"missing scope", "POST", "/test3/1", mustSign(t, client, "suitable_name", claims(func(c map[string]any) { c["scope"] = "profile" })), 403, "insufficient_scope"},
		{"bad signature", "POST", "/test3/1", mustSign(t, attacker, "suitable_name", claims(nil)), 401, "bad_signature"},
		{"alg none", "POST", "/test3/1", algNone + "c2ln", 401, "alg_not_allowed"},
		{"wrong method", "GET", "/test3/1", good, 405, "method_not_allowed"},
		{"unknown path", "POST", "/test3/nope", good, 404, "no_route"},
		{"anonymous route, bad token", "GET", "/test3/health", mustSign(t, attacker, "suitable_name", claims(nil)), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"token", "verify", "--spec", specFile, "--path-prefix", "/test3", "--request", tt.method + " " + tt.path}
			if tt.token != "" {
				args = append(args, tt.token)
			}
			out, errOut, code := runCLI(t, "", args...)
			verdict, _, _ := strings.Cut(out, "\n")

			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("serve answered %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				if code != exitOK || !strings.HasPrefix(verdict, "ACCEPT") {
					t.Errorf("token verify: exit %d, %q; serve answered %d\n%s%s", code, verdict, resp.StatusCode, out, errOut)
				}
				return
			}
			want := "REJECT " + strconv.Itoa(resp.StatusCode) + " " + tt.wantReason
			if code != exitFail || verdict != want {
				t.Errorf("token verify: exit %d, %q; want exit 1, %q (serve answered %d)\n%s%s", code, verdict, want, resp.StatusCode, out, errOut)
			}
			if !logs.waitFor(`"reason":"` + tt.wantReason + `"`) {
				t.Errorf("serve's log has no reason %s", tt.wantReason)
			}
		})
	}
}

func mustSign(t *testing.T, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	tok, err := token.Sign(key, kid, "", claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// FuzzRequestFlag feeds --request values to the parser and the request
// builder: no input may panic, and an accepted one must build a request.
func FuzzRequestFlag(f *testing.F) {
	for _, seed := range []string{"POST /test3/1", "GET /a?b=c", "GET https://h/x?y", "GET", " / ", "GET /%zz", "G\x00T /"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRequestFlag(s)
		if err != nil {
			return
		}
		if _, err := newHTTPRequest(r); err == nil && !strings.HasPrefix(r.Target, "/") {
			t.Errorf("target %q accepted without a leading /", r.Target)
		}
	})
}
