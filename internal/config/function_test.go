package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFunctionsValidation(t *testing.T) {
	dir := t.TempDir()
	spec := `{"routes": [
	  {"path": "/a", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "ocid1.fnfunc.oc1..known"}},
	  {"path": "/b", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "ocid1.fnfunc.oc1..missing"}},
	  {"path": "/c", "backend": {"type": "DYNAMIC_ROUTING_BACKEND",
	    "selectionSource": {"type": "SINGLE", "selector": "request.query[v]"},
	    "routingBackends": [{"key": {"type": "ANY_OF", "name": "x", "values": ["x"]},
	      "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "routed-missing"}}]}},
	  {"path": "/d", "backend": {"type": "HTTP_BACKEND", "url": "http://d.example.com", "functionId": "misplaced"}}],
	  "requestPolicies": {"dynamicAuthentication": {"authenticationServers": [
	    {"authenticationServerDetail": {"type": "CUSTOM_AUTHENTICATION", "functionId": "authz-missing"}}]}}}`
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := `functions:
  - id: ocid1.fnfunc.oc1..known
    listener: unix:fn/lsnr.sock
    command: [node, func.js]
    dir: fn
  - id: ocid1.fnfunc.oc1..known
    url: http://127.0.0.1:9000
  - id: both
    url: http://127.0.0.1:9000
    listener: unix:/tmp/x.sock
  - id: neither
  - id: badurl
    url: ftp://x
  - id: badlistener
    listener: /tmp/x.sock
  - id: samesocket
    listener: unix:fn/lsnr.sock
  - id: cmdurl
    url: http://127.0.0.1:9000
    command: [node]
    env: {FN_LISTENER: x, "bad name": "yy"}
  - id: timeout
    url: http://127.0.0.1:9000
    timeoutMillis: 300001
  - id: longsocket
    listener: unix:/tmp/` + strings.Repeat("d", 120) + `/lsnr.sock
  - id: ""
    url: https://fn.example.com/invoke
deployments:
  - pathPrefix: /v1
    specificationFile: spec.json
`
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(gw), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadGateway(path)
	if err == nil {
		t.Fatal("loaded")
	}
	got := err.Error()
	for _, want := range []string{
		`functions[1].id: "ocid1.fnfunc.oc1..known" is already functions[0]`,
		`functions[2]: both url and listener are set; keep one`,
		`functions[3]: no url or listener`,
		`functions[4].url: scheme "ftp" is not http or https`,
		`functions[5].listener: "/tmp/x.sock" is not unix:/path/to/lsnr.sock`,
		`functions[6].listener: "unix:` + dir + `/fn/lsnr.sock" is already the listener of functions[0]`,
		`functions[7].command: needs a listener`,
		`functions[7].env.FN_LISTENER: set by keygate from listener; remove it`,
		`functions[7].env["bad name"]: "bad name" is not an environment variable name`,
		`functions[8].timeoutMillis: 300001 is not from 0 to 300000 milliseconds`,
		`functions[9].listener: the socket path`,
		`functions[10].id: missing`,
		`spec.json: routes[1].backend.functionId: function "ocid1.fnfunc.oc1..missing" is not in keygate's function registry; add to the gateway file a functions: entry with id: "ocid1.fnfunc.oc1..missing"`,
		`spec.json: routes[2].backend.routingBackends[0].backend.functionId: function "routed-missing" is not in keygate's function registry`,
		`spec.json: routes[3].backend.functionId: only for ORACLE_FUNCTIONS_BACKEND; remove it`,
		// The spec has other problems (an incomplete dynamicAuthentication):
		// the unmapped functions are reported all the same, those of its
		// authentication servers too.
		`spec.json: requestPolicies.dynamicAuthentication.selectionSource: missing`,
		`spec.json: requestPolicies.dynamicAuthentication.authenticationServers[0].authenticationServerDetail.functionId: function "authz-missing" is not in keygate's function registry`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no problem %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"ocid1.fnfunc.oc1..known" is not in`) || strings.Contains(got, `"misplaced" is not in`) {
		t.Errorf("a registered function reported missing:\n%s", got)
	}
}

func TestFunctionsLoaded(t *testing.T) {
	dir := t.TempDir()
	spec := `{"routes": [{"path": "/a", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "fn"}}]}`
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := "functions:\n  - id: fn\n    listener: unix:run/fn.sock\n    command: [node, func.js]\n  - id: plain\n    url: http://127.0.0.1:9000\ndeployments:\n  - pathPrefix: /v1\n    specificationFile: spec.json\n"
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(gw), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := LoadGateway(path)
	if err != nil {
		t.Fatal(err)
	}
	f := g.Functions[0]
	if f.Listener != "unix:"+dir+"/run/fn.sock" || f.SocketPath() != dir+"/run/fn.sock" || f.Dir != dir || f.TimeoutMillis != DefaultFunctionTimeoutMillis {
		t.Errorf("function %+v: want the listener and dir made absolute, the default timeout", f)
	}
	if ids := g.Deployments[0].Specification.FunctionIDs(); len(ids) != 1 || ids[0] != "fn" {
		t.Errorf("FunctionIDs = %q", ids)
	}
	if _, err := LoadSpecGateway(filepath.Join(dir, "spec.json"), "/v1", ""); err == nil || !strings.Contains(err.Error(), "a spec served alone has no function registry") {
		t.Errorf("a spec with a function served alone: %v", err)
	}
}

func TestFunctionRefsFindRawPolicies(t *testing.T) {
	s := &Spec{RequestPolicies: &DeploymentRequestPolicies{DynamicAuthentication: &DynamicAuthentication{
		AuthenticationServers: []AuthenticationServer{{AuthenticationServerDetail: &Authentication{Type: AuthenticationCustom, FunctionId: "authz"}}}}},
		Routes: []Route{{Path: "/", Backend: Backend{Type: BackendFunction, FunctionID: "backend"}}}}
	refs := s.FunctionRefs()
	want := []FunctionRef{
		{Path: "requestPolicies.dynamicAuthentication.authenticationServers[0].authenticationServerDetail.functionId", ID: "authz"},
		{Path: "routes[0].backend.functionId", ID: "backend"},
	}
	if len(refs) != len(want) {
		t.Fatalf("refs %+v, want %+v", refs, want)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Errorf("ref %d = %+v, want %+v", i, refs[i], want[i])
		}
	}
}
