// Package softhsmtest gives tests a fresh SoftHSM2 token of their own. It
// is for tests only. SoftHSM2 is the Debian package softhsm2, which
// scripts/test.sh installs; without it a test is skipped, except in CI
// (CI set) where it fails.
package softhsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/hsm"
)

// Module is the SoftHSM2 PKCS#11 module Debian installs.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token is an initialised SoftHSM2 token.
type Token struct {
	// Label is the token's label, for token= in a URI.
	Label string
	// PIN is the user PIN; PINFile holds it (mode 0600).
	PIN, PINFile string
	// Dir is the test's temporary directory holding the token.
	Dir string
}

// URI returns a pkcs11: URI for object in the token, its PIN read from
// PINFile.
func (tok *Token) URI(object string) string {
	return "pkcs11:token=" + tok.Label + ";object=" + object + "?module-path=" + Module + "&pin-source=file:" + tok.PINFile
}

// New initialises a token labelled label in a directory of the test's own
// and points SOFTHSM2_CONF at its configuration for the rest of the test
// (so the test cannot be parallel). The module reads SOFTHSM2_CONF when it
// is initialised: a test must close every key it opened before the next
// test starts.
func New(t testing.TB, label string) *Token {
	t.Helper()
	if !hsm.Available {
		t.Skip("built without cgo: no PKCS#11")
	}
	util, err := exec.LookPath("softhsm2-util")
	_, modErr := os.Stat(Module)
	if err != nil || modErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("softhsm2 is not installed (softhsm2-util or %s missing); scripts/test.sh installs it", Module)
		}
		t.Skipf("softhsm2 is not installed (apt-get install softhsm2, or run scripts/test.sh)")
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	tok := &Token{Label: label, PIN: "1234", PINFile: filepath.Join(dir, "pin"), Dir: dir}
	if err := os.WriteFile(tok.PINFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", tok.PIN, "--so-pin", "5678").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return tok
}
