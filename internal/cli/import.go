package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/ociimport"
	"github.com/keygate/keygate/internal/serve"
)

const importUsage = `keygate import: turn what OCI exports into a keygate configuration, and check it.

USAGE
  keygate import --out DIR [--listen HOST:PORT] [--path-prefix PREFIX]... [--force] FILE|- ...

Reads the oci CLI's output for API deployments ("oci api-gateway deployment
get", or "list" when its items carry their specification), or bare API
deployment specifications, kebab-case or camelCase, JSON or YAML; - reads
stdin. Writes DIR/gateway.yaml and one spec file per deployment,
DIR/NAME.json, named after its display-name or path prefix, with the OCI
API's camelCase JSON names. Only keys are converted, never values; the
deployment's ids, compartment, tags, lifecycle and endpoint are dropped and
listed. A bare specification has no path prefix: give --path-prefix for
each, in the order they are given. Existing files are never overwritten
without --force.

Then it loads DIR/gateway.yaml as serve does and reports what was converted
and, as keygate validate does, every problem with its file and JSON path.
Exit 0 when the configuration is valid; 1 with the problems (the files are
written all the same, to be edited); 2 on usage errors.

EXAMPLES
  oci api-gateway deployment get --deployment-id ocid1.apideployment.oc1..xxx > deployment.json
  keygate import --out gw deployment.json && keygate serve --config gw/gateway.yaml
  oci api-gateway deployment get --deployment-id ocid1.apideployment.oc1..xxx | keygate import --out gw -
  keygate import --out gw orders.json payments.yaml
  keygate import --out gw --path-prefix /test3 spec.json
  keygate import --out gw --force --listen 0.0.0.0:8080 deployment.json
`

// maxImportBytes bounds one input: the loader's limit for a spec file, as
// an exported deployment is its spec plus a few hundred bytes.
const maxImportBytes = 4 << 20

// imported is one deployment on its way to DIR: where it came from and
// where it goes.
type imported struct {
	source string // the input as the user named it ("stdin" for -)
	form   ociimport.Form
	ociimport.Deployment
	file string // the spec file written, DIR/NAME.json
}

func runImport(e *env, args []string) int {
	fs := newFlags("import")
	out := fs.String("out", "", "write gateway.yaml and the spec files into `DIR` (created if missing)")
	listen := fs.String("listen", config.DefaultListen, "the `host:port` gateway.yaml listens on")
	var prefixes stringList
	fs.Var(&prefixes, "path-prefix", "the path `prefix` of a bare specification, e.g. /test3; once per bare\nspecification, in order")
	force := fs.Bool("force", false, "overwrite files that exist in DIR")
	if code, ok := parseFlags(e, fs, importUsage, args); !ok {
		return code
	}
	if problem := checkImportArgs(*out, fs.Args()); problem != "" {
		return usageError(e, fs.Name(), problem)
	}

	deps, failed := readImports(e, fs.Args())
	if failed {
		return exitFail
	}
	if problem := assignPrefixes(deps, prefixes); problem != "" {
		return usageError(e, fs.Name(), problem)
	}
	var ready []imported
	skipped := 0
	for _, d := range deps {
		if d.Problem != "" {
			skipped++
			fmt.Fprintf(e.stderr, "%s: %s\n", fs.Name(), strings.Join(nonEmpty(d.source, d.Path, "not imported: "+d.Problem), ": "))
			continue
		}
		ready = append(ready, d)
	}
	if len(ready) == 0 {
		fmt.Fprintf(e.stderr, "%s: no deployment to import; nothing written\n", fs.Name())
		return exitFail
	}

	gatewayFile, err := writeImport(*out, *listen, ready, *force)
	if err != nil {
		return failure(e, fs.Name(), err)
	}
	reportImport(e.stdout, ready, gatewayFile, *listen)

	// Checked as keygate validate --config checks it, so the report is word
	// for word what validate and serve will say.
	cfg, g, err := serve.Source{ConfigFile: gatewayFile}.Load(gateway.Options{Logger: slog.New(slog.DiscardHandler), DisableAccessLog: true})
	if err != nil {
		printProblems(e.stderr, fs.Name(), err)
		fmt.Fprintf(e.stderr, "the files are written: edit them, then check again with keygate validate --config %s\n", gatewayFile)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "\nconfiguration is valid: listen %s, %d deployment(s), version %s\n",
		cfg.Listen, len(cfg.Deployments), serve.Version(cfg))
	printFunctions(e.stdout, cfg.Functions)
	for _, d := range g.Summary() {
		printDeployment(e.stdout, d)
	}
	if skipped > 0 {
		fmt.Fprintf(e.stderr, "%s: %d deployment(s) not imported, named above\n", fs.Name(), skipped)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "\nnext: keygate serve --config %s\n", gatewayFile)
	return exitOK
}

