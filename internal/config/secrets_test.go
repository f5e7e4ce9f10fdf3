package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

const stockSpec = `{"routes": [{"path": "/a", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200}}]}`

// gatewayWithSecrets writes a gateway file with one deployment and the
// given secrets list (YAML) into dir and returns its path.
func gatewayWithSecrets(t *testing.T, dir, secrets string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "spec.json"), stockSpec)
	return writeFile(t, filepath.Join(dir, "keygate.yaml"),
		"deployments:\n- pathPrefix: /v1\n  specificationFile: spec.json\n"+secrets)
}

func TestSecretsAreReadFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "client-secret"), "s3cr3t-from-file\n")
	t.Setenv("KEYGATE_TEST_CACHE_PASSWORD", "s3cr3t-from-env")
	file := gatewayWithSecrets(t, dir, `secrets:
- id: ocid1.vaultsecret.oc1..client
  file: client-secret
- id: ocid1.vaultsecret.oc1..cache
  env: KEYGATE_TEST_CACHE_PASSWORD
`)
	g, err := LoadGateway(file)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"ocid1.vaultsecret.oc1..client": "s3cr3t-from-file", // the editor's newline is not the secret's
		"ocid1.vaultsecret.oc1..cache":  "s3cr3t-from-env",
	} {
		v, ok := g.Secret(id)
		if !ok || v.Reveal() != want {
			t.Errorf("Secret(%q) = %q, %v; want %q", id, v.Reveal(), ok, want)
		}
	}
	if _, ok := g.Secret("ocid1.vaultsecret.oc1..other"); ok {
		t.Error("an id not in the list was found")
	}

	// No dump of the configuration shows a value.
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "secret", g.Secrets[0].Value, "all", g.Secrets)
	js, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	for name, dump := range map[string]string{
		"%v": fmt.Sprintf("%v", g.Secrets), "%+v": fmt.Sprintf("%+v", *g), "%#v": fmt.Sprintf("%#v", g.Secrets),
		"json": string(js), "slog": logged.String(),
	} {
		if strings.Contains(dump, "s3cr3t") {
			t.Errorf("%s shows a secret: %s", name, dump)
		}
	}
}

func TestSecretsProblems(t *testing.T) {
	t.Setenv("KEYGATE_TEST_EMPTY", "")
	tests := []struct {
		name, secrets string
		want          []string // path: message fragment
	}{
		{"no id", "secrets:\n- file: s\n", []string{"secrets[0].id: missing"}},
		{"twice", "secrets:\n- {id: a, file: s}\n- {id: a, file: s}\n", []string{`secrets[1].id: "a" is listed twice`}},
		{"both", "secrets:\n- {id: a, file: s, env: HOME}\n", []string{"secrets[0]: both file and env are set"}},
		{"neither", "secrets:\n- {id: a}\n", []string{"secrets[0]: no value; set file"}},
		{"missing file", "secrets:\n- {id: a, file: nope}\n", []string{`secrets[0].file: cannot read "nope"`}},
		{"empty file", "secrets:\n- {id: a, file: empty}\n", []string{`secrets[0].file: "empty" is empty`}},
		{"unset env", "secrets:\n- {id: a, env: KEYGATE_TEST_UNSET_VARIABLE}\n", []string{"secrets[0].env: environment variable KEYGATE_TEST_UNSET_VARIABLE is not set"}},
		{"empty env", "secrets:\n- {id: a, env: KEYGATE_TEST_EMPTY}\n", []string{"secrets[0].env: environment variable KEYGATE_TEST_EMPTY is empty"}},
		{"value in the file", "secrets:\n- {id: a, value: hunter2}\n", []string{"secrets[0].value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "s"), "x")
			writeFile(t, filepath.Join(dir, "empty"), "\n")
			_, err := LoadGateway(gatewayWithSecrets(t, dir, tt.secrets))
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("err = %v; want Problems", err)
			}
			text := probs.Error()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems\n%s\nlack %q", text, w)
				}
			}
		})
	}
}

// A spec naming a secret is checked against the list; the message gives
// the entry to add.
func TestSecretRefs(t *testing.T) {
	tests := []struct {
		name    string
		serving *servingFacts
		want    string // "" for no problem
	}{
		{"listed", &servingFacts{secrets: map[string]bool{"ocid1.a": true}}, ""},
		{"not listed", &servingFacts{secrets: map[string]bool{"ocid1.b": true}},
			`p.clientSecretId: secret "ocid1.a" is not in the gateway file's secrets list; add {id: "ocid1.a", file: PATH}`},
		{"serve --spec", &servingFacts{specOnly: true}, "only a gateway file's secrets list can provide"},
		{"a spec on its own", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{file: "spec.json", serving: tt.serving}
			c.secretRef("p.clientSecretId", "ocid1.a")
			got := ""
			if len(c.probs) > 0 {
				got = c.probs.Error()
			}
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("problems %q; want %q", got, tt.want)
			}
		})
	}
}
