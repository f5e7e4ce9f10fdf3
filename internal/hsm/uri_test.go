package hsm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	const mod = "?module-path=/m.so"
	slot := 3
	tests := []struct {
		name string
		in   string
		want URI
	}{
		{"token and object", "pkcs11:token=t;object=k" + mod + "&pin-source=file:/p",
			URI{Token: "t", Object: "k", ModulePath: "/m.so", PINSource: "file:/p"}},
		{"scheme in capitals", "PKCS11:token=t;object=k" + mod, URI{Token: "t", Object: "k", ModulePath: "/m.so"}},
		{"percent-encoded id and label (RFC 7512 §3)", "pkcs11:token=My%20token;id=%01%02%FF" + mod,
			URI{Token: "My token", ID: []byte{1, 2, 0xff}, ModulePath: "/m.so"}},
		{"serial and type", "pkcs11:serial=abc;object=k;type=private" + mod,
			URI{Serial: "abc", Object: "k", Type: "private", ModulePath: "/m.so"}},
		{"slot-id", "pkcs11:slot-id=3;object=k" + mod, URI{SlotID: &slot, Object: "k", ModulePath: "/m.so"}},
		{"pin-value kept for Open to refuse", "pkcs11:token=t;object=k" + mod + "&pin-value=1234",
			URI{Token: "t", Object: "k", ModulePath: "/m.so", PINValue: "1234"}},
		{"plus is no space", "pkcs11:token=a+b;object=k" + mod, URI{Token: "a+b", Object: "k", ModulePath: "/m.so"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"other scheme", "file:/k.pem", "starting with pkcs11:"},
		{"no token", "pkcs11:object=k?module-path=/m.so", "no token selected"},
		{"two tokens", "pkcs11:token=t;serial=s;object=k?module-path=/m.so", "one way"},
		{"no key", "pkcs11:token=t?module-path=/m.so", "no key selected"},
		{"no module", "pkcs11:token=t;object=k", "module-path"},
		{"module-name", "pkcs11:token=t;object=k?module-name=softhsm2", "module-name is not supported"},
		{"repeated", "pkcs11:token=t;token=u;object=k?module-path=/m.so", "token given twice"},
		{"bad escape", "pkcs11:token=t%zz;object=k?module-path=/m.so", "bad percent-encoding"},
		{"unknown path attribute", "pkcs11:token=t;object=k;colour=red?module-path=/m.so", `"colour" is not supported`},
		{"unknown query attribute", "pkcs11:token=t;object=k?module-path=/m.so&x=1", `"x" is not supported`},
		{"query attribute in the path", "pkcs11:token=t;object=k;module-path=/m.so", "belongs in the query"},
		{"no equals", "pkcs11:token=t;object?module-path=/m.so", "want name=value"},
		{"trailing separator", "pkcs11:token=t;object=k;?module-path=/m.so", "want name=value"},
		{"bad type", "pkcs11:token=t;object=k;type=cert?module-path=/m.so", "want private or public"},
		{"bad slot", "pkcs11:slot-id=-1;object=k?module-path=/m.so", "decimal slot number"},
		{"empty value", "pkcs11:token=t;object=k;id=?module-path=/m.so", "id has no value"},
		{"both PINs", "pkcs11:token=t;object=k?module-path=/m.so&pin-value=1&pin-source=/p", "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseURI(tt.in)
			if !errors.Is(err, ErrURI) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrURI containing %q", err, tt.want)
			}
		})
	}
}

func TestURIStringRedactsPIN(t *testing.T) {
	u, err := ParseURI("pkcs11:token=My%20token;object=k;id=%01?module-path=/m.so&pin-value=secret-1234")
	if err != nil {
		t.Fatal(err)
	}
	s := u.String()
	if strings.Contains(s, "secret-1234") {
		t.Fatalf("String() shows the PIN: %s", s)
	}
	if want := "pkcs11:token=My%20token;object=k;id=%01?module-path=/m.so&pin-value=REDACTED"; s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	again, err := ParseURI(strings.Replace(s, "&pin-value=REDACTED", "", 1))
	if err != nil || again.Token != "My token" || string(again.ID) != "\x01" {
		t.Errorf("String() does not parse back: %+v, %v", again, err)
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=t;object=k?module-path=/m.so&pin-source=file:/p",
		"pkcs11:token=My%20token;id=%01%02?module-path=/m.so&pin-value=1",
		"pkcs11:slot-id=0;object=k;type=public?module-path=/m.so",
		"pkcs11:", "pkcs11:?", "pkcs11:;;", "pkcs11:token=%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, ErrURI) {
				t.Fatalf("error %v does not wrap ErrURI", err)
			}
			return
		}
		// What parses names one token, one key and a module, and prints
		// back to the same URI.
		again, err := ParseURI(u.String())
		if u.PINValue == "" && (err != nil || !reflect.DeepEqual(u, again)) {
			t.Fatalf("%q: String() = %q parses to %+v, %v; want %+v", s, u.String(), again, err, u)
		}
	})
}
