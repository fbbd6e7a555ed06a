//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MQTT devices (docs/protocols.md#mqtt) through the binary, against
// Debian's mosquitto on loopback.

// startMosquitto starts mosquitto on a free loopback port with a
// generated configuration (extra lines added to its listener) and returns
// the port; the process is killed by PID when the test ends.
func startMosquitto(t *testing.T, extra ...string) int {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/mosquitto"); e != nil {
			skipOrFail(t, "mosquitto is not installed (apt-get install mosquitto)")
		}
		bin = "/usr/sbin/mosquitto"
	}
	dir := t.TempDir()
	port := freePort(t)
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
		"max_queued_messages 0", // a subscriber that fans in thousands of devices loses none
		"max_inflight_messages 0",
	}
	conf = append(conf, extra...)
	if os.Geteuid() == 0 {
		conf = append(conf, "user root") // it reads the test's key files
	}
	file := writeFile(t, dir, "mosquitto.conf", strings.Join(conf, "\n")+"\n")
	p := start(t, dir, nil, bin, "-c", file)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			c.Close()
			return port
		}
		select {
		case <-p.done:
			t.Fatalf("mosquitto exited: %v\n%s%s", p.err, p.stdout, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("mosquitto did not listen on %d:\n%s%s", port, p.stdout, p.stderr)
	return 0
}

// A master and two workers run 2000 MQTT 3.1.1 devices and two MQTT 5
// subscriber users: every device connects and publishes once at QoS 1,
// and every acknowledged message reaches both subscribers, so the
// master's CSV holds received = 2 × published, with no failure.
func TestMQTT_DevicesCluster(t *testing.T) {
	t.Parallel()
	port := startMosquitto(t)
	dir := t.TempDir()
	const devices = 2000
	file := writeFile(t, dir, "devices.yaml", `
users:
  - name: backend
    count: 2
    wait: {constant: 0s}
    on_start:
      - mqtt_connect: true
        version: 5
        client_id: "backend-{{ vu }}"
      - mqtt_subscribe: "devices/+/metrics"
        qos: 1
    tasks:
      - mqtt_receive: {json: {device: {">": 0}}}
        topic: "devices/+/metrics"
        name: metrics delivered
        timeout: 1s
  - name: device
    wait: {constant: 1s}
    on_start:
      - sleep: 3s
      - mqtt_connect: true
        client_id: "device-{{ vu }}"
        keep_alive: 30s
        timeout: 20s
      - mqtt_publish: "devices/{{ vu }}/metrics"
        name: metrics
        payload: {json: {device: "{{ vu }}", temperature: "{{ randInt 15 30 }}"}}
        qos: 1
        timeout: 20s
    tasks:
      - steps:
          - sleep: 60s
`)
	m, mport := startMaster(t, dir, 0, file, "--headless", "-H", "mqtt://127.0.0.1:"+strconv.Itoa(port),
		"--expect-workers", "2", "--expect-workers-max-wait", "30s",
		"-u", strconv.Itoa(devices+2), "-r", "2000", "-t", "16s", "--csv", "out/mqtt", "--only-summary")
	for range 2 {
		startWorker(t, t.TempDir(), mport)
	}
	if code := m.wait(t, 90*time.Second); code != 0 && code != 1 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "out", "mqtt_stats.csv"))
	ok := func(key string) int { return count(t, rows[key], 2) - count(t, rows[key], 3) }
	if got := count(t, rows["MQTT connect"], 2); got != devices+2 {
		t.Errorf("connects = %d, want %d (every device and subscriber once)", got, devices+2)
	}
	noFailures(t, rows, "MQTT connect", "MQTT metrics", "MQTT subscribe devices/+/metrics", "MQTT session")
	published := ok("MQTT metrics")
	if published != devices {
		t.Errorf("published %d, want %d (one per device)", published, devices)
	}
	if got := count(t, rows["MQTT subscribe devices/+/metrics"], 2); got != 2 {
		t.Errorf("subscribes = %d, want 2", got)
	}
	if got := ok("MQTT metrics delivered"); got != 2*published {
		t.Errorf("received %d by the two subscribers, want 2 × %d published", got, published)
	}
	if got := count(t, rows["MQTT session"], 2); got != devices+2 {
		t.Errorf("sessions = %d, want %d (each connection closed at the stop)", got, devices+2)
	}
}

