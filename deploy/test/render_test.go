package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repo is the repository's root; deploy/test is two levels below it.
var repo = func() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return dir
}()

// Namespace is where the kustomize tree puts everything.
const Namespace = "load-testing"

// overlays are the kustomize directories under deploy/, each rendered and checked.
var overlays = []string{"base", "overlays/sample-app", "overlays/soak", "overlays/monitoring", "overlays/ui-loadbalancer", "overlays/e2e"}

// helmVariants are the chart's renderings checked: its defaults, every option on, and a
// soak of a service of the user's own.
var helmVariants = map[string][]string{
	"helm-default": nil,
	"helm-all-on":  {"--set", "sampleApp.enabled=true,soak.enabled=true,monitoring.enabled=true,master.service.type=LoadBalancer"},
	// a soak of the user's own service, with no metrics to scrape
	"helm-soak-own-host": {"--set", "soak.enabled=true,host=http://api.example.com,master.persistence.enabled=false"},
}

// kinds are the objects the manifests may contain, by apiVersion/kind; anything
// else is an error, as is any field these types do not have.
var kinds = map[string]func() any{
	"v1/Namespace":                            func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/PersistentVolume":                     func() any { return &corev1.PersistentVolume{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1/CronJob":                        func() any { return &batchv1.CronJob{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
}

// object is one decoded manifest.
type object struct {
	Kind, Name, Namespace string
	Obj                   any    // a pointer to the k8s.io/api type
	YAML                  []byte // the document as rendered
}

// rendering is the output of one overlay or chart variant.
type rendering struct {
	Name string
	YAML []byte
	Objs []object
}

// find returns the object of that kind and name, or nil.
func (r *rendering) find(kind, name string) any {
	for _, o := range r.Objs {
		if o.Kind == kind && o.Name == name {
			return o.Obj
		}
	}
	return nil
}

// kustomize renders deploy/DIR as `kubectl apply -k` does (files only from inside the tree).
func kustomize(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repo, "deploy", dir))
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// helmBin is the helm binary, or "" when there is none (HORDE_HELM names one).
func helmBin() string {
	if h := os.Getenv("HORDE_HELM"); h != "" {
		return h
	}
	h, _ := exec.LookPath("helm")
	return h
}

// needHelm skips the test without helm, or fails it when HORDE_REQUIRE_ALL=1.
func needHelm(t *testing.T) string {
	t.Helper()
	h := helmBin()
	if h == "" {
		msg := "helm not found: install it with deploy/test/run.sh (go install helm.sh/helm/v3/cmd/helm)"
		if os.Getenv("HORDE_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return h
}

var chartDir = filepath.Join(repo, "deploy", "helm", "horde")

// helmTemplate renders the chart as release "horde" in Namespace.
func helmTemplate(helm string, args ...string) ([]byte, error) {
	cmd := exec.Command(helm, append([]string{"template", "horde", chartDir, "--namespace", Namespace}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template %v: %v\n%s", args, err, stderr.String())
	}
	return out, nil
}

// decode splits a YAML stream and decodes each document strictly into its
// k8s.io/api type: an unknown kind, an unknown field or a duplicate key is an error.
func decode(stream []byte) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%v in:\n%s", err, doc)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // an empty document (a comment, or a template that rendered nothing)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, err
		}
		newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("unexpected kind %s/%s in:\n%s", tm.APIVersion, tm.Kind, doc)
		}
		obj := newObj()
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			return nil, fmt.Errorf("%s: %v in:\n%s", tm.Kind, err, doc)
		}
		meta := obj.(metav1.Object)
		objs = append(objs, object{Kind: tm.Kind, Name: meta.GetName(), Namespace: meta.GetNamespace(), Obj: obj, YAML: doc})
	}
}

// renderAll renders every overlay and, with helm, every chart variant.
func renderAll(t *testing.T, helm string) []*rendering {
	t.Helper()
	var rs []*rendering
	add := func(name string, out []byte, err error) {
		if err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		objs, err := decode(out)
		if err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		rs = append(rs, &rendering{Name: name, YAML: out, Objs: objs})
	}
	for _, dir := range overlays {
		out, err := kustomize(dir)
		add(dir, out, err)
	}
	if helm != "" {
		for _, name := range sortedKeys(helmVariants) {
			out, err := helmTemplate(helm, helmVariants[name]...)
			add(name, out, err)
		}
	}
	return rs
}

