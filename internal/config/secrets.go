package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Secret is one entry of keygate's secrets list: a secret that OCI keeps in
// its Vault and a spec names by OCID (an OIDC client's clientSecretId, the
// response cache's authenticationSecretId), and where keygate reads its
// value instead.
type Secret struct {
	// ID is the secret's OCID exactly as the specs write it (any string:
	// an OCID or a placeholder). Required; unique.
	ID string `json:"id"`
	// File holds the value, relative to the gateway file; one trailing
	// newline is ignored. Exactly one of File and Env.
	File string `json:"file,omitempty"`
	// Env names the environment variable holding the value. Exactly one of
	// File and Env.
	Env string `json:"env,omitempty"`
	// Value is the secret as read at load (a reload reads it again). Never
	// read from the config file and never printed.
	Value SecretValue `json:"-"`
}

// SecretValue is a secret's text. It prints, logs and marshals as
// "[redacted]" so that no dump of the configuration can reveal it; Reveal
// is the one way to the text.
type SecretValue struct{ text string }

const redacted = "[redacted]"

// Reveal returns the secret's text.
func (v SecretValue) Reveal() string { return v.text }

func (v SecretValue) String() string               { return redacted }
func (v SecretValue) GoString() string             { return redacted }
func (v SecretValue) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (v SecretValue) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// maxSecretSize bounds a secret file: a client secret or a password is
// short; a large file is the wrong file.
const maxSecretSize = 64 << 10

// Secret returns the value of the secret with id, and whether the gateway
// file's secrets list has it.
func (g *Gateway) Secret(id string) (SecretValue, bool) {
	for i := range g.Secrets {
		if g.Secrets[i].ID == id {
			return g.Secrets[i].Value, true
		}
	}
	return SecretValue{}, false
}

// secrets validates the gateway file's secrets list and reads every value,
// relative to dir. It runs before the deployments are checked, so that a
// spec naming a secret the list lacks is reported at the spec's JSON path.
func (c *checker) secrets(g *Gateway, dir string) {
	known := make(map[string]bool, len(g.Secrets))
	c.serving.secrets = known
	for i := range g.Secrets {
		s := &g.Secrets[i]
		p := idx("secrets", i)
		switch {
		case s.ID == "":
			c.addf(at(p, "id"), "missing; give the secret's OCID as the specs write it")
		case known[s.ID]:
			c.addf(at(p, "id"), "%q is listed twice; keep one entry per secret", s.ID)
		}
		known[s.ID] = true
		switch {
		case s.File != "" && s.Env != "":
			c.addf(p, "both file and env are set; keep one")
		case s.File != "":
			name := s.File
			if !filepath.IsAbs(s.File) {
				s.File = filepath.Join(dir, s.File) // absolute from here on: serve watches it
			}
			data, err := readFile(s.File)
			switch {
			case err != nil:
				c.addf(at(p, "file"), "%s", readMessage(name, err))
			case len(data) > maxSecretSize:
				c.addf(at(p, "file"), "%q is larger than 64 KiB; a secret file holds only the secret", name)
			default:
				s.Value = secretText(data)
				if s.Value.text == "" {
					c.addf(at(p, "file"), "%q is empty; write the secret into it", name)
				}
			}
		case s.Env != "":
			v, set := os.LookupEnv(s.Env)
			switch {
			case !set:
				c.addf(at(p, "env"), "environment variable %s is not set; set it before starting keygate, or use file", s.Env)
			case v == "":
				c.addf(at(p, "env"), "environment variable %s is empty; set it to the secret", s.Env)
			default:
				s.Value = SecretValue{v}
			}
		default:
			c.addf(p, "no value; set file (a path) or env (a variable name)")
		}
	}
}

// secretText is a secret file's text without its final line break (editors
// add one; a secret never ends with one).
func secretText(data []byte) SecretValue {
	s := strings.TrimSuffix(string(data), "\n")
	return SecretValue{strings.TrimSuffix(s, "\r")}
}

// secretRef checks that the secret id a spec names at path p is in the
// gateway file's secrets list. A spec checked on its own (no gateway
// file: keygate validate SPEC) cannot know the list, and is not held to it.
func (c *checker) secretRef(p, id string) {
	switch {
	case id == "" || c.serving == nil || c.serving.secrets == nil && !c.serving.specOnly:
		return
	case c.serving.specOnly:
		c.addf(p, "names secret %q, which only a gateway file's secrets list can provide; serve this spec with --config and a secrets entry {id: %q, file: PATH}", id, id)
	case !c.serving.secrets[id]:
		c.addf(p, "secret %q is not in the gateway file's secrets list; add {id: %q, file: PATH} or {id: %q, env: VAR} to secrets", id, id, id)
	}
}

var _ fmt.GoStringer = SecretValue{}
