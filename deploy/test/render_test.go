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
