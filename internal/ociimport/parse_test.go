package ociimport

import (
	"reflect"
	"strings"
	"testing"
)

const getOutput = `{
  "data": {
    "compartment-id": "ocid1.compartment.oc1..c",
    "defined-tags": {"Oracle-Tags": {"CreatedBy": "jane"}},
    "display-name": "Orders API",
    "endpoint": "https://x.apigateway.eu-frankfurt-1.oci.customer-oci.com/orders",
    "freeform-tags": {"team-name": "payments"},
    "gateway-id": "ocid1.apigateway.oc1..g",
    "id": "ocid1.apideployment.oc1..d",
    "lifecycle-details": null,
    "lifecycle-state": "ACTIVE",
    "path-prefix": "/orders",
    "specification": {
      "logging-policies": {"access-log": null, "execution-log": {"is-enabled": true, "log-level": "INFO"}},
      "request-policies": {"authentication": null, "cors": null},
      "routes": [{"backend": {"type": "HTTP_BACKEND", "url": "http://127.0.0.1:9000/"}, "methods": ["GET"], "path": "/"}]
    },
    "time-created": "2026-03-02T09:14:55.940000+00:00"
  },
  "etag": "\"abc\""
}`

const convertedSpec = `{"loggingPolicies":{"executionLog":{"isEnabled":true,"logLevel":"INFO"}},` +
	`"routes":[{"backend":{"type":"HTTP_BACKEND","url":"http://127.0.0.1:9000/"},"methods":["GET"],"path":"/"}]}`

