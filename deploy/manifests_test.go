// Package deploy holds keygate's deployment files; its test checks that the
// Kubernetes manifests, the container image and the systemd unit agree with
// the flags keygate has, and that the ConfigMap's configuration is valid.
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
)

// manifest is a decoded Kubernetes object.
type manifest map[string]any

func load(t *testing.T, name string) manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// get walks a path of map keys and list indexes ("spec", "template", 0...).
func (m manifest) get(t *testing.T, path ...any) any {
	t.Helper()
	var cur any = map[string]any(m)
	for _, p := range path {
		switch key := p.(type) {
		case string:
			obj, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: %q is not in an object", path, key)
			}
			cur = obj[key]
		case int:
			list, ok := cur.([]any)
			if !ok || key >= len(list) {
				t.Fatalf("%v: no element %d", path, key)
			}
			cur = list[key]
		}
	}
	return cur
}

// flagValue returns the value of --name=value in args.
func flagValue(args []any, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a.(string), "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func TestDeployment(t *testing.T) {
	d := load(t, "deployment.yaml")
	if got := d.get(t, "spec", "replicas"); got != float64(3) {
		t.Errorf("replicas = %v, want 3", got)
	}
	c := manifest(d.get(t, "spec", "template", "spec", "containers", 0).(map[string]any))
	args := c.get(t, "args").([]any)
	if args[0] != "serve" {
		t.Fatalf("args[0] = %v, want serve", args[0])
	}
	admin := flagValue(args, "admin")
	listen := flagValue(args, "listen")
	if !strings.HasSuffix(admin, ":9901") || !strings.HasSuffix(listen, ":8080") {
		t.Fatalf("--admin %q / --listen %q, want ports 9901 / 8080", admin, listen)
	}
	ports := map[string]float64{}
	for _, p := range c.get(t, "ports").([]any) {
		pm := p.(map[string]any)
		ports[pm["name"].(string)] = pm["containerPort"].(float64)
	}
	if ports["admin"] != 9901 || ports["http"] != 8080 {
		t.Errorf("container ports = %v, want admin 9901 and http 8080 as the flags say", ports)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := c.get(t, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path = %v, want %s", probe, got, path)
		}
		if got := c.get(t, probe, "httpGet", "port"); got != "admin" {
			t.Errorf("%s port = %v, want the admin port", probe, got)
		}
	}
	if c.get(t, "resources", "requests", "cpu") == nil || c.get(t, "resources", "requests", "memory") == nil {
		t.Error("no resource requests")
	}
	if got := c.get(t, "securityContext", "readOnlyRootFilesystem"); got != true {
		t.Error("the root filesystem is not read-only")
	}
	if got := c.get(t, "securityContext", "allowPrivilegeEscalation"); got != false {
		t.Error("privilege escalation is allowed")
	}
	if got := d.get(t, "spec", "template", "spec", "securityContext", "runAsNonRoot"); got != true {
		t.Error("the pod may run as root")
	}
	// The ConfigMap must be mounted as a directory: a subPath mount never
	// sees updates, and hot reload would never happen.
	mount := manifest(c.get(t, "volumeMounts", 0).(map[string]any))
	if mount["subPath"] != nil {
		t.Error("the config volume uses subPath; updates would not reach the pod")
	}
	if dir := mount.get(t, "mountPath").(string); filepath.Dir(flagValue(args, "config")) != dir {
		t.Errorf("--config %q is not in the mounted directory %q", flagValue(args, "config"), dir)
	}
}

func TestConfigMapHoldsAValidConfiguration(t *testing.T) {
	cm := load(t, "configmap.yaml")
	dir := t.TempDir()
	for name, content := range cm.get(t, "data").(map[string]any) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content.(string)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.LoadGateway(filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatalf("keygate validate would refuse the ConfigMap:\n%v", err)
	}
	if _, err := gateway.New(cfg, gateway.Options{}); err != nil {
		t.Fatalf("keygate validate would refuse the ConfigMap:\n%v", err)
	}
}

func TestServiceHPAAndPDB(t *testing.T) {
	svc := load(t, "service.yaml")
	if got := svc.get(t, "spec", "ports", 0, "targetPort"); got != "http" {
		t.Errorf("service targetPort = %v, want the http port", got)
	}
	hpa := load(t, "hpa.yaml")
	if got := hpa.get(t, "spec", "scaleTargetRef", "name"); got != "keygate" {
		t.Errorf("hpa target = %v", got)
	}
	if got := hpa.get(t, "spec", "minReplicas").(float64); got < 2 {
		t.Errorf("hpa minReplicas = %v, want at least 2", got)
	}
	pdb := load(t, "pdb.yaml")
	if got := pdb.get(t, "spec", "selector", "matchLabels", "app.kubernetes.io/name"); got != "keygate" {
		t.Errorf("pdb selector = %v", got)
	}
	kust := load(t, "kustomization.yaml")
	var resources []string
	for _, r := range kust.get(t, "resources").([]any) {
		resources = append(resources, r.(string))
	}
	for _, want := range []string{"configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "redis.yaml"} {
		if !slices.Contains(resources, want) {
			t.Errorf("kustomization lacks %s", want)
		}
	}
}

func TestDockerfileAndSystemd(t *testing.T) {
	docker, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "distroless/static", "USER 65532", "EXPOSE 8080 9901", `"--admin", "0.0.0.0:9901"`} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Contains(string(docker), "HEALTHCHECK") {
		t.Error("Dockerfile has a HEALTHCHECK; probes do that")
	}
	unit, err := os.ReadFile("systemd/keygate.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("keygate.service lacks %q", want)
		}
	}
}

// TestRedisManifest: the Redis the replicas share rate limits in is the
// one the ConfigMap's sharedState names, and runs as hardened as keygate.
func TestRedisManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("kubernetes", "redis.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("redis.yaml holds %d documents, want a Deployment and a Service", len(docs))
	}
	var dep, svc manifest
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &dep); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &svc); err != nil {
		t.Fatal(err)
	}
	if dep.get(t, "kind") != "Deployment" || svc.get(t, "kind") != "Service" {
		t.Fatalf("kinds %v, %v", dep.get(t, "kind"), svc.get(t, "kind"))
	}
	if dep.get(t, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("redis runs as root")
	}
	c := manifest(dep.get(t, "spec", "template", "spec", "containers", 0).(map[string]any))
	if c.get(t, "securityContext", "readOnlyRootFilesystem") != true {
		t.Error("redis's root filesystem is writable")
	}
	name, port := svc.get(t, "metadata", "name").(string), svc.get(t, "spec", "ports", 0, "port").(float64)
	cm := load(t, "configmap.yaml")
	gw := cm.get(t, "data", "gateway.yaml").(string)
	if want := fmt.Sprintf("redis://%s:%d/0", name, int(port)); !strings.Contains(gw, want) {
		t.Errorf("the ConfigMap's sharedState does not name the Service (%s)", want)
	}
}
