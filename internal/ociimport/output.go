package ociimport

import (
	"bytes"
	"fmt"
	"strings"
)

// maxNameLen bounds a spec file's name; display names can be 255 characters.
const maxNameLen = 64

// FileNames returns a spec file name for each deployment, in order: its
// display-name, else its path prefix, reduced to lower case letters,
// digits, ".", "_" and "-" (so no name can leave the output directory or
// need quoting), made unique with -2, -3 ..., plus ".json". A deployment
// with neither is "deployment".
func FileNames(ds []Deployment) []string {
	names := make([]string, len(ds))
	used := map[string]bool{}
	for i, d := range ds {
		base := safeName(d.DisplayName)
		if base == "" {
			base = safeName(d.PathPrefix)
		}
		if base == "" {
			base = "deployment"
		}
		name := base
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		used[name] = true
		names[i] = name + ".json"
	}
	return names
}

// safeName reduces s to a file name stem: runs of other characters become
// one "-", and the ends lose "-" and "." (no hidden files, no "..").
func safeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-.")
	if len(name) > maxNameLen {
		name = strings.Trim(name[:maxNameLen], "-.")
	}
	return name
}

// Entry is one deployment of the keygate configuration written.
type Entry struct {
	// PathPrefix is the deployment's path prefix. Required.
	PathPrefix string
	// ID is the deployment's OCID, which usage plans' targets name.
	// Default "" (none written).
	ID string
	// SpecificationFile is the spec file, relative to the configuration.
	// Required.
	SpecificationFile string
	// Comment says where the deployment came from, written above it.
	// Default "" (none).
	Comment string
}

// GatewayYAML returns keygate's configuration file (the format of
// config.Gateway) serving entries on listen.
func GatewayYAML(listen string, entries []Entry) []byte {
	var b bytes.Buffer
	b.WriteString("# keygate configuration written by keygate import.\n")
	fmt.Fprintf(&b, "listen: %s\n", yamlString(listen))
	b.WriteString("deployments:\n")
	for _, e := range entries {
		if e.Comment != "" {
			fmt.Fprintf(&b, "  # %s\n", oneLine(e.Comment))
		}
		fmt.Fprintf(&b, "  - pathPrefix: %s\n", yamlString(e.PathPrefix))
		if e.ID != "" {
			fmt.Fprintf(&b, "    id: %s\n", yamlString(e.ID))
		}
		fmt.Fprintf(&b, "    specificationFile: %s\n", yamlString(e.SpecificationFile))
	}
	return b.Bytes()
}

// yamlString writes s plain when no YAML reader could take it for anything
// but that string (a path, a .json file name), else double-quoted: JSON's
// string syntax is YAML's too.
func yamlString(s string) string {
	plain := s != "" && (s[0] == '/' || strings.HasSuffix(s, ".json"))
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '/' || r == '.' || r == '_' || r == '-' || r == '~'
		plain = plain && ok
	}
	if plain {
		return s
	}
	q, _ := Encode(s) // a string always encodes
	return strings.TrimSuffix(string(q), "\n")
}

// oneLine keeps a comment on its line: control characters (YAML 1.1
// breaks lines at NEL, U+2028 and U+2029 too) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