func TestParse(t *testing.T) {
	type dep struct {
		Path, PathPrefix, DisplayName, ID string
		Spec                              string // compact JSON; "" when nil
		Dropped                           []string
		Problem                           string // a substring; "" for none
	}
	getDep := dep{Path: "data", PathPrefix: "/orders", DisplayName: "Orders API", ID: "ocid1.apideployment.oc1..d",
		Spec: convertedSpec, Dropped: []string{"compartment-id", "defined-tags", "endpoint", "freeform-tags",
			"gateway-id", "id", "lifecycle-details", "lifecycle-state", "time-created"}}
	listItem := func(i int, name, prefix string, spec bool) string {
		s := `{"display-name":"` + name + `","id":"ocid1.apideployment.oc1..` + name + `","lifecycle-state":"ACTIVE","path-prefix":"` + prefix + `"`
		if spec {
			s += `,"specification":{"routes":[{"path":"/","backend":{"type":"STOCK_RESPONSE_BACKEND","status":204}}]}`
		}
		return s + "}"
	}
	stock := `{"routes":[{"path":"/","backend":{"type":"STOCK_RESPONSE_BACKEND","status":204}}]}`
	tests := []struct {
		name, file, in string
		form           Form
		deps           []dep
		notes          []string
	}{
		{name: "get output", file: "get.json", in: getOutput, form: FormGet, deps: []dep{getDep}},
		{name: "get output, sniffed from stdin", file: "-", in: getOutput, form: FormGet, deps: []dep{getDep}},
		{
			name: "list output: items without a specification say how to get it",
			file: "list.json",
			in:   `{"data":{"items":[` + listItem(0, "a", "/a", true) + `,` + listItem(1, "b", "/b", false) + `]},"opc-next-page":"p2"}`,
			form: FormList,
			deps: []dep{
				{Path: "data.items[0]", PathPrefix: "/a", DisplayName: "a", ID: "ocid1.apideployment.oc1..a", Spec: stock,
					Dropped: []string{"id", "lifecycle-state"}},
				{Path: "data.items[1]", PathPrefix: "/b", DisplayName: "b", ID: "ocid1.apideployment.oc1..b",
					Dropped: []string{"id", "lifecycle-state"},
					Problem: "no specification (oci api-gateway deployment list leaves it out); import the output of oci api-gateway deployment get --deployment-id ocid1.apideployment.oc1..b"},
			},
			notes: []string{"the list has more pages"},
		},
		{
			name: "items alone, as --query data prints them",
			file: "items.json",
			in:   `{"items":[` + listItem(0, "a", "/a", true) + `]}`,
			form: FormList,
			deps: []dep{{Path: "items[0]", PathPrefix: "/a", DisplayName: "a", ID: "ocid1.apideployment.oc1..a", Spec: stock,
				Dropped: []string{"id", "lifecycle-state"}}},
		},
		{
			name: "an array of deployments, and one that is not an object",
			file: "array.json",
			in:   `[` + listItem(0, "a", "/a", true) + `, "x"]`,
			form: FormList,
			deps: []dep{
				{Path: "[0]", PathPrefix: "/a", DisplayName: "a", ID: "ocid1.apideployment.oc1..a", Spec: stock,
					Dropped: []string{"id", "lifecycle-state"}},
				{Path: "[1]", Problem: "want a deployment, got a string"},
			},
		},
		{
			name: "a deployment without the data wrapper, camelCase",
			file: "dep.json",
			in:   `{"pathPrefix":"/a","displayName":"a","specification":` + stock + `}`,
			form: FormDeployment,
			deps: []dep{{PathPrefix: "/a", DisplayName: "a", Spec: stock}},
		},
		{
			name: "a deployment without a path prefix",
			file: "dep.json",
			in:   `{"id":"ocid1.x","specification":` + stock + `}`,
			form: FormDeployment,
			deps: []dep{{ID: "ocid1.x", Dropped: []string{"id"}, Problem: "no path-prefix; import the output of oci api-gateway deployment get --deployment-id ocid1.x"}},
		},
		{
			name: "a specification that is not an object",
			file: "dep.json",
			in:   `{"path-prefix":"/a","specification":"routes: []"}`,
			form: FormDeployment,
			deps: []dep{{PathPrefix: "/a", Problem: "specification: want an object, got a string"}},
		},
		{
			name: "a bare kebab-case specification",
			file: "spec.json",
			in:   `{"request-policies":{"authentication":null},"routes":[]}`,
			form: FormSpec,
			deps: []dep{{Spec: `{"routes":[]}`}},
		},
		{
			name: "a bare YAML specification",
			file: "spec.yaml",
			in:   "routes:\n  - path: /\n    backend:\n      type: STOCK_RESPONSE_BACKEND\n      status: 204\n",
			form: FormSpec,
			deps: []dep{{Spec: `{"routes":[{"backend":{"status":204,"type":"STOCK_RESPONSE_BACKEND"},"path":"/"}]}`}},
		},
		{
			name: "get output as YAML",
			file: "get.yml",
			in:   "data:\n  path-prefix: /y\n  specification:\n    routes: []\n",
			form: FormGet,
			deps: []dep{{Path: "data", PathPrefix: "/y", Spec: `{"routes":[]}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.file, []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if doc.Form != tt.form {
				t.Errorf("form = %v; want %v", doc.Form, tt.form)
			}
			if len(doc.Notes) != len(tt.notes) {
				t.Errorf("notes = %q; want %d like %q", doc.Notes, len(tt.notes), tt.notes)
			}
			for i := range tt.notes {
				if i < len(doc.Notes) && !strings.Contains(doc.Notes[i], tt.notes[i]) {
					t.Errorf("notes[%d] = %q; want it to contain %q", i, doc.Notes[i], tt.notes[i])
				}
			}
			var got []dep
			for _, d := range doc.Deployments {
				g := dep{Path: d.Path, PathPrefix: d.PathPrefix, DisplayName: d.DisplayName, ID: d.ID, Dropped: d.Dropped}
				if d.Spec != nil {
					g.Spec = compact(t, d.Spec)
				}
				g.Problem = d.Problem
				got = append(got, g)
			}
			for i := range tt.deps {
				if i < len(got) && tt.deps[i].Problem != "" && strings.Contains(got[i].Problem, tt.deps[i].Problem) {
					got[i].Problem = tt.deps[i].Problem
				}
			}
			if !reflect.DeepEqual(got, tt.deps) {
				t.Errorf("deployments:\n got %+v\nwant %+v", got, tt.deps)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, in, want string
	}{
		{"empty", "a.json", "  \n", "the document is empty; give the output of oci api-gateway deployment get, or a specification"},
		{"invalid JSON", "a.json", `{"data": {`, "invalid JSON: the document ends early"},
		{"trailing data", "a.json", `{} {}`, "unexpected data after the top-level value"},
		{"invalid YAML", "a.yaml", "data: [\n", "invalid YAML:"},
		{"YAML duplicate key", "a.yaml", "routes: []\nroutes: []\n", "invalid YAML:"},
		{"none of the forms", "a.json", `{"name":"x","kind":"y"}`, "not a deployment, a deployment list or a specification: it has none of data, items, specification, path-prefix or routes (members: name, kind)"},
		{"a string", "a.json", `"routes"`, "want an object (a deployment or a specification) or an array of deployments, got a string"},
		{"data not an object", "a.json", `{"data":"x"}`, "data: want a deployment or a deployment collection, got a string"},
		{"items not an array", "a.json", `{"data":{"items":{}}}`, "data.items: want an array of deployments, got an object"},
		{"empty list", "a.json", `{"data":{"items":[]}}`, "data.items: the list is empty; no deployment to import"},
		{"empty array", "a.json", `[]`, "the document: the list is empty; no deployment to import"},
		{"too deep", "a.json", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper than 64 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}
