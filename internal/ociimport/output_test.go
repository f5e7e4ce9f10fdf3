package ociimport

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestFileNames(t *testing.T) {
	tests := []struct {
		name string
		in   []Deployment
		want []string
	}{
		{
			name: "display name, else prefix",
			in:   []Deployment{{DisplayName: "Orders API (prod)", PathPrefix: "/orders"}, {PathPrefix: "/v1/payments"}},
			want: []string{"orders-api-prod.json", "v1-payments.json"},
		},
		{
			name: "unique",
			in:   []Deployment{{DisplayName: "orders"}, {DisplayName: "Orders"}, {PathPrefix: "/orders"}, {DisplayName: "orders-2"}},
			want: []string{"orders.json", "orders-2.json", "orders-3.json", "orders-2-2.json"},
		},
		{
			name: "nothing usable",
			in:   []Deployment{{PathPrefix: "/"}, {DisplayName: "..", PathPrefix: "/"}, {DisplayName: "日本"}},
			want: []string{"deployment.json", "deployment-2.json", "deployment-3.json"},
		},
		{
			name: "never leaves the directory, never hidden",
			in:   []Deployment{{DisplayName: "../../etc/passwd"}, {DisplayName: ".hidden"}, {DisplayName: `a\b:c`}},
			want: []string{"etc-passwd.json", "hidden.json", "a-b-c.json"},
		},
		{
			name: "long names are cut",
			in:   []Deployment{{DisplayName: strings.Repeat("ab", 100)}},
			want: []string{strings.Repeat("ab", 32) + ".json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FileNames(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FileNames = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestGatewayYAML(t *testing.T) {
	got := string(GatewayYAML("127.0.0.1:8080", []Entry{
		{PathPrefix: "/orders", SpecificationFile: "orders.json", Comment: `from get.json data (display-name "Orders")`},
		{PathPrefix: "/b", SpecificationFile: "b.json"},
	}))
	want := `# keygate configuration written by keygate import.
listen: "127.0.0.1:8080"
deployments:
  # from get.json data (display-name "Orders")
  - pathPrefix: /orders
    specificationFile: orders.json
  - pathPrefix: /b
    specificationFile: b.json
`
	if got != want {
		t.Errorf("GatewayYAML:\n%s\nwant:\n%s", got, want)
	}
}

// TestGatewayYAMLValues checks that whatever a deployment's prefix or
// display name holds, the file reads back as exactly the values written.
func TestGatewayYAMLValues(t *testing.T) {
	type deployment struct {
		PathPrefix        string `json:"pathPrefix"`
		SpecificationFile string `json:"specificationFile"`
	}
	type gatewayFile struct {
		Listen      string       `json:"listen"`
		Deployments []deployment `json:"deployments"`
	}
	tests := []struct{ name, listen, prefix, comment string }{
		{"plain", "0.0.0.0:80", "/a/b-c_d.e~f", "from x"},
		{"YAML syntax in the prefix", ":8080", "/a: b # c", "x\ny: 1"},
		{"quotes and escapes", "[::1]:8080", `/"a"\b`, "\u2028- pathPrefix: /evil\u0085z"},
		{"not a path", "true", "yes", "---"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := GatewayYAML(tt.listen, []Entry{{PathPrefix: tt.prefix, SpecificationFile: "a.json", Comment: tt.comment}})
			var got gatewayFile
			if err := yaml.UnmarshalStrict(data, &got); err != nil {
				t.Fatalf("the file does not read back: %v\n%s", err, data)
			}
			want := gatewayFile{Listen: tt.listen, Deployments: []deployment{{PathPrefix: tt.prefix, SpecificationFile: "a.json"}}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back %+v; want %+v\n%s", got, want, data)
			}
		})
	}
}
