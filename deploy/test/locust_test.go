package deploytest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// locustRun is what the Locust step reads of GET /stats/requests.
type locustRun struct {
	State string `json:"state"`
	Stats []struct {
		Method      string `json:"method"`
		Name        string `json:"name"`
		NumRequests int64  `json:"num_requests"`
		NumFailures int64  `json:"num_failures"`
	} `json:"stats"`
	Errors []struct {
		Method      string `json:"method"`
		Name        string `json:"name"`
		Error       string `json:"error"`
		Occurrences int64  `json:"occurrences"`
	} `json:"errors"`
	Workers []struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		UserCount int    `json:"user_count"`
	} `json:"workers"`
}

func (w *walk) locustRun() (*locustRun, error) {
	req, _ := http.NewRequest("GET", w.master+"/stats/requests", nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /stats/requests: %s", resp.Status)
	}
	var r locustRun
	return &r, json.NewDecoder(resp.Body).Decode(&r)
}

// count returns the requests of "METHOD name".
func (r *locustRun) count(key string) int64 {
	for _, e := range r.Stats {
		if e.Method+" "+e.Name == key {
			return e.NumRequests
		}
	}
	return 0
}

// locustWorkers is issue 28's "the same in the Kubernetes tier": the seed's Locust
// worker Deployment, unchanged but for its image (overlays/e2e-locust: Debian's
// python3-locust 2.12.1 of the node through read-only hostPath mounts), against the
// walk's master changed as overlays/locust-workers changes it (the locust-master
// Component: -f the seed's locustfile from its ConfigMap, the locust-master Service
// the workers dial). Through the master's HTTP API: both pods join as workers (a
// Locust worker's id is its host name, the pod's, and a uuid), the seed's request
// names arrive with weights 3:2:1:1 within sampling error, no failure (no 401), one
// logout per login. horde's workers are scaled to 0 for it, so every request counted
// is a Locust worker's. It leaves the Locust workers deleted and the namespace
// restricted again for the steps after it.
func (w *walk) locustWorkers(t *testing.T) {
	began := time.Now()
	// The soak step left the sample app leaking 2 MB/s; the seed's traffic
	// needs it healthy (the new pod rolls out with the others below).
	w.ns(t, "set", "env", "deployment/horde-target", "HORDE_LEAK_BYTES_PER_SECOND-")
	w.k.run(t, "apply", "-k", filepath.Join(repo, "deploy", "overlays", "e2e-locust"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("master log:\n%s", lastLines([]byte(w.ns(t, "logs", "deployment/horde-master")), 60))
			out, _ := w.k.try(30*time.Second, nil, "-n", w.namespace, "logs", "-l", "app=locust-worker", "--tail=30", "--prefix")
			t.Logf("Locust worker logs:\n%s", out)
		}
		// The seed's command is sh -c "locust ...": the shell, PID 1, does not
		// pass SIGTERM on, so a graceful delete waits its 30 s in vain.
		w.ns(t, "delete", "deployment", "locust-worker", "--wait=true", "--timeout=90s")
		w.ns(t, "delete", "pod", "-l", "app=locust-worker", "--grace-period=1", "--wait=true", "--timeout=60s")
		w.k.run(t, "label", "namespace", w.namespace, "--overwrite", "pod-security.kubernetes.io/enforce=restricted")
	})
	for _, d := range []string{"horde-target", "horde-master", "horde-worker", "locust-worker"} {
		w.ns(t, "rollout", "status", "deployment/"+d, "--timeout=120s")
		t.Logf("deployment/%s rolled out: %v", d, time.Since(began).Round(time.Second))
	}
	if err := waitStatusLog(w.master+"/readyz", http.StatusOK, 60*time.Second, nil, t.Logf); err != nil {
		t.Fatalf("%s/readyz: %v\nmaster log:\n%s", w.master, err, w.ns(t, "logs", "deployment/horde-master"))
	}
	t.Logf("applied, rolled out: %v", time.Since(began).Round(time.Second))

	const users = 20
	pods := func() []string {
		out := w.ns(t, "get", "pods", "-l", "app=locust-worker", "--field-selector=status.phase=Running",
			"-o", `jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}`)
		var ps []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 1 {
				ps = append(ps, f[0])
			}
		}
		return ps
	}
	// wantLocust: each of the two Locust worker pods is a live worker of the master
	// with n users, and no other worker is.
	wantLocust := func(n int) {
		t.Helper()
		until(t, 90*time.Second, fmt.Sprintf("the 2 Locust worker pods as workers with %d users each", n), func() error {
			ps := pods()
			r, err := w.locustRun()
			if err != nil {
				return err
			}
			live := map[string]int{}
			for _, wk := range r.Workers {
				if wk.State != "missing" && wk.State != "disconnected" {
					live[wk.ID] = wk.UserCount
				}
			}
			if len(ps) != 2 || len(live) != 2 {
				return fmt.Errorf("Locust worker pods %v, live workers %v", ps, live)
			}
			for id, u := range live {
				pod := ""
				for _, p := range ps {
					if strings.HasPrefix(id, p+"_") {
						pod = p
					}
				}
				if pod == "" {
					return fmt.Errorf("worker %s is none of the Locust worker pods %v", id, ps)
				}
				if u != n {
					return fmt.Errorf("worker %s has %d users: %v", id, u, live)
				}
			}
			return nil
		})
	}
	wantLocust(0)
	if logs := w.ns(t, "logs", "deployment/horde-master"); !strings.Contains(logs, "Locust worker reports an empty version") {
		t.Errorf("the master did not log Debian's Locust (an empty version):\n%s", lastLines([]byte(logs), 20))
	}

	form := url.Values{"user_count": {fmt.Sprint(users)}, "spawn_rate": {fmt.Sprint(users)}}
	req, _ := http.NewRequest("POST", w.master+"/swarm", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /swarm: %s %s", resp.Status, body)
	}
	wantLocust(users / 2)

	tasks := map[string]float64{"GET /api/data/[id]": 3, "GET /api/items": 2, "POST /api/items": 1, "PATCH /api/items/[id]": 1}
	taskTotal := func(r *locustRun) (n int64) {
		for name := range tasks {
			n += r.count(name)
		}
		return n
	}
	// 20 users waiting 1-3 s make about 8 task requests a second.
	until(t, 90*time.Second, "200 task requests from the Locust workers", func() error {
		r, err := w.locustRun()
		if err != nil {
			return err
		}
		if n := taskTotal(r); n < 200 {
			return fmt.Errorf("%d task requests", n)
		}
		return nil
	})
	if code := w.status(t, "GET", "/stop", true); code != http.StatusOK {
		t.Fatalf("GET /stop: %d", code)
	}
	var r *locustRun
	until(t, 30*time.Second, "the run stopped with one logout per login", func() error {
		if r, err = w.locustRun(); err != nil {
			return err
		}
		if login, logout := r.count("POST /api/login"), r.count("POST /api/logout"); r.State != "stopped" || login != users || logout != login {
			return fmt.Errorf("state %s, %d logins, %d logouts (want %d of each)", r.State, login, logout, users)
		}
		return nil
	})
	total := taskTotal(r)
	for name, wt := range tasks {
		p := wt / 7
		got := float64(r.count(name))
		want := p * float64(total)
		if sd := math.Sqrt(float64(total) * p * (1 - p)); math.Abs(got-want) > 4*sd {
			t.Errorf("%s: %v of %d task requests, want %.0f ± %.0f (weight %v of 7)", name, got, total, want, 4*sd, wt)
		}
	}
	for _, e := range r.Stats {
		if e.NumFailures != 0 {
			t.Errorf("%s %s: %d failures", e.Method, e.Name, e.NumFailures)
		}
	}
	for _, e := range r.Errors {
		t.Errorf("error %s %s: %q × %d", e.Method, e.Name, e.Error, e.Occurrences)
	}
	t.Logf("%d task requests (data %d, items %d, create %d, update %d), %d logins, %d logouts: %v",
		total, r.count("GET /api/data/[id]"), r.count("GET /api/items"), r.count("POST /api/items"), r.count("PATCH /api/items/[id]"),
		r.count("POST /api/login"), r.count("POST /api/logout"), time.Since(began).Round(time.Second))
}