// checkImportArgs returns a usage problem with --out and the inputs, or "".
func checkImportArgs(out string, inputs []string) string {
	stdin := 0
	for _, in := range inputs {
		if in == "-" {
			stdin++
		}
	}
	switch {
	case len(inputs) == 0:
		return "give one or more FILEs (oci api-gateway deployment get output, or a specification), or - for stdin"
	case out == "":
		return "give --out DIR: gateway.yaml and the spec files are written there"
	case out == "-":
		return "--out - : the import writes several files; give a directory"
	case stdin > 1:
		return "- is given more than once; stdin can be read once"
	}
	return ""
}

// readImports reads and converts every input, reporting every file that
// cannot be read at once; any such file fails the import before anything
// is written.
func readImports(e *env, inputs []string) ([]imported, bool) {
	var deps []imported
	failed := false
	for _, name := range inputs {
		source := inputName(name)
		data, err := readImportInput(e, name)
		if err == nil {
			var doc *ociimport.Document
			if doc, err = ociimport.Parse(name, data); err == nil {
				for _, note := range doc.Notes {
					fmt.Fprintf(e.stderr, "keygate import: %s: %s\n", source, note)
				}
				for _, d := range doc.Deployments {
					deps = append(deps, imported{source: source, form: doc.Form, Deployment: d})
				}
				continue
			}
		}
		fmt.Fprintf(e.stderr, "keygate import: %s: %v\n", source, err)
		failed = true
	}
	return deps, failed
}

// readImportInput reads a file, or stdin for "-", up to maxImportBytes.
func readImportInput(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, errors.New("file does not exist; check the path")
			}
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportBytes {
		return nil, fmt.Errorf("more than %d MiB; this is not one deployment's output", maxImportBytes>>20)
	}
	return data, nil
}

// assignPrefixes gives each bare specification its --path-prefix, in order,
// and returns a usage problem when the counts do not match.
func assignPrefixes(deps []imported, prefixes []string) string {
	var bare []string
	for _, d := range deps {
		if d.form == ociimport.FormSpec {
			bare = append(bare, d.source)
		}
	}
	switch {
	case len(bare) == 0 && len(prefixes) > 0:
		return "--path-prefix is for bare specifications; every input here gives its deployment's path-prefix"
	case len(bare) > len(prefixes):
		return fmt.Sprintf("%s is a bare specification, which has no path prefix: give --path-prefix PREFIX for it (once per bare specification, in order)", bare[len(prefixes)])
	case len(bare) < len(prefixes):
		return fmt.Sprintf("--path-prefix is given %d times for %d bare specification(s) (%s); give one per bare specification", len(prefixes), len(bare), strings.Join(bare, ", "))
	}
	next := 0
	for i := range deps {
		if deps[i].form == ociimport.FormSpec {
			deps[i].PathPrefix = prefixes[next]
			next++
		}
	}
	return ""
}

