package deploytest

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pod is a pod template of a rendering, with what owns it.
type pod struct {
	Owner  string // Kind/name
	Labels map[string]string
	Spec   *corev1.PodSpec
}

// pods returns the pod templates of the Deployments and CronJobs.
func (r *rendering) pods() []pod {
	var ps []pod
	for _, o := range r.Objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			ps = append(ps, pod{"Deployment/" + o.Name, v.Spec.Template.Labels, &v.Spec.Template.Spec})
		case *batchv1.CronJob:
			t := &v.Spec.JobTemplate.Spec.Template
			ps = append(ps, pod{"CronJob/" + o.Name, t.Labels, &t.Spec})
		}
	}
	return ps
}

// matching returns the pods a label selector selects.
func (r *rendering) matching(sel *metav1.LabelSelector) ([]pod, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	if s.Empty() {
		return nil, fmt.Errorf("empty selector selects every pod")
	}
	var ps []pod
	for _, p := range r.pods() {
		if s.Matches(labels.Set(p.Labels)) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("selector %v selects no pod", s)
	}
	return ps, nil
}

// checkSelectors: every selector selects what it is meant to, and only it.
func checkSelectors(r *rendering) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, o := range r.Objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			s, err := metav1.LabelSelectorAsSelector(v.Spec.Selector)
			if err != nil || !s.Matches(labels.Set(v.Spec.Template.Labels)) {
				fail("Deployment/%s: selector %v does not match its pod labels %v", o.Name, v.Spec.Selector, v.Spec.Template.Labels)
			}
			ps, _ := r.matching(v.Spec.Selector)
			if len(ps) != 1 {
				fail("Deployment/%s: selector also matches %d other pod templates", o.Name, len(ps)-1)
			}
		case *corev1.Service:
			ps, err := r.matching(&metav1.LabelSelector{MatchLabels: v.Spec.Selector})
			if err != nil {
				fail("Service/%s: %v", o.Name, err)
				continue
			}
			for _, port := range v.Spec.Ports {
				for _, p := range ps {
					if !hasPort(p.Spec, port.TargetPort) {
						fail("Service/%s port %s: targetPort %s is no container port of %s", o.Name, port.Name, port.TargetPort.String(), p.Owner)
					}
				}
			}
		case *policyv1.PodDisruptionBudget:
			if _, err := r.matching(v.Spec.Selector); err != nil {
				fail("PodDisruptionBudget/%s: %v", o.Name, err)
			}
		case *networkingv1.NetworkPolicy:
			ps, err := r.matching(&v.Spec.PodSelector)
			if err != nil {
				fail("NetworkPolicy/%s: %v", o.Name, err)
				continue
			}
			for _, in := range v.Spec.Ingress {
				for _, from := range in.From {
					if from.PodSelector != nil {
						if _, err := r.matching(from.PodSelector); err != nil {
							fail("NetworkPolicy/%s from: %v", o.Name, err)
						}
					}
				}
				for _, port := range in.Ports {
					for _, p := range ps {
						if port.Port != nil && !hasPort(p.Spec, *port.Port) {
							fail("NetworkPolicy/%s: port %s is no container port of %s", o.Name, port.Port.String(), p.Owner)
						}
					}
				}
			}
		case *monitoringv1.ServiceMonitor:
			errs = append(errs, r.checkServiceMonitor(o.Name, v)...)
		}
	}
	return errs
}

func (r *rendering) checkServiceMonitor(name string, sm *monitoringv1.ServiceMonitor) []error {
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() {
		return []error{fmt.Errorf("ServiceMonitor/%s: bad or empty selector", name)}
	}
	var errs []error
	n := 0
	for _, o := range r.Objs {
		svc, ok := o.Obj.(*corev1.Service)
		if !ok || !sel.Matches(labels.Set(svc.Labels)) {
			continue
		}
		n++
		for _, ep := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
				errs = append(errs, fmt.Errorf("ServiceMonitor/%s: Service/%s has no port named %q", name, svc.Name, ep.Port))
			}
			if ep.Authorization != nil && ep.Authorization.Credentials != nil {
				if err := r.secretKey(ep.Authorization.Credentials.Name, ep.Authorization.Credentials.Key); err != nil {
					errs = append(errs, fmt.Errorf("ServiceMonitor/%s: %v", name, err))
				}
			}
		}
	}
	if n == 0 {
		errs = append(errs, fmt.Errorf("ServiceMonitor/%s: selects no Service", name))
	}
	return errs
}

