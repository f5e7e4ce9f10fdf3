package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid matches, with errors.Is, every Problem and Problems value, so a
// caller can tell "the configuration is wrong" from other failures.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong in a configuration: where it is and how to fix it.
type Problem struct {
	// File is the file that holds the faulty text; "" when there is no file
	// (a command-line value, or DecodeSpec called with an empty name).
	File string
	// Path is the JSON path of the faulty value, e.g. "routes[2].backend.url";
	// "" when the problem concerns the whole file.
	Path string
	// Kid is the kid of the static key that Path is or lies in, named beside
	// the path because an operator knows keys by kid rather than by index;
	// "" when the problem is not about a key or the key has none.
	Kid string
	// Message says what is wrong and what to do, in lower case.
	Message string
}

// Error returns "file: path (kid "k"): message", leaving out empty parts.
func (p Problem) Error() string {
	path := p.Path
	if p.Kid != "" {
		path = strings.TrimPrefix(fmt.Sprintf("%s (kid %q)", path, p.Kid), " ")
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{p.File, path, p.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// Is reports whether target is ErrInvalid.
func (p Problem) Is(target error) bool { return target == ErrInvalid }

// Problems is every problem found in a configuration, in the order they were
// found (document order for structure, field order for validation).
type Problems []Problem

// Error returns one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (ps Problems) Is(target error) bool { return target == ErrInvalid }

// checker collects problems for one file under a JSON path prefix, so that
// validation code can report without threading error values around.
type checker struct {
	file  string
	probs Problems
	// specCheck runs the checks that come after validation (keys, route
	// table, URL templates) on a spec that failed validation, so one run
	// reports every problem; nil skips it.
	specCheck SpecCheck
	// warns receives warnings: what loads but deserves a look (the spec
	// being validated holds them); nil drops them.
	warns *Problems
	// specRefs are the functionIds of the spec loadSpec last decoded,
	// valid or not.
	specRefs []FunctionRef
	// softProblems counts the structural problems that, unlike a value of
	// the wrong kind, leave the rest of a document worth validating: unknown
	// fields and duplicate keys.
	softProblems int
	// rewritten: resourceForm changed the tree, so the decoder must read
	// the tree rather than the text.
	rewritten bool
	// resourceFiles are the files resources were read from ({"file": ...}
	// entries), for the reload to watch.
	resourceFiles []string
	// unloaded are the paths of {"file": ...} entries whose file did not
	// load: validation has nothing to say about them.
	unloaded map[string]bool
	// clientCAFlag is WithClientCA's file; plainHTTP is WithPlainHTTP.
	clientCAFlag string
	plainHTTP    bool
	// serving is what keygate's settings give a deployment with mutual
	// TLS on, known once the gateway's tls section and options are read;
	// nil in DecodeSpec, which checks a spec as a spec.
	serving *servingFacts
}

// servingFacts are the settings beside a spec that mutual TLS needs.
type servingFacts struct {
	// clientCA: a client CA file is named (loaded or not: a file that does
	// not load is a problem of its own).
	clientCA bool
	// plainHTTP: the listener is known to serve plain HTTP.
	plainHTTP bool
	// secrets are the ids of the gateway file's secrets list (nil when
	// there is no gateway file); specOnly: the spec is served without one
	// (serve --spec), so no secret it names can be found.
	secrets  map[string]bool
	specOnly bool
	// sessionKeys: the gateway file names session keys (sessions.keys),
	// which OAUTH2 policies need.
	sessionKeys bool
}

// SpecCheck checks what a decoded spec's validation does not (key
// material, the route table, URL templates: gateway.CheckSpec). It must
// cope with a spec that failed validation.
type SpecCheck func(spec *Spec, src Source) Problems

// Option tunes LoadGateway and LoadSpecGateway.
type Option func(*checker)

// WithSpecCheck makes a spec that fails validation also go through check,
// whose problems are added unless validation already reported on the same
// value (the same JSON path, or one inside the other).
func WithSpecCheck(check SpecCheck) Option { return func(c *checker) { c.specCheck = check } }

// WithClientCA names the client CA file given on the command line (serve
// --tls-client-ca); it replaces the config file's tls.clientCA. A relative
// path starts at the working directory.
func WithClientCA(file string) Option { return func(c *checker) { c.clientCAFlag = file } }

// WithPlainHTTP says that the listener serves plain HTTP, so a deployment
// with mutual TLS on is a problem: no client certificate can arrive. Without
// it the listener is taken to be unknown (keygate validate) or TLS.
func WithPlainHTTP() Option { return func(c *checker) { c.plainHTTP = true } }

// sub returns a checker for another file with the same options.
func (c *checker) sub(file string) *checker {
	return &checker{file: file, specCheck: c.specCheck, serving: c.serving}
}

// addLater adds problems found by specCheck that validation did not report.
func (c *checker) addLater(later Problems, before int) {
	reported := c.probs[before:]
	for _, p := range later {
		if !overlaps(reported, p) {
			c.probs = append(c.probs, p)
		}
	}
}

// overlaps reports whether a problem in ps concerns p's value: the same file
// and the same path, or one path inside the other.
func overlaps(ps Problems, p Problem) bool {
	for _, q := range ps {
		if q.File == p.File && (within(p.Path, q.Path) || within(q.Path, p.Path)) {
			return true
		}
	}
	return false
}

// within reports whether path is outer or lies inside it.
func within(path, outer string) bool {
	if outer == "" || path == outer {
		return true
	}
	rest, ok := strings.CutPrefix(path, outer)
	return ok && (rest[0] == '.' || rest[0] == '[')
}

// warnf records a warning at path: OCI accepts it, so keygate loads it, but
// it does not do what it seems to.
func (c *checker) warnf(path, format string, args ...any) {
	if c.warns != nil {
		*c.warns = append(*c.warns, Problem{File: c.file, Path: path, Message: fmt.Sprintf(format, args...)})
	}
}

// labelKey names kid in the problems found since before that concern the
// key at path.
func (c *checker) labelKey(before int, path, kid string) {
	for i := before; i < len(c.probs); i++ {
		if within(c.probs[i].Path, path) {
			c.probs[i].Kid = kid
		}
	}
}

func (c *checker) addf(path, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: c.file, Path: path, Message: fmt.Sprintf(format, args...)})
}

// setField is a member of an object and whether the config sets it.
type setField struct {
	name string
	set  bool
}

// unsetFields reports, with msg, each field of p that is set, in order.
func (c *checker) unsetFields(p, msg string, fields []setField) {
	for _, f := range fields {
		if f.set {
			c.addf(at(p, f.name), "%s", msg)
		}
	}
}

// uniqueName reports name, at p, when missing or already in seen (name →
// index of the entry holding it), and otherwise records it for entry i.
// dup is the message for a repeat, formatted with the name and the index
// of the entry that holds it first.
func (c *checker) uniqueName(p, name string, i int, seen map[string]int, missing, dup string) {
	switch j, ok := seen[name]; {
	case name == "":
		c.addf(p, "%s", missing)
	case ok:
		c.addf(p, dup, name, j)
	default:
		seen[name] = i
	}
}

// at joins a JSON path and a member name.
func at(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

// keyPath joins a JSON path and an object key: base.key when the key is a
// plain name (every field name is), base["key"] for any other (a media
// type such as "application/vnd.api+json", whose dots would read as
// nesting), so that a path names one value unambiguously.
func keyPath(base, key string) string {
	if plainName(key) {
		return at(base, key)
	}
	return base + "[" + strconv.Quote(key) + "]"
}

// plainName reports whether key is letters, digits, '_', '-' and '$' only.
func plainName(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$') {
			return false
		}
	}
	return true
}

// idx appends an array index to a JSON path.
func idx(base string, i int) string {
	return fmt.Sprintf("%s[%d]", base, i)
}