// writeImport writes the spec files and gateway.yaml into dir and returns
// gateway.yaml's path. Without force it checks first that none of them
// exists, so a refused import leaves nothing behind.
func writeImport(dir, listen string, deps []imported, force bool) (string, error) {
	plain := make([]ociimport.Deployment, len(deps))
	for i, d := range deps {
		plain[i] = d.Deployment
	}
	names := ociimport.FileNames(plain)
	gatewayFile := filepath.Join(dir, "gateway.yaml")
	targets := []string{gatewayFile}
	for i, name := range names {
		deps[i].file = filepath.Join(dir, name)
		targets = append(targets, deps[i].file)
	}
	if !force {
		for _, t := range targets {
			if _, err := os.Lstat(t); err == nil {
				return "", fmt.Errorf("%s exists; keep it, pick another --out, or overwrite it with --force", t)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	entries := make([]ociimport.Entry, len(deps))
	for i, d := range deps {
		spec, err := ociimport.Encode(d.Spec)
		if err != nil {
			return "", fmt.Errorf("%s: %w", d.source, err)
		}
		if err := writeKeyFile(d.file, spec, 0o644, force); err != nil {
			return "", err
		}
		entries[i] = ociimport.Entry{PathPrefix: d.PathPrefix, SpecificationFile: names[i], Comment: origin(d)}
	}
	if err := writeKeyFile(gatewayFile, ociimport.GatewayYAML(listen, entries), 0o644, force); err != nil {
		return "", err
	}
	return gatewayFile, nil
}

// origin names where a deployment came from, for gateway.yaml and the
// report: the input, its place in it, and its display-name.
func origin(d imported) string {
	s := strings.Join(nonEmpty(d.source, d.Path), " ")
	if d.DisplayName != "" {
		s += fmt.Sprintf(" (display-name %q)", d.DisplayName)
	}
	return "from " + s
}

func reportImport(w io.Writer, deps []imported, gatewayFile, listen string) {
	last := ""
	var functions []string
	for _, d := range deps {
		if d.source != last {
			fmt.Fprintf(w, "%s: %s\n", d.source, d.form)
			last = d.source
		}
		what := d.PathPrefix
		switch {
		case d.form == ociimport.FormSpec:
			what += " (--path-prefix)"
		case d.DisplayName != "":
			what += fmt.Sprintf(", display-name %q", d.DisplayName)
		}
		if d.Path != "" {
			what = d.Path + ": " + what
		}
		fmt.Fprintf(w, "  %s -> %s\n", what, d.file)
		fmt.Fprintf(w, "    %s\n", describeConversion(d.Stats))
		if len(d.Dropped) > 0 {
			fmt.Fprintf(w, "    dropped, not part of the specification: %s\n", strings.Join(d.Dropped, ", "))
		}
		if ids := importedFunctionIDs(d.file); len(ids) > 0 {
			fmt.Fprintf(w, "    functions it names: %s\n", strings.Join(ids, ", "))
			functions = append(functions, ids...)
		}
	}
	fmt.Fprintf(w, "wrote %s: listen %s, %d deployment(s)\n", gatewayFile, listen, len(deps))
	if len(functions) > 0 {
		slices.Sort(functions)
		functions = slices.Compact(functions)
		fmt.Fprintf(w, "functions to map in %s (functions: entries with each id and its url: or listener:, README \"Functions\"): %s\n",
			gatewayFile, strings.Join(functions, ", "))
	}
}

// importedFunctionIDs lists the distinct functionIds the spec file names.
func importedFunctionIDs(file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	refs, err := config.FindFunctionRefs(file, data)
	if err != nil {
		return nil
	}
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func describeConversion(st ociimport.Stats) string {
	var parts []string
	if st.Converted == 0 {
		parts = append(parts, "keys already in the OCI API's camelCase: none converted")
	} else {
		parts = append(parts, fmt.Sprintf("converted %d key(s) from kebab-case to the OCI API's camelCase", st.Converted))
	}
	if st.Unset > 0 {
		parts = append(parts, fmt.Sprintf("left out %d unset (null) field(s)", st.Unset))
	}
	return strings.Join(parts, "; ")
}

// nonEmpty returns the non-empty strings of parts, in order.
func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