// hasPort reports whether a container of spec has the port, by name or number.
func hasPort(spec *corev1.PodSpec, port intstr.IntOrString) bool {
	_, ok := containerPort(spec, port)
	return ok
}

// containerPort resolves a port by name or number to the container port number.
func containerPort(spec *corev1.PodSpec, port intstr.IntOrString) (int32, bool) {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// checkContainers: limits, non-root, no service links, probes on declared ports.
func checkContainers(r *rendering) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, p := range r.pods() {
		if p.Spec.EnableServiceLinks == nil || *p.Spec.EnableServiceLinks {
			fail("%s: enableServiceLinks must be false (Service links set HORDE_MASTER_PORT=tcp://..., which horde reads as a flag)", p.Owner)
		}
		psc := p.Spec.SecurityContext
		if len(p.Spec.InitContainers) > 0 {
			fail("%s: unexpected init containers", p.Owner)
		}
		for _, c := range p.Spec.Containers {
			where := p.Owner + " container " + c.Name
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[res]; !ok {
					fail("%s: no %s request", where, res)
				}
				if _, ok := c.Resources.Limits[res]; !ok {
					fail("%s: no %s limit", where, res)
				}
			}
			sc := c.SecurityContext
			nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			uid := int64(-1)
			if psc != nil && psc.RunAsUser != nil {
				uid = *psc.RunAsUser
			}
			if sc != nil && sc.RunAsUser != nil {
				uid = *sc.RunAsUser
			}
			if !nonRoot || uid == 0 {
				fail("%s: must run as non-root (runAsNonRoot: true, runAsUser not 0)", where)
			}
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				fail("%s: allowPrivilegeEscalation must be false", where)
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				fail("%s: readOnlyRootFilesystem must be true", where)
			}
			for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
				if pr == nil {
					continue
				}
				if pr.HTTPGet == nil {
					fail("%s: only httpGet probes are expected", where)
				} else if !hasPort(p.Spec, pr.HTTPGet.Port) {
					fail("%s: probe port %s is no container port", where, pr.HTTPGet.Port.String())
				}
			}
		}
	}
	return errs
}

// checkReferences: the ConfigMaps, Secrets and claims the pods use are in the rendering.
func checkReferences(r *rendering) []error {
	var errs []error
	for _, p := range r.pods() {
		for _, v := range p.Spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				if r.find("ConfigMap", v.ConfigMap.Name) == nil {
					errs = append(errs, fmt.Errorf("%s: volume %s: no ConfigMap %s", p.Owner, v.Name, v.ConfigMap.Name))
				}
			case v.PersistentVolumeClaim != nil:
				if r.find("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) == nil {
					errs = append(errs, fmt.Errorf("%s: volume %s: no PersistentVolumeClaim %s", p.Owner, v.Name, v.PersistentVolumeClaim.ClaimName))
				}
			}
		}
		for _, c := range p.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					if err := r.secretKey(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key); err != nil {
						errs = append(errs, fmt.Errorf("%s env %s: %v", p.Owner, e.Name, err))
					}
				}
			}
		}
	}
	return errs
}

// secretKey returns the value of a key of a rendered Secret.
func (r *rendering) secretValue(name, key string) (string, error) {
	s, ok := r.find("Secret", name).(*corev1.Secret)
	if !ok {
		return "", fmt.Errorf("no Secret %s", name)
	}
	if v, ok := s.StringData[key]; ok {
		return v, nil
	}
	if v, ok := s.Data[key]; ok {
		return string(v), nil
	}
	return "", fmt.Errorf("Secret %s has no key %s", name, key)
}

func (r *rendering) secretKey(name, key string) error {
	_, err := r.secretValue(name, key)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isHorde reports whether a container runs the horde image.
func isHorde(c corev1.Container) bool {
	return strings.Contains(c.Image, "horde")
}

// checkImages: every container of a rendering runs one image, named with a tag:
// masters and workers must be the same horde version, and an image transform
// that misses a container leaves it on another.
func checkImages(r *rendering) []error {
	images := map[string][]string{}
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			images[c.Image] = append(images[c.Image], p.Owner)
		}
	}
	if len(images) != 1 {
		return []error{fmt.Errorf("containers run %d images, want one: %v", len(images), images)}
	}
	for image := range images {
		if !strings.Contains(image[strings.LastIndex(image, "/")+1:], ":") {
			return []error{fmt.Errorf("image %q has no tag", image)}
		}
	}
	return nil
}
