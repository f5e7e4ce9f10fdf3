//go:build !cgo

package hsm

import "fmt"

// Available reports whether this build can load PKCS#11 modules: it needs
// cgo (a module is a C library), and this build has none.
const Available = false

var errNoCgo = fmt.Errorf("%w: this keygate was built without cgo (CGO_ENABLED=0), and PKCS#11 modules are C libraries; use a cgo build on a glibc image", ErrModule)

// Open fails: this build cannot load PKCS#11 modules.
func Open(uri string, opts Options) (*Key, error) {
	if _, err := ParseURI(uri); err != nil {
		return nil, err
	}
	return nil, errNoCgo
}

// Generate fails: this build cannot load PKCS#11 modules.
func Generate(uri string, opts Options, kind string, bits int, curve string) (*Key, error) {
	if _, err := ParseURI(uri); err != nil {
		return nil, err
	}
	return nil, errNoCgo
}
