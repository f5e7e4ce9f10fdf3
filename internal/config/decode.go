package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxFileSize bounds what is read from one file; a real specification is a
// few kilobytes, and the limit keeps hostile input from exhausting memory.
const maxFileSize = 4 << 20

var errTooLarge = errors.New("file is larger than 4 MiB")

// LoadGateway reads keygate's gateway file (YAML or JSON) and every
// specification it names, applies defaults and validates. On failure it
// returns Problems holding everything that is wrong.
func LoadGateway(path string, opts ...Option) (*Gateway, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, Problems{{File: path, Message: readMessage("", err)}}
	}
	c := newChecker(path, opts)
	var g Gateway
	if !c.decodeInto(data, &g) {
		return nil, c.probs
	}
	g.ResourceFiles = c.resourceFiles
	c.clientCA(&g, filepath.Dir(path))
	c.secrets(&g, filepath.Dir(path))
	c.sessions(&g)
	c.gateway(&g, filepath.Dir(path))
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	applyGatewayDefaults(&g)
	return &g, nil
}

// LoadSpecGateway builds a one-deployment gateway from a specification file,
// a path prefix and a listen address ("" for the default), as
// `keygate serve --spec F --path-prefix P --listen A` does; its client CA
// can only come from WithClientCA.
func LoadSpecGateway(specPath, pathPrefix, listen string, opts ...Option) (*Gateway, error) {
	// Problems with the flags are named by the flags.
	c := newChecker("", opts)
	c.listen("--listen", listen)
	c.pathPrefix("--path-prefix", pathPrefix)
	g := Gateway{Listen: listen, Deployments: []Deployment{{PathPrefix: pathPrefix, SpecificationFile: specPath,
		Source: Source{File: specPath}}}}
	c.clientCA(&g, "")
	c.serving.specOnly = true
	if data, err := readFile(specPath); err != nil {
		c.probs = append(c.probs, Problem{File: specPath, Message: readMessage("", err)})
	} else {
		sub := c.sub(specPath)
		g.Deployments[0].Specification = sub.loadSpec(data)
		c.probs = append(c.probs, sub.probs...)
		for _, ref := range sub.specRefs {
			c.probs = append(c.probs, Problem{File: specPath, Path: ref.Path, Message: fmt.Sprintf(
				"function %q: a spec served alone has no function registry; serve it from a gateway file (--config) whose functions: list has an entry with id: %q", ref.ID, ref.ID)})
		}
	}
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	applyGatewayDefaults(&g)
	return &g, nil
}

// DecodeSpec decodes one specification (YAML or JSON), validates it and
// applies defaults. file names the source in problems; a ".json", ".yaml" or
// ".yml" extension fixes the format, otherwise it is sniffed.
func DecodeSpec(file string, data []byte) (*Spec, error) {
	c := &checker{file: file}
	spec := c.loadSpec(data)
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	return spec, nil
}

// loadSpec decodes, validates and defaults one spec file's text.
func (c *checker) loadSpec(data []byte) *Spec {
	var s Spec
	before := len(c.probs)
	c.specRefs = nil
	if !c.decodeInto(data, &s) {
		return nil
	}
	// Taken before validation, so that a spec with other problems also
	// has its unmapped functions reported.
	c.specRefs = s.FunctionRefs()
	if !c.validSpec("", &s, before) {
		return nil
	}
	applySpecDefaults(&s)
	return &s
}

// validSpec validates s (at JSON path p of c's file) and reports whether it
// is valid. An invalid spec also goes through specCheck, so that the
// problems only compiling finds are reported in the same run.
func (c *checker) validSpec(p string, s *Spec, before int) bool {
	c.spec(p, s)
	if len(c.probs) == before {
		return true
	}
	if c.specCheck != nil {
		c.addLater(c.specCheck(s, Source{File: c.file, Path: p}), before)
	}
	return false
}

func newChecker(file string, opts []Option) *checker {
	c := &checker{file: file}
	for _, o := range opts {
		o(c)
	}
	return c
}

// decodeInto decodes data into v (a pointer to struct) and reports every
// structural problem: syntax, duplicate or unknown keys, values of the wrong
// kind. It returns whether v is worth validating: true also when the only
// structural problems were unknown fields and duplicate keys (the last of
// which is decoded), so that one run reports those and the validation
// problems together. Callers treat any problem as failure.
func (c *checker) decodeInto(data []byte, v any) bool {
	if len(data) > maxFileSize {
		c.addf("", "%s; split it or remove what is not needed", errTooLarge)
		return false
	}
	js, yamlDuplicates, err := toJSON(c.file, data)
	if err != nil {
		c.addf("", "%s", err)
		return false
	}
	for _, p := range yamlDuplicates {
		c.duplicateKey(p)
	}
	tree, err := parseTree(js)
	if err != nil {
		c.addf("", "%s", err)
		return false
	}
	if tree.kind == kindNull {
		c.addf("", "the document is empty; give an object")
		return false
	}
	before, softBefore := len(c.probs), c.softProblems
	c.strict("", tree, reflect.TypeOf(v).Elem())
	clean := len(c.probs) == before
	if len(c.probs)-before != c.softProblems-softBefore {
		return false // a value of the wrong kind: validating the rest would mislead
	}
	if !clean || c.rewritten {
		// Without the duplicates the walk skipped; resources in the form
		// the walk rewrote them to.
		js = tree.appendJSON(nil)
	}
	if err := json.Unmarshal(js, v); err != nil {
		if clean {
			// The strict walk should have caught this; report rather than hide it.
			c.addf("", "cannot decode: %s", err)
		}
		return false
	}
	return true
}

// toJSON returns data as JSON, converting YAML. YAML keeps the last of
// duplicate keys in conversion, so they are found beforehand: their JSON
// paths come back in duplicates.
func toJSON(file string, data []byte) (js []byte, duplicates []string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	switch strings.ToLower(filepath.Ext(file)) {
	case ".json":
		return data, nil, nil
	case ".yaml", ".yml":
	default:
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			return data, nil, nil
		}
	}
	js, err = yaml.YAMLToJSONStrict(data)
	if err == nil {
		return js, nil, nil
	}
	// The strict converter refuses duplicate keys, naming lines; the lenient
	// one keeps the last, like the JSON path, so the rest of the file can be
	// checked in the same run.
	if lenient, lerr := yaml.YAMLToJSON(data); lerr == nil {
		if duplicates = yamlDuplicateKeys(data); len(duplicates) > 0 {
			return lenient, duplicates, nil
		}
	}
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.Join(strings.Fields(msg), " ") // one problem, one line
	return nil, nil, fmt.Errorf("invalid YAML: %s; fix the syntax", msg)
}

// readFile reads at most maxFileSize bytes of a regular file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, errTooLarge
	}
	return data, nil
}

// readMessage words a read failure; name is the file as the user wrote it,
// or "" when the problem already carries the file.
func readMessage(name string, err error) string {
	what := "cannot read file"
	if name != "" {
		what = fmt.Sprintf("cannot read %q", name)
	}
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist) && name == "":
		return what + ": file does not exist; check the path"
	case errors.Is(err, fs.ErrNotExist):
		return what + ": file does not exist; check the path (a relative path starts at the gateway file's directory)"
	case errors.Is(err, errTooLarge):
		return what + ": " + errTooLarge.Error() + "; split it or remove what is not needed"
	case errors.As(err, &pe):
		return what + ": " + pe.Err.Error()
	default:
		return what + ": " + err.Error()
	}
}
