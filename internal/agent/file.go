package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces name with token and a newline, atomically: the token
// goes to a temporary file beside name (mode 0600) that is then renamed
// over it, so a reader sees the old token or the new one, never half of
// one, and never a file others can read. No fsync: after a crash the agent
// signs a new token anyway, and a sync would delay every renewal.
func WriteFile(name, token string) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write token file %s: %w", name, err)
	}
	_, werr := f.WriteString(token + "\n")
	err = errors.Join(werr, f.Chmod(0o600), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write token file %s: %w", name, err)
	}
	return nil
}
