package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportExitCodes pins the three outcomes scripts tell apart: 0 the
// configuration validates, 1 it was written but has problems (or nothing
// could be imported), 2 the command line is wrong.
func TestImportExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	stock := `{"routes":[{"path":"/","backend":{"type":"STOCK_RESPONSE_BACKEND","status":204}}]}`
	get := write("get.json", `{"data":{"path-prefix":"/a","display-name":"a","specification":`+stock+`}}`)
	bare := write("bare.json", stock)
	unsupported := write("unsupported.json", `{"data":{"path-prefix":"/c","specification":{"routes":[{"path":"/ws","backend":{"type":"WEBSOCKET_PROXY_BACKEND","url":"ws://127.0.0.1:1"}}]}}}`)
	summary := write("summary.json", `{"data":{"items":[{"path-prefix":"/a","id":"ocid1.apideployment.oc1..a"}]}}`)
	tests := []struct {
		name   string
		args   []string
		stdin  string
		want   int
		stderr string
	}{
		{"valid", []string{"--out", "ok", get}, "", exitOK, ""},
		{"valid from stdin", []string{"--out", "stdin", "-"}, `{"data":{"path-prefix":"/s","specification":` + stock + `}}`, exitOK, ""},
		{"bare with its prefix", []string{"--out", "bare", "--path-prefix", "/b", bare}, "", exitOK, ""},
		{"not supported yet", []string{"--out", "unsupported", unsupported}, "", exitFail, "routes[0].backend.type: WEBSOCKET_PROXY_BACKEND is not supported yet by keygate"},
		{"no specification in the list", []string{"--out", "summary", summary}, "", exitFail, "no deployment to import; nothing written"},
		{"missing file", []string{"--out", "missing", filepath.Join(dir, "nope.json")}, "", exitFail, "file does not exist"},
		// "valid" wrote ok/ above.
		{"exists", []string{"--out", "ok", get}, "", exitFail, "exists; keep it, pick another --out, or overwrite it with --force"},
		{"exists, --force", []string{"--out", "ok", "--force", get}, "", exitOK, ""},
		{"no input", []string{"--out", "x"}, "", exitUsage, "give one or more FILEs"},
		{"no --out", []string{get}, "", exitUsage, "give --out DIR"},
		{"bare without a prefix", []string{"--out", "x", bare}, "", exitUsage, "bare.json is a bare specification, which has no path prefix"},
		{"prefix without a bare spec", []string{"--out", "x", "--path-prefix", "/p", get}, "", exitUsage, "--path-prefix is for bare specifications"},
		{"unknown flag", []string{"--out", "x", "--nope", get}, "", exitUsage, "unknown flag --nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"import"}, tt.args...)
			for i, a := range args {
				if i > 0 && args[i-1] == "--out" {
					args[i] = filepath.Join(dir, a)
				}
			}
			var stdout, stderr bytes.Buffer
			got := Main(args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", got, tt.want, stdout.String(), stderr.String())
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tt.stderr)
			}
			if tt.want == exitOK && stderr.Len() > 0 {
				t.Errorf("stderr on success:\n%s", stderr.String())
			}
		})
	}
}

// TestImportListsFunctions: import names every functionId the specs use
// (backends, also routed ones), which the written gateway.yaml must map.
func TestImportListsFunctions(t *testing.T) {
	dir := t.TempDir()
	spec := `{"data":{"path-prefix":"/f","specification":{"routes":[
	  {"path":"/a","backend":{"type":"ORACLE_FUNCTIONS_BACKEND","function-id":"ocid1.fnfunc.oc1.phx.aaa"}},
	  {"path":"/b","backend":{"type":"DYNAMIC_ROUTING_BACKEND",
	    "selection-source":{"type":"SINGLE","selector":"request.query[v]"},
	    "routing-backends":[{"key":{"type":"ANY_OF","name":"x","values":["x"]},
	      "backend":{"type":"ORACLE_FUNCTIONS_BACKEND","function-id":"ocid1.fnfunc.oc1.phx.bbb"}}]}}]}}}`
	in := filepath.Join(dir, "get.json")
	if err := os.WriteFile(in, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main([]string{"import", "--out", filepath.Join(dir, "gw"), in}, strings.NewReader(""), &stdout, &stderr)
	if code != exitFail {
		t.Errorf("exit %d, want 1: the functions are not mapped yet", code)
	}
	for _, want := range []string{"functions it names: ocid1.fnfunc.oc1.phx.aaa, ocid1.fnfunc.oc1.phx.bbb",
		"functions to map in " + filepath.Join(dir, "gw", "gateway.yaml")} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout has no %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), `function "ocid1.fnfunc.oc1.phx.aaa" is not in keygate's function registry`) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
