//go:build cgo

package hsm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// Available reports whether this build can load PKCS#11 modules: it needs
// cgo (a module is a C library), and this build has it.
const Available = true

// Open finds the key pair the URI names and returns it, logged in with the
// URI's PIN. Errors wrap ErrURI, ErrModule, ErrToken, ErrPIN or ErrObject.
func Open(uri string, opts Options) (*Key, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	ctx, err := login(u, opts)
	if err != nil {
		return nil, err
	}
	pairs, err := ctx.FindKeyPairs(u.ID, label(u))
	if err != nil {
		ctx.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrObject, describeKey(u), err)
	}
	switch len(pairs) {
	case 0:
		// FindKeyPairs pairs the halves by CKA_ID: a private key alone, or
		// one without an id, is there but cannot be used. Say which.
		privs, _ := ctx.FindPrivateKeys(u.ID, label(u))
		ctx.Close()
		if len(privs) > 0 {
			return nil, fmt.Errorf("%w: token %s holds a private key with %s but no public key with the same CKA_ID (and a non-empty one); import the public key with that id", ErrObject, describeToken(u), describeKey(u))
		}
		return nil, fmt.Errorf("%w: no key pair with %s in token %s (keygate keys generate --pkcs11 makes one)", ErrObject, describeKey(u), describeToken(u))
	case 1:
	default:
		ctx.Close()
		return nil, fmt.Errorf("%w: %d key pairs match %s in token %s; add id= or object= to pick one", ErrObject, len(pairs), describeKey(u), describeToken(u))
	}
	return &Key{signer: pairs[0], close: ctx.Close}, nil
}

// login loads the module, finds the token and logs in.
func login(u *URI, opts Options) (*crypto11.Context, error) {
	pin, err := readPIN(u, opts)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(u.ModulePath) {
		return nil, fmt.Errorf("%w: module-path %q: give the module's absolute file name", ErrURI, u.ModulePath)
	}
	if _, err := os.Stat(u.ModulePath); err != nil {
		return nil, fmt.Errorf("%w: module-path %s: no such file (is the HSM's PKCS#11 library installed?)", ErrModule, u.ModulePath)
	}
	cfg := &crypto11.Config{Path: u.ModulePath, TokenLabel: u.Token, TokenSerial: u.Serial, SlotNumber: u.SlotID, Pin: pin}
	ctx, err := crypto11.Configure(cfg)
	if err == nil {
		return ctx, nil
	}
	var p11 pkcs11.Error
	switch {
	case errors.As(err, &p11) && (p11 == pkcs11.CKR_PIN_INCORRECT || p11 == pkcs11.CKR_PIN_LEN_RANGE):
		return nil, fmt.Errorf("%w: token %s refused the PIN from %s: wrong PIN", ErrPIN, describeToken(u), pinOrigin(u))
	case errors.As(err, &p11) && p11 == pkcs11.CKR_PIN_LOCKED:
		return nil, fmt.Errorf("%w: token %s is locked after too many wrong PINs; its security officer must unlock it", ErrPIN, describeToken(u))
	// crypto11 exports no error values for these two: its messages are
	// all there is to tell them apart (pinned by the SoftHSM2 tests).
	case strings.Contains(err.Error(), "could not find PKCS#11 token"):
		return nil, fmt.Errorf("%w: no token %s in module %s (softhsm2-util --show-slots lists SoftHSM's)", ErrToken, describeToken(u), u.ModulePath)
	case strings.Contains(err.Error(), "failed to create module context"):
		return nil, fmt.Errorf("%w: module-path %s cannot be loaded as a PKCS#11 module: %v", ErrModule, u.ModulePath, err)
	}
	return nil, fmt.Errorf("token %s in %s: %w", describeToken(u), u.ModulePath, err)
}

// readPIN returns the PIN the URI points at. The PIN is never part of an
// error.
func readPIN(u *URI, opts Options) (string, error) {
	switch {
	case u.PINValue != "" && !opts.AllowPINValue:
		return "", fmt.Errorf("%w: pin-value puts the PIN on the command line; use pin-source=file:/path (or env:VAR), or allow it with --insecure", ErrURI)
	case u.PINValue != "":
		return u.PINValue, nil
	case u.PINSource == "":
		return "", fmt.Errorf("%w: no PIN; add &pin-source=file:/path/to/pin (or env:VAR)", ErrPIN)
	}
	if name, ok := strings.CutPrefix(u.PINSource, "env:"); ok {
		pin := ""
		if opts.Getenv != nil && name != "" {
			pin = opts.Getenv(name)
		}
		if pin == "" {
			return "", fmt.Errorf("%w: pin-source env:%s: the variable is not set or empty", ErrPIN, name)
		}
		return pin, nil
	}
	name := u.PINSource
	if rest, ok := strings.CutPrefix(name, "file://"); ok {
		name = rest // file:///abs/path
	} else if rest, ok := strings.CutPrefix(name, "file:"); ok {
		name = rest
	}
	if !filepath.IsAbs(name) {
		return "", fmt.Errorf("%w: pin-source %q: want file:/absolute/path or env:VAR", ErrURI, u.PINSource)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("%w: pin-source %s: %v", ErrPIN, name, errors.Unwrap(err))
	}
	// A file written by echo ends in a newline that is no part of the PIN.
	pin := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if pin == "" {
		return "", fmt.Errorf("%w: pin-source %s is empty", ErrPIN, name)
	}
	return pin, nil
}

func pinOrigin(u *URI) string {
	if u.PINValue != "" {
		return "pin-value"
	}
	return "pin-source " + u.PINSource
}

func label(u *URI) []byte {
	if u.Object == "" {
		return nil
	}
	return []byte(u.Object)
}

func describeToken(u *URI) string {
	switch {
	case u.Token != "":
		return fmt.Sprintf("%q", u.Token)
	case u.Serial != "":
		return "with serial " + u.Serial
	}
	return fmt.Sprintf("in slot %d", *u.SlotID)
}

func describeKey(u *URI) string {
	var parts []string
	if u.Object != "" {
		parts = append(parts, fmt.Sprintf("object=%q", u.Object))
	}
	if len(u.ID) > 0 {
		parts = append(parts, "id="+escapeAll(u.ID))
	}
	return strings.Join(parts, " and ")
}

// escapeAll percent-encodes every byte, the way ids are written in URIs.
func escapeAll(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%%%02X", c)
	}
	return s.String()
}