// TestLocustOverlays is the static side of the Locust worker overlays, for
// every run of the tier (the cluster step needs root): overlays/locust-workers
// runs the master on the seed's locustfile, takes Locust workers on the
// Service they dial and lets the seed's root pods into the namespace; the
// master's command line parses; every ConfigMap and Secret a pod uses is
// there. overlays/e2e-locust keeps the seed's worker Deployment but for its
// image and replicas.
func TestLocustOverlays(t *testing.T) {
	r := overlay(t, "overlays/locust-workers")
	for _, check := range []func(*rendering) []error{checkReferences, checkHordeCommands} {
		for _, err := range check(r) {
			t.Error(err)
		}
	}
	ns, _ := r.find("Namespace", Namespace).(*corev1.Namespace)
	if ns == nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
		t.Errorf("namespace %s: want Pod Security baseline enforced (the seed's workers run as root): %v", Namespace, ns)
	}
	m, _ := r.find("Deployment", "horde-master").(*appsv1.Deployment)
	if m == nil {
		t.Fatal("no horde-master Deployment")
	}
	env := map[string]string{}
	for _, e := range m.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"HORDE_SCENARIO": "", "HORDE_LOCUSTFILE": "/home/locust/locustfile.py", "HORDE_ALLOW_OPEN_WORKERS": "true"} {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("master %s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	svc, _ := r.find("Service", "locust-master").(*corev1.Service)
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 5557 || svc.Spec.Ports[0].TargetPort.String() != "workers" {
		t.Errorf("Service locust-master: want port 5557 to the master's workers port: %+v", svc)
	}
	if cm, _ := r.find("ConfigMap", "locust-config").(*corev1.ConfigMap); cm == nil || !strings.Contains(cm.Data["locustfile.py"], "class APIUser(HttpUser)") {
		t.Error("ConfigMap locust-config: no seed locustfile")
	}

	e := overlay(t, "overlays/e2e-locust")
	got, _ := e.find("Deployment", "locust-worker").(*appsv1.Deployment)
	seedObjs, err := decode(must(os.ReadFile(filepath.Join(repo, "deploy", "overlays", "e2e-locust", "locust-workers.yaml"))))
	if err != nil || got == nil || len(seedObjs) != 1 {
		t.Fatalf("the seed's worker Deployment: %v, %d objects, rendered: %v", err, len(seedObjs), got != nil)
	}
	seed := seedObjs[0].Obj.(*appsv1.Deployment)
	gc, sc := got.Spec.Template.Spec.Containers[0], seed.Spec.Template.Spec.Containers[0]
	if !slices.Equal(gc.Command, sc.Command) || !slices.Equal(gc.Args, sc.Args) || len(gc.Env) != len(sc.Env) ||
		gc.Resources.Requests.Cpu().Cmp(*sc.Resources.Requests.Cpu()) != 0 || gc.VolumeMounts[0] != sc.VolumeMounts[0] ||
		!slices.EqualFunc(gc.Env, sc.Env, func(a, b corev1.EnvVar) bool { return a.Name == b.Name && a.Value == b.Value }) {
		t.Errorf("the seed's worker container changed beyond its image:\nseed %+v\ngot  %+v", sc, gc)
	}
	if sc.Image != "locustio/locust:2.15.1" || gc.Image == sc.Image || got.Spec.Template.Labels["app"] != "locust-worker" {
		t.Errorf("image %q (seed %q), labels %v", gc.Image, sc.Image, got.Spec.Template.Labels)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
