package config

import "testing"

// TestTemplateMember: request.auth takes a second key, a member of the
// object the first names (OCI's ${request.auth[id_token_claims][email]});
// no other table does, and neither key may be empty.
func TestTemplateMember(t *testing.T) {
	for _, c := range []struct {
		in          string
		key, member string
		ok          bool
	}{
		{"${request.auth[id_token_claims][email]}", "id_token_claims", "email", true},
		{"${request.auth[sub]}", "sub", "", true},
		{"${request.headers[a][b]}", "", "", false},
		{"${request.auth[a][]}", "", "", false},
		{"${request.auth[][b]}", "", "", false},
		{"${request.auth[a][b][c]}", "", "", false},
	} {
		tpl, err := ParseTemplate(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok %v", c.in, err, c.ok)
			continue
		}
		if !c.ok {
			continue
		}
		v := tpl.Variables()[0]
		if v.Key != c.key || v.Member != c.member || v.String() != c.in {
			t.Errorf("%s: key %q member %q string %s", c.in, v.Key, v.Member, v.String())
		}
	}
}
