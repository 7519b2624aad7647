// Package deploy_test checks the deployment files that cannot be run here
// (no container runtime): the compose file loads as Compose does, each
// Kubernetes manifest decodes strictly into its API type, and every setting
// they give billrun's containers is one the code reads.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// readSettings are the environment variables the code reads: those of
// os.Getenv and os.LookupEnv in billrun's own sources, the Temporal CLI's
// that envconfig reads, and the AWS SDK's.
func readSettings(t *testing.T) map[string]bool {
	known := map[string]bool{}
	for _, s := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
		"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_DATA",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_PROFILE",
		"TEMPORAL_CONFIG_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_PROFILE"} {
		known[s] = true
	}
	getenv := regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("([A-Z0-9_]+)"\)`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".local" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range getenv.FindAllSubmatch(b, -1) {
			known[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"DATABASE_URL", "S3_BUCKET", "BILLRUN_METRICS_ADDR", "BILLRUN_WORKER_STOP_TIMEOUT"} {
		if !known[must] {
			t.Fatalf("the scan of the sources missed %s: it finds nothing", must)
		}
	}
	return known
}

func TestTheComposeFileLoadsAndWouldStart(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{filepath.Join("compose", "compose.yaml")}, cli.WithName("billrun"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	known := readSettings(t)
	svc := func(name string) types.ServiceConfig {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		return s
	}
	for name, s := range p.Services {
		if s.Image == "" || !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest") || strings.Contains(s.Image, "minio") {
			t.Errorf("service %s: image %q is not pinned to a published version", name, s.Image)
		}
	}
	for _, name := range []string{"migrate", "worker", "console"} {
		for k := range svc(name).Environment {
			if !known[k] {
				t.Errorf("service %s sets %s, which billrun does not read", name, k)
			}
		}
		if svc(name).Environment["DATABASE_URL"] == nil {
			t.Errorf("service %s has no DATABASE_URL", name)
		}
	}
	if c := svc("worker").DependsOn["migrate"].Condition; c != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("the worker starts on migrate %q, want it completed", c)
	}
	if c := svc("temporal").DependsOn["temporal-data"].Condition; c != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("Temporal starts before its data volume is its own: %q", c)
	}
	if !slices.Equal(svc("migrate").Entrypoint, []string{"/usr/local/bin/billctl", "migrate"}) {
		t.Errorf("migrate runs %v", svc("migrate").Entrypoint)
	}
	for _, name := range []string{"postgres", "temporal", "worker"} {
		if svc(name).HealthCheck == nil {
			t.Errorf("service %s has no health check", name)
		}
	}
	// The console is reached from the host's loopback only, with a users file
	// given as a secret.
	if c := svc("console"); len(c.Ports) != 1 || c.Ports[0].HostIP != "127.0.0.1" || len(c.Secrets) != 1 ||
		c.Environment["BILLRUN_CONSOLE_USERS"] == nil || *c.Environment["BILLRUN_CONSOLE_USERS"] != "/run/secrets/"+c.Secrets[0].Source {
		t.Errorf("console: ports %+v, secrets %+v, users %v", c.Ports, c.Secrets, c.Environment["BILLRUN_CONSOLE_USERS"])
	}
	w := svc("worker")
	stop, err := time.ParseDuration(*w.Environment["BILLRUN_WORKER_STOP_TIMEOUT"])
	if err != nil || w.StopGracePeriod == nil || time.Duration(*w.StopGracePeriod) <= stop {
		t.Errorf("the worker's grace period %v does not cover its stop timeout %v (%v)", w.StopGracePeriod, stop, err)
	}
}

// decodeStrictly decodes a YAML document into v, failing on a field the
// type does not have.
func decodeStrictly(doc []byte, v any) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type manifests struct {
	configMaps map[string]corev1.ConfigMap
	secrets    map[string]corev1.Secret
	jobs       []batchv1.Job
	deploys    []appsv1.Deployment
	services   []corev1.Service
}

func readManifests(t *testing.T, body []byte) (manifests, error) {
	m := manifests{configMaps: map[string]corev1.ConfigMap{}, secrets: map[string]corev1.Secret{}}
	for _, doc := range bytes.Split(body, []byte("\n---\n")) {
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return m, err
		}
		var err error
		switch head.Kind {
		case "ConfigMap":
			var c corev1.ConfigMap
			err = decodeStrictly(doc, &c)
			m.configMaps[c.Name] = c
		case "Secret":
			var s corev1.Secret
			err = decodeStrictly(doc, &s)
			m.secrets[s.Name] = s
		case "Job":
			var j batchv1.Job
			err = decodeStrictly(doc, &j)
			m.jobs = append(m.jobs, j)
		case "Deployment":
			var d appsv1.Deployment
			err = decodeStrictly(doc, &d)
			m.deploys = append(m.deploys, d)
		case "Service":
			var v corev1.Service
			err = decodeStrictly(doc, &v)
			m.services = append(m.services, v)
		default:
			t.Fatalf("a manifest of kind %q: add its type here", head.Kind)
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

func TestTheKubernetesManifestsDecodeStrictlyAndWouldRun(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("k8s", "worker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := readManifests(t, body)
	if err != nil {
		t.Fatalf("k8s/worker.yaml: %v", err)
	}
	// The strictness itself: a misspelt field is an error.
	if _, err := readManifests(t, bytes.Replace(body, []byte("readinessProbe"), []byte("readinesProbe"), 1)); err == nil {
		t.Fatal("a misspelt field decoded without an error: the check checks nothing")
	}
	known := readSettings(t)
	settings := map[string]bool{}
	for _, c := range m.configMaps {
		for k := range c.Data {
			settings[k] = true
		}
	}
	mounted := map[string]bool{} // secrets a pod mounts: files, not settings
	for _, d := range m.deploys {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Secret != nil {
				mounted[v.Secret.SecretName] = true
			}
		}
	}
	for _, s := range m.secrets {
		if s.Type == corev1.SecretTypeTLS || mounted[s.Name] {
			continue // files, mounted
		}
		for k := range s.StringData {
			settings[k] = true
		}
	}
	for k := range settings {
		if !known[k] {
			t.Errorf("the manifests set %s, which billrun does not read", k)
		}
	}
	stop, err := time.ParseDuration(m.configMaps["billrun"].Data["BILLRUN_WORKER_STOP_TIMEOUT"])
	if err != nil {
		t.Fatal(err)
	}
	if len(m.jobs) != 1 || !slices.Equal(m.jobs[0].Spec.Template.Spec.Containers[0].Command, []string{"/usr/local/bin/billctl", "migrate"}) {
		t.Errorf("no migration Job")
	}
	// The console: one replica (sessions live in the process), billctl's
	// command, its users file in a mounted volume.
	var console *appsv1.Deployment
	for i := range m.deploys {
		if m.deploys[i].Name == "billrun-console" {
			console = &m.deploys[i]
		}
	}
	if console == nil || console.Spec.Replicas == nil || *console.Spec.Replicas != 1 ||
		!slices.Equal(console.Spec.Template.Spec.Containers[0].Command[:2], []string{"/usr/local/bin/billctl", "console"}) {
		t.Errorf("no console Deployment of one replica running billctl console")
	} else {
		c := console.Spec.Template.Spec.Containers[0]
		var users string
		for _, e := range c.Env {
			if e.Name == "BILLRUN_CONSOLE_USERS" {
				users = e.Value
			}
		}
		found := false
		for _, vm := range c.VolumeMounts {
			found = found || users != "" && strings.HasPrefix(users, vm.MountPath+"/")
		}
		if !found {
			t.Errorf("the console's users file %q is in no mounted volume", users)
		}
	}
	var pods []corev1.PodSpec
	for _, j := range m.jobs {
		pods = append(pods, j.Spec.Template.Spec)
	}
	for _, d := range m.deploys {
		pods = append(pods, d.Spec.Template.Spec)
		spec := d.Spec.Template.Spec
		if spec.TerminationGracePeriodSeconds == nil || time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second <= stop {
			t.Errorf("%s: the grace period does not cover BILLRUN_WORKER_STOP_TIMEOUT %s", d.Name, stop)
		}
		c := spec.Containers[0]
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s: no readiness probe on /readyz", d.Name)
		}
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: no liveness probe on /healthz", d.Name)
		}
	}
	for _, p := range pods {
		for _, c := range p.Containers {
			if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
				t.Errorf("container %s: image %q is not pinned", c.Name, c.Image)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("container %s has no resources", c.Name)
			}
			for _, e := range c.Env {
				if !known[e.Name] {
					t.Errorf("container %s sets %s, which billrun does not read", c.Name, e.Name)
				}
			}
		}
	}
}

func TestTheImageIsBuiltFromPinnedBasesWithoutTheLocalStack(t *testing.T) {
	docker, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?m)^FROM (\S+)`)
	for _, m := range from.FindAllSubmatch(docker, -1) {
		image := string(m[1])
		tag := image[strings.LastIndex(image, ":")+1:]
		if !strings.Contains(image, ":") || tag == "latest" || !strings.ContainsAny(tag, "0123456789") && tag != "nonroot" {
			t.Errorf("FROM %s is not pinned", image)
		}
	}
	ignore, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{".local", "bin", ".git"} {
		if !slices.Contains(strings.Fields(string(ignore)), must) {
			t.Errorf("Dockerfile.dockerignore lets %s into the build context", must)
		}
	}
}
