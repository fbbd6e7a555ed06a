//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The web UI's Soak tab in Chromium, while the run goes on: the target's
// memory chart with the leak check's fitted floor, and the running verdict
// of each check. Against a leaking target the memory verdict turns to fail
// (and the tab's badge with it) before the run ends; against a clean one it
// never does.
func TestWeb_SoakTab(t *testing.T) {
	t.Parallel() // mostly waiting on timed runs: beside the other long soak tests
	for _, c := range []struct {
		name string
		leak bool
	}{{"leaking", true}, {"clean", false}} {
		t.Run(c.name, func(t *testing.T) {
			var knobs []string
			if c.leak {
				knobs = []string{"--leak-bytes-per-second", "4000000"}
			}
			host, admin := startTargetWithAdmin(t, knobs...)
			dir := t.TempDir()
			file := writeFile(t, dir, "seed.yaml", seedNoWait(t)+"\nmonitor:\n  interval: 1s\n")
			_, base := startWeb(t, dir, file, host, "--autostart", "-u", "2", "-r", "10", "-t", "40s",
				"--scrape", "http://"+admin+"/metrics", "--warmup", "3s")
			ctx := newBrowser(t)
			browserDo(t, ctx, "open the Soak tab", chromedp.Navigate(base+"/#soak"), chromedp.WaitVisible(chromedp.ID("tab-soak")))
			browserWait(t, ctx, "the memory chart", `document.querySelector("#soak-chart-memory canvas") !== null`, 20*time.Second)
			memVerdict := `(() => { const r = [...document.querySelectorAll("#soak-verdicts-body tr")].find((r) => r.textContent.includes("memory leak")); return r ? r.dataset.status : ""; })()`
			if c.leak {
				browserWait(t, ctx, "the memory verdict turning to fail", memVerdict+` === "fail"`, 35*time.Second)
				browserWait(t, ctx, "the floor line in the legend", `[...document.querySelectorAll("#soak-chart-memory .u-legend .u-series")].some((e) => e.textContent.includes("trend"))`, 10*time.Second)
				if got := browserEval[string](t, ctx, `document.getElementById("soak-overall").textContent`); got != "fail" {
					t.Errorf("the Soak tab's badge says %q, want fail", got)
				}
				browserScreenshot(t, ctx, "soak-leak")
				return
			}
			deadline := time.Now().Add(25 * time.Second)
			seen := map[string]bool{}
			for time.Now().Before(deadline) {
				v := browserEval[string](t, ctx, memVerdict)
				seen[v] = true
				if v == "fail" || v == "warn" {
					t.Fatalf("a clean target's memory verdict turned %q: %s", v,
						browserEval[string](t, ctx, `document.getElementById("soak-verdicts-body").textContent`))
				}
				time.Sleep(time.Second)
			}
			if !seen["pass"] && !seen["inconclusive"] {
				t.Errorf("no memory verdict shown (seen %v)", seen)
			}
			if txt := browserEval[string](t, ctx, `document.getElementById("soak-verdicts-body").textContent`); !strings.Contains(txt, "memory leak") {
				t.Errorf("verdicts: %q", txt)
			}
			browserScreenshot(t, ctx, "soak-clean")
		})
	}
}
