package deploytest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// The copies of the scenario and the dashboard must not drift from their originals.
func TestCopies(t *testing.T) {
	for copy, orig := range map[string]string{
		"deploy/base/seed-api.yaml":                         "examples/seed-api.yaml",
		"deploy/helm/horde/files/seed-api.yaml":             "examples/seed-api.yaml",
		"deploy/helm/horde/dashboards/horde-dashboard.json": "deploy/grafana/horde-dashboard.json",
		"deploy/components/locust-master/locustfile.py":     "internal/locustfile/testdata/seed.py",
	} {
		a, err := os.ReadFile(filepath.Join(repo, copy))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(repo, orig))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: cp %[2]s %[1]s", copy, orig)
		}
	}
}

func TestHelmLint(t *testing.T) {
	helm := needHelm(t)
	for _, name := range sortedKeys(helmVariants) {
		args := append([]string{"lint", "--strict", chartDir}, helmVariants[name]...)
		if out, err := execOutput(helm, args...); err != nil {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestManifests renders every overlay and chart variant, decodes every object
// strictly, and cross-checks them; the containers with probes run for real.
func TestManifests(t *testing.T) {
	helm := helmBin()
	if helm == "" {
		t.Run("helm", func(t *testing.T) { needHelm(t) }) // skips, or fails in CI; kustomize goes on
	}
	for _, r := range renderAll(t, helm) {
		t.Run(strings.ReplaceAll(r.Name, "/", "_"), func(t *testing.T) {
			for _, check := range []func(*rendering) []error{checkSelectors, checkContainers, checkReferences, checkHordeCommands, checkNamespace, checkImages} {
				for _, err := range check(r) {
					t.Error(err)
				}
			}
			checkProbes(t, r)
		})
	}
}

// checkNamespace: the kustomize tree puts every namespaced object in load-testing.
func checkNamespace(r *rendering) []error {
	if strings.HasPrefix(r.Name, "helm") {
		return nil // helm sets the namespace at install time
	}
	var errs []error
	for _, o := range r.Objs {
		switch o.Kind {
		case "Namespace", "PersistentVolume":
		default:
			if o.Namespace != Namespace {
				errs = append(errs, errorf("%s/%s: namespace %q, want %q", o.Kind, o.Name, o.Namespace, Namespace))
			}
		}
	}
	return errs
}

// TestSoakJobLocally runs the soak CronJob's container on this machine, as its pod
// would, for a few seconds against the sample app's container: the verdict passes
// (exit 0). Its thresholds, scrape URL and flags are thereby real.
func TestSoakJobLocally(t *testing.T) {
	r := overlay(t, "overlays/soak")
	var soak, target *local
	for _, p := range r.pods() {
		for _, c := range p.Spec.Containers {
			switch p.Owner {
			case "CronJob/horde-soak":
				soak = newLocal(t, r, p, c)
			case "Deployment/horde-target":
				target = newLocal(t, r, p, c)
			}
		}
	}
	if soak == nil || target == nil {
		t.Fatal("no CronJob/horde-soak or Deployment/horde-target")
	}
	done := target.start(t)
	if err := waitStatus("http://127.0.0.1:9091/healthz", 200, 15*time.Second, done); err != nil {
		t.Fatal(err)
	}
	// all users up within a second, so none is stopped halfway through its login
	soak.setEnv("HORDE_USERS", "5")
	soak.setEnv("HORDE_SPAWN_RATE", "5")
	soak.setEnv("HORDE_RUN_TIME", "8s")
	soak.setEnv("HORDE_WARMUP", "1s")
	code, log := soak.run(t, time.Minute)
	// 8 s of memory samples are too few to judge a leak: the threshold is
	// held as inconclusive (which does not fail the job), or passes.
	if code != 0 || !regexp.MustCompile(`(PASS|INCONCLUSIVE)\s+threshold\s+target\.memory_growth`).MatchString(log) {
		t.Errorf("soak job: exit %d, want 0 and a target.memory_growth verdict:\n%s", code, log)
	}
	if _, err := os.Stat(filepath.Join(soak.dir, "results", "soak.json")); err != nil {
		t.Errorf("soak job wrote no JSON summary: %v", err)
	}
}

// The CronJob's Job must fail when the verdict fails, at once (no retry of an
// answer); a pod lost to an eviction is replaced without counting, and its
// runs are on a claim, so the replacement resumes the run.
func TestSoakJobFailsOnce(t *testing.T) {
	r := overlay(t, "overlays/soak")
	cj, ok := r.find("CronJob", "horde-soak").(*batchv1.CronJob)
	if !ok {
		t.Fatal("no CronJob horde-soak")
	}
	js := cj.Spec.JobTemplate.Spec
	if js.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("soak Job: restartPolicy %s, want Never", js.Template.Spec.RestartPolicy)
	}
	var failOn []int32
	ignoresDisruption := false
	if pfp := js.PodFailurePolicy; pfp != nil {
		for _, rule := range pfp.Rules {
			switch {
			case rule.Action == batchv1.PodFailurePolicyActionFailJob && rule.OnExitCodes != nil && rule.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn:
				failOn = append(failOn, rule.OnExitCodes.Values...)
			case rule.Action == batchv1.PodFailurePolicyActionIgnore && len(rule.OnPodConditions) > 0 && rule.OnPodConditions[0].Type == corev1.DisruptionTarget && rule.OnPodConditions[0].Status == corev1.ConditionTrue:
				ignoresDisruption = true
			}
		}
	}
	if !slices.Contains(failOn, 1) || !slices.Contains(failOn, 2) || !ignoresDisruption {
		t.Errorf("soak Job: podFailurePolicy %+v; want FailJob on exit codes 1 and 2 and Ignore on DisruptionTarget", js.PodFailurePolicy)
	}
	claim := ""
	for _, v := range js.Template.Spec.Volumes {
		if v.Name == "results" && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claim == "" || r.find("PersistentVolumeClaim", claim) == nil {
		t.Errorf("soak Job: the results volume is not a claim of the rendering (%q): a replaced pod could not resume", claim)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("soak CronJob: concurrencyPolicy %s, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
}
