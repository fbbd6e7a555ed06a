// Command record records one memory series of a real runtime under horde
// load (see ../README.md): it starts an app of ../apps (restarting it when
// it dies, as a container runtime does), drives it with `horde run` at a
// closed-model load, and samples the process's RSS (/proc) and the runtime's heap
// metric (its /metrics) every -step into a CSV: t (seconds from the start),
// rss and heap (bytes; empty when the sample failed), start (the process's
// start time, Unix seconds: process_start_time_seconds, the restart marker).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	var (
		rt      = flag.String("runtime", "go", "go, java-g1, java-parallel, node, python")
		bin     = flag.String("bin", "", "directory of the built apps (leaky-go, Leaky.class)")
		apps    = flag.String("apps", "", "directory of the apps' sources")
		hordeB  = flag.String("horde", "horde", "the horde binary")
		out     = flag.String("o", "", "CSV file to write")
		dur     = flag.Duration("d", 4*time.Minute, "recording length")
		step    = flag.Duration("step", time.Second, "sampling interval")
		users   = flag.Int("u", 4, "horde users (the closed model: a slow service gets fewer requests, not a pile of connections)")
		pacing  = flag.Duration("pacing", 50*time.Millisecond, "each user's pacing (wait: {pacing}): u/pacing requests a second at most")
		port    = flag.Int("port", 19000, "the app's loopback port")
		memCap  = flag.Int("cap", 0, "memory cap in MB (0: none): -Xmx for the JVM, --max-old-space-size for Node, ulimit -v for Go and Python")
		envs    = flag.String("env", "", "MODE=..,LEAK=..,CACHE=..,GARBAGE=..: the app's environment")
		maxHeap = flag.Int("xmx", 512, "the JVM's -Xmx in MB without -cap")
		opts    = flag.String("opts", "", "more flags for the JVM or node, space-separated (e.g. -Xmn16m, --max-semi-space-size=1)")
	)
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *dur+30*time.Second)
	defer cancel()
	env := append(os.Environ(), "PORT="+strconv.Itoa(*port))
	for _, kv := range strings.Split(*envs, ",") {
		if kv != "" {
			env = append(env, kv)
		}
	}
	// A cgroup (v1 memory controller) caps Go and Python as a container's
	// limit does: the kernel's OOM killer ends the process past it. Where
	// no cgroup can be made, ulimit -v caps the address space instead.
	cgroup := ""
	if *memCap > 0 && (*rt == "go" || *rt == "python") {
		dir := fmt.Sprintf("/sys/fs/cgroup/memory/horde-record-%d", *port)
		if err := os.Mkdir(dir, 0o755); err == nil || os.IsExist(err) {
			if os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.Itoa(*memCap<<20)), 0o644) == nil {
				cgroup = dir
				defer os.Remove(dir)
			}
		}
		log.Printf("memory cap %d MB: cgroup %q (empty: ulimit -v)", *memCap, cgroup)
	}
	command := func() *exec.Cmd {
		var args []string
		switch *rt {
		case "go":
			args = []string{filepath.Join(*bin, "leaky-go")}
		case "java-g1", "java-parallel":
			gc := "-XX:+UseG1GC"
			if *rt == "java-parallel" {
				gc = "-XX:+UseParallelGC"
			}
			xmx := *maxHeap
			if *memCap > 0 {
				xmx = *memCap
			}
			args = []string{"java", gc, fmt.Sprintf("-Xmx%dm", xmx), "-XX:+ExitOnOutOfMemoryError"}
			args = append(args, strings.Fields(*opts)...)
			args = append(args, "-cp", *bin, "Leaky")
		case "node":
			args = []string{"node"}
			if *memCap > 0 {
				args = append(args, fmt.Sprintf("--max-old-space-size=%d", *memCap))
			}
			args = append(args, strings.Fields(*opts)...)
			args = append(args, filepath.Join(*apps, "leaky.js"))
		case "python":
			args = []string{"python3", filepath.Join(*apps, "leaky.py")}
		default:
			log.Fatalf("unknown runtime %q", *rt)
		}
		if *memCap > 0 && (*rt == "go" || *rt == "python") && cgroup == "" {
			// ulimit -v: the address space; the allocation past it fails
			// and the process dies (Go: fatal error: out of memory;
			// Python: MemoryError in a handler, then the watchdog below).
			args = []string{"sh", "-c", fmt.Sprintf("ulimit -v %d; exec \"$@\"", *memCap*1024), "sh"}
			args = append(args, argsOf(*rt, *bin, *apps)...)
		}
		c := exec.Command(args[0], args[1:]...)
		c.Env = env
		c.Stderr = os.Stderr
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return c
	}
	var mu sync.Mutex
	var cur *exec.Cmd
	var restarts int
	done := make(chan struct{})
	go func() { // the supervisor
		defer close(done)
		for ctx.Err() == nil {
			c := command()
			if err := c.Start(); err != nil {
				log.Fatal(err)
			}
			if cgroup != "" {
				os.WriteFile(filepath.Join(cgroup, "cgroup.procs"), []byte(strconv.Itoa(c.Process.Pid)), 0o644)
			}
			mu.Lock()
			cur = c
			mu.Unlock()
			c.Wait()
			if ctx.Err() != nil {
				return
			}
			restarts++
			log.Printf("%s exited (%v): restart %d", *rt, c.ProcessState, restarts)
			time.Sleep(time.Second) // a container runtime's back-off
		}
	}()
	// Wait for the app to listen.
	for i := 0; i < 100; i++ {
		if r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", *port)); err == nil {
			r.Body.Close()
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	scn := filepath.Join(os.TempDir(), fmt.Sprintf("record-%d.yaml", *port))
	os.WriteFile(scn, []byte(fmt.Sprintf("users:\n  - name: work\n    wait: {pacing: %s}\n    tasks:\n      - get: /work\n", pacing)), 0o644)
	runs, _ := os.MkdirTemp("", "record-runs")
	defer os.RemoveAll(runs)
	load := exec.CommandContext(ctx, *hordeB, "run", scn, "--headless", "--only-summary", "-u", fmt.Sprint(*users), "-r", fmt.Sprint(*users),
		"-t", dur.String(), "--host", fmt.Sprintf("http://127.0.0.1:%d", *port), "--runs-dir", runs, "--request-timeout", "5s")
	load.Stdout, load.Stderr = io.Discard, os.Stderr
	if err := load.Start(); err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "t,rss,heap,start")
	begin := time.Now()
	client := &http.Client{Timeout: *step / 2}
	tick := time.NewTicker(*step)
	for now := range tick.C {
		if now.Sub(begin) > *dur {
			break
		}
		mu.Lock()
		pid := cur.Process.Pid
		mu.Unlock()
		rss := readRSS(pid, *rt)
		heap, start := scrape(client, *port)
		fmt.Fprintf(w, "%.1f,%s,%s,%s\n", now.Sub(begin).Seconds(), rss, heap, start)
	}
	w.Flush()
	f.Close()
	load.Process.Signal(syscall.SIGINT)
	load.Wait()
	cancel()
	mu.Lock()
	syscall.Kill(-cur.Process.Pid, syscall.SIGKILL)
	mu.Unlock()
	<-done
	log.Printf("%s: %d restarts", *out, restarts)
}

func argsOf(rt, bin, apps string) []string {
	if rt == "go" {
		return []string{filepath.Join(bin, "leaky-go")}
	}
	return []string{"python3", filepath.Join(apps, "leaky.py")}
}

// readRSS is the resident set of pid or of its only child (sh -c exec
// replaces itself, so pid is the app), in bytes; "" when it is gone.
func readRSS(pid int, rt string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return strconv.Itoa(kb * 1024)
		}
	}
	return ""
}

// scrape returns the heap metric (the first line whose name is not
// process_start_time_seconds) and the start time from the app's /metrics.
func scrape(c *http.Client, port int) (heap, start string) {
	r, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return "", ""
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if f[0] == "process_start_time_seconds" {
			start = f[1]
		} else {
			heap = f[1]
		}
	}
	return heap, start
}
