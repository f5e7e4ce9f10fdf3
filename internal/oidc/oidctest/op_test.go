package oidctest_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/oidc/oidctest"
)

func TestOPIssuesAndIntrospects(t *testing.T) {
	op := oidctest.Start(t)
	opaque := op.AccessToken("openid", "email")
	if strings.Count(opaque, ".") == 2 {
		t.Errorf("opaque access token looks like a JWT")
	}
	got := op.Introspect(oidctest.ClientID, opaque)
	if got["active"] != true || got["sub"] != oidctest.UserID || got["scope"] != "openid email" {
		t.Errorf("introspection of a fresh token = %v, want active, sub %s, scope \"openid email\"", got, oidctest.UserID)
	}
	op.Revoke(oidctest.ClientID, opaque)
	if got := op.Introspect(oidctest.ClientID, opaque); got["active"] != false {
		t.Errorf("introspection of a revoked token = %v, want inactive", got)
	}

	jwt := op.JWTAccessToken("openid")
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT access token has %d parts", len(parts))
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header struct{ Kid string }
	_ = json.Unmarshal(raw, &header)
	if header.Kid != op.KeyID() {
		t.Errorf("kid = %q, want the OP's key %q", header.Kid, op.KeyID())
	}
	kid := op.RotateKey(true)
	if kid == header.Kid || op.KeyID() != kid {
		t.Errorf("RotateKey gave %q, KeyID %q, old %q", kid, op.KeyID(), header.Kid)
	}
}
