package hsm

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URI is an RFC 7512 pkcs11: URI with the attributes keygate uses. Values
// are percent-decoded.
type URI struct {
	// Token is the token label (path attribute "token"); "" if not given.
	Token string
	// Serial is the token serial number ("serial"); "" if not given.
	Serial string
	// SlotID is the slot id ("slot-id", a decimal number); nil if not given.
	SlotID *int
	// Object is the key's label, CKA_LABEL ("object"); "" if not given.
	Object string
	// ID is the key's CKA_ID ("id", usually percent-encoded bytes); nil if
	// not given.
	ID []byte
	// Type is "private" or "public" ("type"); "" if not given. Either
	// names the same key pair to keygate.
	Type string
	// ModulePath is the PKCS#11 module to load ("module-path" in the
	// query), an absolute file name.
	ModulePath string
	// PINSource is where the PIN is read ("pin-source" in the query):
	// file:/path, /path, or env:VAR (a keygate extension); "" if not given.
	PINSource string
	// PINValue is a PIN written in the URI itself ("pin-value"); "" if not
	// given. Opening refuses it unless asked to allow it.
	PINValue string
}

// IsURI reports whether s is meant as a pkcs11: URI (the scheme is
// case-insensitive), so that callers can route it here rather than read a
// file of that name.
func IsURI(s string) bool {
	return len(s) >= 7 && strings.EqualFold(s[:7], "pkcs11:")
}

// ParseURI parses s as an RFC 7512 pkcs11: URI. It accepts the path
// attributes token, serial, slot-id, object, id and type and the query
// attributes module-path, pin-source and pin-value; any other attribute, a
// repeated one, a bad percent-encoding or a URI that selects no token or
// no key is refused with an error wrapping ErrURI that says what to write.
func ParseURI(s string) (*URI, error) {
	if !IsURI(s) {
		return nil, fmt.Errorf("%w: want a URI starting with pkcs11:", ErrURI)
	}
	path, query, _ := strings.Cut(s[len("pkcs11:"):], "?")
	u := &URI{}
	seen := map[string]bool{}
	if err := eachAttribute(path, ";", "path", seen, u.setPath); err != nil {
		return nil, err
	}
	if err := eachAttribute(query, "&", "query", seen, u.setQuery); err != nil {
		return nil, err
	}
	return u, u.check()
}

// eachAttribute splits part into name=value attributes and hands each,
// percent-decoded, to set.
func eachAttribute(part, sep, where string, seen map[string]bool, set func(name, value string) error) error {
	if part == "" {
		return nil
	}
	for _, attr := range strings.Split(part, sep) {
		name, raw, ok := strings.Cut(attr, "=")
		if !ok || name == "" {
			return fmt.Errorf("%w: %s attribute %q: want name=value, separated by %q", ErrURI, where, attr, sep)
		}
		value, err := url.PathUnescape(raw)
		if err != nil {
			return fmt.Errorf("%w: %s: bad percent-encoding in %q", ErrURI, name, raw)
		}
		if value == "" {
			return fmt.Errorf("%w: %s has no value", ErrURI, name)
		}
		if seen[name] {
			return fmt.Errorf("%w: %s given twice", ErrURI, name)
		}
		seen[name] = true
		if err := set(name, value); err != nil {
			return err
		}
	}
	return nil
}

func (u *URI) setPath(name, value string) error {
	switch name {
	case "token":
		u.Token = value
	case "serial":
		u.Serial = value
	case "slot-id":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: slot-id %q: want a decimal slot number", ErrURI, value)
		}
		u.SlotID = &n
	case "object":
		u.Object = value
	case "id":
		u.ID = []byte(value)
	case "type":
		if value != "private" && value != "public" {
			return fmt.Errorf("%w: type %q: keygate uses key pairs; want private or public", ErrURI, value)
		}
		u.Type = value
	case "module-path", "module-name", "pin-source", "pin-value":
		return fmt.Errorf("%w: %s belongs in the query: pkcs11:token=...;object=...?%s=...", ErrURI, name, name)
	default:
		return fmt.Errorf("%w: path attribute %q is not supported; use token, serial or slot-id for the token and object or id for the key", ErrURI, name)
	}
	return nil
}

func (u *URI) setQuery(name, value string) error {
	switch name {
	case "module-path":
		u.ModulePath = value
	case "pin-source":
		u.PINSource = value
	case "pin-value":
		u.PINValue = value
	case "module-name":
		return fmt.Errorf("%w: module-name is not supported; give the module's file with module-path=/usr/lib/softhsm/libsofthsm2.so", ErrURI)
	default:
		return fmt.Errorf("%w: query attribute %q is not supported; want module-path, pin-source or pin-value", ErrURI, name)
	}
	return nil
}

// check reports what a parsed URI lacks to name one key.
func (u *URI) check() error {
	var ways []string
	for name, set := range map[string]bool{"token": u.Token != "", "serial": u.Serial != "", "slot-id": u.SlotID != nil} {
		if set {
			ways = append(ways, name)
		}
	}
	switch {
	case len(ways) == 0:
		return fmt.Errorf("%w: no token selected; add token=LABEL (or serial= or slot-id=)", ErrURI)
	case len(ways) > 1:
		return fmt.Errorf("%w: select the token one way: token, serial or slot-id, not several", ErrURI)
	case u.Object == "" && len(u.ID) == 0:
		return fmt.Errorf("%w: no key selected; add object=LABEL (or id=%%01...)", ErrURI)
	case u.ModulePath == "":
		return fmt.Errorf("%w: no module; add ?module-path=/path/to/pkcs11-module.so", ErrURI)
	case u.PINSource != "" && u.PINValue != "":
		return fmt.Errorf("%w: give pin-source or pin-value, not both", ErrURI)
	}
	return nil
}

// String returns u as a URI with the PIN value redacted, for messages.
func (u *URI) String() string {
	var path []string
	add := func(name, value string) {
		if value != "" {
			path = append(path, name+"="+escape(value))
		}
	}
	add("token", u.Token)
	add("serial", u.Serial)
	if u.SlotID != nil {
		add("slot-id", strconv.Itoa(*u.SlotID))
	}
	add("object", u.Object)
	add("id", string(u.ID))
	add("type", u.Type)
	s := "pkcs11:" + strings.Join(path, ";")
	var query []string
	if u.ModulePath != "" {
		query = append(query, "module-path="+escape(u.ModulePath))
	}
	if u.PINSource != "" {
		query = append(query, "pin-source="+escape(u.PINSource))
	}
	if u.PINValue != "" {
		query = append(query, "pin-value=REDACTED")
	}
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// escape percent-encodes everything but RFC 3986 unreserved characters and
// the slash (module paths stay readable).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~/:", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