// examples/mqtt-devices.yaml validates and runs with -H naming the broker.
func TestMQTT_Example(t *testing.T) {
	t.Parallel()
	port := startMosquitto(t)
	file := filepath.Join(repoRoot, "examples", "mqtt-devices.yaml")
	validate(t, file)
	rows := runExample(t, file, "mqtt://127.0.0.1:"+strconv.Itoa(port), "-u", "6", "-r", "100", "-t", "5s")
	noFailures(t, rows, "MQTT connect", "MQTT login", "MQTT metrics", "MQTT settings subscribe", "MQTT settings publish",
		"MQTT settings delivered", "MQTT session", "MQTT metrics delivered")
	if got := count(t, rows["MQTT connect"], 2); got != 6 {
		t.Errorf("connects = %d, want 6", got)
	}
	if got := count(t, rows["MQTT login"], 2); got < 5 {
		t.Errorf("logins = %d, want >= 5 (one per device in on_start)", got)
	}
	if got := count(t, rows["MQTT metrics delivered"], 2); got < 1 || got > count(t, rows["MQTT metrics"], 2) {
		t.Errorf("metrics delivered %d for %d published", got, count(t, rows["MQTT metrics"], 2))
	}
}

// mqtts:// with the same TLS options as HTTP: --target-ca trusts the
// broker's certificate; without it the connect fails naming the cause.
// Failures are named in the failures CSV.
func TestMQTT_TLSAndFailures(t *testing.T) {
	t.Parallel()
	pki := makePKI(t, t.TempDir())
	port := startMosquitto(t, "certfile "+pki.serverCert, "keyfile "+pki.serverKey)
	dir := t.TempDir()
	file := writeFile(t, dir, "tls.yaml", `
users:
  - name: device
    wait: {constant: 100ms}
    on_start:
      - mqtt_connect: true
        version: 5
        timeout: 5s
      - mqtt_subscribe: "echo/{{ vu }}"
        qos: 2
    tasks:
      - steps:
          - mqtt_publish: "echo/{{ vu }}"
            payload: "hello {{ vu }}"
            qos: 2
          - mqtt_receive: {body_contains: hello}
            name: echo
            timeout: 2s
          - mqtt_receive: {body_contains: never}
            name: never
            timeout: 200ms
          - mqtt_publish: "echo/{{ vu }}#"
            name: bad topic
`)
	run := func(args ...string) (int, *proc) {
		all := append([]string{"run", file, "--headless", "-H", "mqtts://127.0.0.1:" + strconv.Itoa(port), "-u", "2", "-r", "100", "-t", "2s", "--only-summary"}, args...)
		p := start(t, dir, nil, hordeBin, all...)
		return p.wait(t, 40*time.Second), p
	}
	code, p := run("--target-ca", pki.ca, "--csv", "ok")
	if code != 1 { // the "never" and "bad topic" failures
		t.Fatalf("exit %d, want 1\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "ok_stats.csv"))
	noFailures(t, rows, "MQTT connect", "MQTT echo", "MQTT subscribe echo/{{ vu }}", "MQTT publish echo/{{ vu }}")
	if got := count(t, rows["MQTT echo"], 2); got < 2 {
		t.Errorf("echo round trips = %d, want >= 2", got)
	}
	fails := readCSV(t, filepath.Join(dir, "ok_failures.csv"))
	var all []string
	for _, r := range fails[1:] {
		all = append(all, strings.Join(r[:3], " | "))
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{
		"MQTT | never | no message matched within 200ms",
		"MQTT | bad topic | topic \"echo/1#\": + and # are for subscriptions",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("failures lack %q; they are:\n%s", want, joined)
		}
	}
	code, p = run("--csv", "bad")
	if code == 0 {
		t.Fatalf("connect without the CA: exit 0\n%s", p.stdout)
	}
	found := false
	for _, r := range readCSV(t, filepath.Join(dir, "bad_failures.csv"))[1:] {
		found = found || r[1] == "connect" && strings.Contains(r[2], "certificate")
	}
	if !found {
		t.Errorf("failures without the CA lack a connect failure naming the certificate:\n%s", p.stdout)
	}
}

// A Starlark user is an MQTT device through u.mqtt_connect: its publish,
// subscribe and receive are rows named like the YAML steps', and a
// receive's match function picks the message.
func TestMQTT_Script(t *testing.T) {
	t.Parallel()
	port := startMosquitto(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "dev.star", `
host = "http://unused.invalid"

def start(u):
    c = u.mqtt_connect(client_id = "sdev-%d" % u.id, version = 5, keep_alive = "30s")
    u.vars["c"] = c
    c.subscribe("echo/%d" % u.id, qos = 1, name = "subscribe echo")

def echo(u):
    c = u.vars["c"]
    c.publish("echo/%d" % u.id, json = {"n": u.id}, qos = 2, name = "publish echo")
    m = c.receive(topic = "echo/+", name = "echo", timeout = "2s", match = lambda m: json.decode(m.payload)["n"] == u.id)
    if m == None:
        fail("no echo")
    c.receive(name = "nothing", timeout = "100ms")

users = [user(name = "dev", tasks = [echo], on_start = start, wait = constant(0.1))]
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", "mqtt://127.0.0.1:"+strconv.Itoa(port), "-u", "2", "-r", "10", "-t", "2s", "--csv", "st", "--only-summary")
	if code := p.wait(t, 30*time.Second); code != 1 { // the "nothing" receives fail
		t.Fatalf("exit %d, want 1\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "st_stats.csv"))
	noFailures(t, rows, "MQTT connect", "MQTT subscribe echo", "MQTT publish echo", "MQTT echo", "MQTT session")
	// the stop may cut each user's last wait for its echo
	if got, pub := count(t, rows["MQTT echo"], 2), count(t, rows["MQTT publish echo"], 2); got < 2 || got > pub || got < pub-2 {
		t.Errorf("echo %d for %d published", got, pub)
	}
	if got, n := count(t, rows["MQTT nothing"], 3), count(t, rows["MQTT nothing"], 2); got == 0 || got != n {
		t.Errorf("nothing: %d failures of %d, want all", got, n)
	}
	if got := count(t, rows["MQTT session"], 2); got != 2 {
		t.Errorf("sessions %d, want 2", got)
	}
}

// A persistent session (clean_session: false) keeps the device's
// subscription and the QoS 1 messages published while it was away: the
// broker delivers them when it connects again. A clean session does not.
func TestMQTT_PersistentSession(t *testing.T) {
	t.Parallel()
	port := startMosquitto(t)
	dir := t.TempDir()
	class := func(name, version, clean string) string {
		return `
  - name: ` + name + `
    count: 1
    wait: {constant: 1h}
    on_start:
      - mqtt_connect: true
        client_id: "` + name + `"
        version: ` + version + `
        clean_session: ` + clean + `
      - mqtt_subscribe: "away/` + name + `"
        qos: 1
      - mqtt_disconnect: true
      - mqtt_connect: true
        conn: other
        client_id: "` + name + `-other"
      - mqtt_publish: "away/` + name + `"
        conn: other
        payload: "while away"
        qos: 1
      - mqtt_disconnect: true
        conn: other
      - mqtt_connect: true
        client_id: "` + name + `"
        version: ` + version + `
        clean_session: ` + clean + `
      - mqtt_receive: {body_contains: while away}
        name: ` + name + ` queued
        timeout: 1s
    tasks:
      - steps:
          - sleep: 1s
`
	}
	file := writeFile(t, dir, "persist.yaml", "users:"+class("v3", "3", "false")+class("v5", "5", "false")+class("clean", "3", "true"))
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", "mqtt://127.0.0.1:"+strconv.Itoa(port), "-u", "3", "-r", "10", "-t", "3s", "--csv", "ps", "--only-summary")
	if code := p.wait(t, 30*time.Second); code != 1 { // the clean session's receive fails
		t.Fatalf("exit %d, want 1\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "ps_stats.csv"))
	noFailures(t, rows, "MQTT v3 queued", "MQTT v5 queued", "MQTT connect", "MQTT publish away/v3", "MQTT publish away/v5")
	for _, k := range []string{"MQTT v3 queued", "MQTT v5 queued"} {
		if got := count(t, rows[k], 2); got != 1 {
			t.Errorf("%s: %d, want 1 (the message published while away)", k, got)
		}
	}
	if got := count(t, rows["MQTT clean queued"], 3); got != 1 {
		t.Errorf("a clean session received a message published while away: %v", rows["MQTT clean queued"])
	}
}