// checkWorkerChannel: every master's worker channel is closed (docs/cluster.md): it gets
// HORDE_WORKER_TOKEN from a Secret key that every worker gets too, and it neither opens the
// channel (HORDE_ALLOW_OPEN_WORKERS) nor binds it to loopback, where workers in other pods
// could not reach it.
func checkWorkerChannel(r *rendering) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var masterRef *corev1.SecretKeySelector
	masters, workers := 0, 0
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			if !isHorde(c) || len(c.Args) == 0 || (c.Args[0] != "master" && c.Args[0] != "worker") {
				continue
			}
			var ref *corev1.SecretKeySelector
			for _, e := range c.Env {
				switch e.Name {
				case "HORDE_WORKER_TOKEN":
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						fail("%s: HORDE_WORKER_TOKEN is not from a Secret", p.Owner)
						continue
					}
					ref = e.ValueFrom.SecretKeyRef
					if v, err := r.secretValue(ref.Name, ref.Key); err == nil && v == "" {
						fail("%s: HORDE_WORKER_TOKEN is empty in Secret %s", p.Owner, ref.Name)
					}
				case "HORDE_ALLOW_OPEN_WORKERS", "HORDE_MASTER_BIND_HOST":
					fail("%s: %s=%q: the worker channel must stay closed and reachable", p.Owner, e.Name, e.Value)
				}
			}
			if slices.ContainsFunc(c.Args, func(a string) bool {
				return strings.HasPrefix(a, "--allow-open-workers") || strings.HasPrefix(a, "--master-bind-host")
			}) {
				fail("%s: args %q open the worker channel or move it", p.Owner, c.Args)
			}
			if ref == nil {
				fail("%s: no HORDE_WORKER_TOKEN", p.Owner)
				continue
			}
			if c.Args[0] == "master" {
				masters++
				masterRef = ref
			} else {
				workers++
			}
		}
	}
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			if masterRef == nil || !isHorde(c) || len(c.Args) == 0 || c.Args[0] != "worker" {
				continue
			}
			for _, e := range c.Env {
				if e.Name == "HORDE_WORKER_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					if got := e.ValueFrom.SecretKeyRef; got.Name != masterRef.Name || got.Key != masterRef.Key {
						fail("%s: HORDE_WORKER_TOKEN from %s/%s, the master's from %s/%s", p.Owner, got.Name, got.Key, masterRef.Name, masterRef.Key)
					}
				}
			}
		}
	}
	if masters != 1 || workers != 1 {
		fail("%d masters and %d worker Deployments with a token, want one of each", masters, workers)
	}
	return errs
}

// The manifests and the chart close the worker channel with the token from the Secret.
func TestWorkerChannel(t *testing.T) {
	for _, r := range renderAll(t, helmBin()) {
		t.Run(strings.ReplaceAll(r.Name, "/", "_"), func(t *testing.T) {
			for _, err := range checkWorkerChannel(r) {
				t.Error(err)
			}
		})
	}
}

// The chart refuses to render without a worker token unless workers.allowOpen opens the
// channel on purpose; then neither side gets a token and the master --allow-open-workers.
func TestHelm_WorkerTokenRequired(t *testing.T) {
	helm := needHelm(t)
	_, err := helmTemplate(helm, "--set", "auth.generateWorkerToken=false")
	if err == nil {
		t.Fatal("the chart rendered with no worker token")
	}
	for _, want := range []string{"no worker token", "auth.workerToken", "workers.allowOpen=true", "--allow-open-workers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failure does not name %s: %v", want, err)
		}
	}
	// A token given, or named in an existing Secret, is enough.
	for _, set := range []string{"auth.generateWorkerToken=false,auth.workerToken=s3cret", "auth.generateWorkerToken=false,auth.existingSecret=mine"} {
		if _, err := helmTemplate(helm, "--set", set); err != nil {
			t.Errorf("--set %s: %v", set, err)
		}
	}

	out, err := helmTemplate(helm, "--set", "auth.generateWorkerToken=false,workers.allowOpen=true")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendering{Name: "helm-allow-open", YAML: out, Objs: objs}
	for _, check := range []func(*rendering) []error{checkSelectors, checkContainers, checkReferences, checkHordeCommands} {
		for _, err := range check(r) {
			t.Error(err)
		}
	}
	if err := r.secretKey("horde-credentials", "worker-token"); err == nil {
		t.Error("the Secret has a worker token")
	}
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if _, ok := env["HORDE_WORKER_TOKEN"]; ok {
				t.Errorf("%s: HORDE_WORKER_TOKEN with no token", p.Owner)
			}
			if len(c.Args) > 0 && c.Args[0] == "master" && env["HORDE_ALLOW_OPEN_WORKERS"] != "true" {
				t.Errorf("%s: HORDE_ALLOW_OPEN_WORKERS=%q, want true", p.Owner, env["HORDE_ALLOW_OPEN_WORKERS"])
			}
		}
	}
}
