//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const nginxBin = "/usr/sbin/nginx"

// testPKI is a CA the test makes, a server certificate it signed for
// 127.0.0.1 and horde.test, and a client certificate for mutual TLS.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string // file paths
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func makePKI(t *testing.T, dir string) testPKI {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "horde e2e CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	p := testPKI{
		ca: filepath.Join(dir, "ca.pem"), serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server-key.pem"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	for _, c := range []struct {
		cert, key string
		serial    int64
		cn        string
		usage     x509.ExtKeyUsage
		ips       []net.IP
		dns       []string
	}{
		{p.serverCert, p.serverKey, 2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"horde.test"}},
		{p.clientCert, p.clientKey, 3, "horde client", x509.ExtKeyUsageClientAuth, nil, nil},
	} {
		der, k := leaf(c.serial, c.cn, c.usage, c.ips, c.dns)
		writePEM(t, c.cert, "CERTIFICATE", der)
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, c.key, "EC PRIVATE KEY", kder)
	}
	return p
}

// nginxVersion returns nginx's version as [major, minor, patch].
func nginxVersion(t *testing.T) [3]int {
	t.Helper()
	out, err := exec.Command(nginxBin, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -v: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`nginx/(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("nginx -v: no version in %q", out)
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v
}

// testJSON is the static JSON nginx serves, long enough to be gzipped.
var testJSON = `{"ok": true, "items": [` + strings.TrimSuffix(strings.Repeat(`{"id": 1, "name": "an item with a name long enough to compress"}, `, 40), ", ") + `]}`

// startNginx runs nginx on a free loopback port with TLS from pki, gzip,
// HTTP/2 and a mutual-TLS location; it returns the port and the access
// log's path. nginx is stopped by PID when the test ends.
func startNginx(t *testing.T, dir string, pki testPKI) (int, string) {
	t.Helper()
	if _, err := os.Stat(nginxBin); err != nil {
		skipOrFail(t, "nginx is not installed (%s): apt-get install nginx", nginxBin)
	}
	www := filepath.Join(dir, "www")
	for _, d := range []string{"www/static", "www/mtls", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, www, "static/data.json", testJSON)
	writeFile(t, www, "mtls/data.json", testJSON)
	port := freePort(t)
	// http2 on; came with nginx 1.25.1; before, it is a listen parameter.
	listen, http2 := fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", port), ""
	if v := nginxVersion(t); v[0] > 1 || v[0] == 1 && (v[1] > 25 || v[1] == 25 && v[2] >= 1) {
		listen, http2 = fmt.Sprintf("listen 127.0.0.1:%d ssl;", port), "http2 on;"
	}
	user := ""
	if os.Getuid() == 0 {
		user = "user root;" // the workers must read the test's temporary directory
	}
	access := filepath.Join(dir, "logs", "access.log")
	conf := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log warn;
events { worker_connections 256; }
http {
    default_type application/octet-stream;
    types { application/json json; }
    client_body_temp_path %[2]s/tmp/body;
    proxy_temp_path %[2]s/tmp/proxy;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    log_format proto '$server_protocol $status $request_uri $ssl_client_verify $sent_http_content_encoding';
    access_log %[3]s proto;
    gzip on;
    gzip_types application/json;
    gzip_min_length 100;
    server {
        %[4]s
        %[5]s
        server_name localhost;
        ssl_certificate %[6]s;
        ssl_certificate_key %[7]s;
        ssl_client_certificate %[8]s;
        ssl_verify_client optional;
        root %[9]s;
        location /static/ { }
        location /mtls/ {
            if ($ssl_client_verify != SUCCESS) { return 403; }
        }
    }
}
`, user, dir, access, listen, http2, pki.serverCert, pki.serverKey, pki.ca, www)
	confPath := writeFile(t, dir, "nginx.conf", conf)
	if out, err := exec.Command(nginxBin, "-t", "-p", dir, "-c", confPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	p := start(t, dir, nil, nginxBin, "-p", dir, "-c", confPath, "-g", "daemon off;")
	t.Cleanup(func() {
		// nginx's workers are its children: stop the master by PID, which
		// stops them, before the harness kills it.
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return port, access
		}
		select {
		case <-p.done:
			t.Fatalf("nginx exited: %v\n%s", p.err, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %d:\n%s", port, p.stderr)
		}
	}
}

// tlsScenario requests the gzip JSON with a JSON check, the mutual-TLS
// location with the client certificate, and the same location without it
// (nginx answers 403).
func tlsScenario(host, defaults, extra string) string {
	return fmt.Sprintf(`host: %s
defaults:
%s
users:
  - name: u
    wait: {constant: 20ms}
    tasks:
      - get: /static/data.json
        name: json
        check: {status: 200, json: {ok: true, "items[0].id": 1}}
      - get: /mtls/data.json
        name: mtls
        tls: {cert: client.pem, key: client-key.pem}
        check: {status: 200, json: {ok: true}}
      - get: /mtls/data.json
        name: no-cert
        check: {status: 403}
%s`, host, defaults, extra)
}

type tlsSummary struct {
	Stats []struct {
		Name             string  `json:"name"`
		NumRequests      int64   `json:"num_requests"`
		NumFailures      int64   `json:"num_failures"`
		AvgContentLength float64 `json:"avg_content_length"`
		AvgWireLength    float64 `json:"avg_wire_length"`
	} `json:"stats"`
}

func runTLSScenario(t *testing.T, dir, name, src string, env []string, args ...string) (code int, p *proc) {
	t.Helper()
	file := writeFile(t, dir, name+".yaml", src)
	args = append([]string{"run", file, "--headless", "-u", "2", "-r", "100", "-t", "2s", "--only-summary",
		"--csv", "out/" + name, "--json", "out/" + name + ".json", "--runs-dir", "runs"}, args...)
	p = start(t, dir, env, hordeBin, args...)
	return p.wait(t, 60*time.Second), p
}

type sizes struct {
	requests, failures int64
	size, wire         float64
}

func readTLSSummary(t *testing.T, path string) map[string]sizes {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s tlsSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]sizes{}
	for _, e := range s.Stats {
		out[e.Name] = sizes{e.NumRequests, e.NumFailures, e.AvgContentLength, e.AvgWireLength}
	}
	return out
}

// Against nginx with a certificate from the test's own CA, gzip, HTTP/2 and
// a mutual-TLS location: tls: {ca} and --insecure-skip-tls-verify both run
// without a failure, JSON checks pass on gzip answers, requests go over
// HTTP/2, the client certificate is accepted; without either, every
// request fails with a readable TLS message.
func TestTLS_Nginx(t *testing.T) {
	dir := t.TempDir()
	pki := makePKI(t, dir)
	port, access := startNginx(t, dir, pki)
	host := fmt.Sprintf("https://127.0.0.1:%d", port)

	t.Run("ca", func(t *testing.T) {
		code, p := runTLSScenario(t, dir, "ca", tlsScenario(host, "  tls: {ca: ca.pem}", ""), nil)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, p.stdout, p.stderr)
		}
		s := readTLSSummary(t, filepath.Join(dir, "out", "ca.json"))
		for _, name := range []string{"json", "mtls", "no-cert"} {
			if s[name].requests == 0 || s[name].failures != 0 {
				t.Errorf("%s: %d requests, %d failures; want some, none\n%s", name, s[name].requests, s[name].failures, p.stdout)
			}
		}
		// The size is the decoded one, as Locust reports it.
		if got := s["json"].size; got != float64(len(testJSON)) {
			t.Errorf("json: average size %v, want the decoded %d", got, len(testJSON))
		}
		if got := s["json"].wire; got <= 0 || got >= float64(len(testJSON))/2 {
			t.Errorf("json: average size on the wire %v, want the gzip size (under half of %d)", got, len(testJSON))
		}
		log, err := os.ReadFile(access)
		if err != nil {
			t.Fatal(err)
		}
		var h2, gzipped, verified, lines int
		for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n") {
			f := strings.Fields(l)
			if len(f) < 5 {
				continue
			}
			lines++
			if f[0] == "HTTP/2.0" {
				h2++
			}
			if f[2] == "/static/data.json" && f[4] == "gzip" {
				gzipped++
			}
			if f[2] == "/mtls/data.json" && f[1] == "200" && f[3] == "SUCCESS" {
				verified++
			}
		}
		if lines == 0 || h2 != lines {
			t.Errorf("%d of %d requests over HTTP/2, want all\n%s", h2, lines, log)
		}
		// nginx also logs the requests the stop cut off, which horde does
		// not record: at most one per user.
		const users = 2
		if n := s["json"].requests; gzipped == 0 || int64(gzipped) < n || int64(gzipped) > n+users {
			t.Errorf("%d gzip answers for %d JSON requests", gzipped, n)
		}
		if n := s["mtls"].requests; int64(verified) < n || int64(verified) > n+users {
			t.Errorf("%d verified client certificates for %d mTLS requests", verified, n)
		}
	})

	t.Run("insecure-skip-tls-verify", func(t *testing.T) {
		code, p := runTLSScenario(t, dir, "insecure", tlsScenario(host, "  timeout: 10s", ""), nil, "--insecure-skip-tls-verify")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, p.stdout, p.stderr)
		}
		for name, e := range readTLSSummary(t, filepath.Join(dir, "out", "insecure.json")) {
			if e.requests == 0 || e.failures != 0 {
				t.Errorf("%s: %d requests, %d failures; want some, none", name, e.requests, e.failures)
			}
		}
	})

	// A Starlark script's requests take the command line's TLS too: they
	// have no tls: of their own.
	t.Run("script with --target-ca", func(t *testing.T) {
		file := writeFile(t, dir, "tls.star", `host = "`+host+`"

def get_json(u):
    r = u.get("/static/data.json", name = "json")
    check(r.status == 200 and r.json()["ok"], "ok json")

users = [user("u", wait = constant(0.02), tasks = {get_json: 1})]
`)
		for _, c := range []struct {
			args []string
			ok   bool
		}{{[]string{"--target-ca", pki.ca}, true}, {[]string{"--insecure-skip-tls-verify"}, true}, {nil, false}} {
			sum := filepath.Join(dir, "out", "script.json")
			p := start(t, dir, nil, hordeBin, append([]string{"run", file, "--headless", "-u", "2", "-r", "100", "-t", "2s",
				"--only-summary", "--json", sum, "--runs-dir", "runs"}, c.args...)...)
			code := p.wait(t, 60*time.Second)
			e := readTLSSummary(t, sum)["json"]
			switch {
			case c.ok && (code != 0 || e.requests == 0 || e.failures != 0):
				t.Errorf("%v: exit %d, %d requests, %d failures; want some, none\n%s", c.args, code, e.requests, e.failures, p.stderr)
			case !c.ok && (e.requests == 0 || e.failures != e.requests):
				t.Errorf("no TLS flag: %d requests, %d failures; want every one failed (unknown authority)", e.requests, e.failures)
			}
		}
	})

	t.Run("--target-ca", func(t *testing.T) {
		code, p := runTLSScenario(t, dir, "flagca", tlsScenario(host, "  timeout: 10s", ""), nil, "--target-ca", pki.ca)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, p.stdout, p.stderr)
		}
		for name, e := range readTLSSummary(t, filepath.Join(dir, "out", "flagca.json")) {
			if e.requests == 0 || e.failures != 0 {
				t.Errorf("%s: %d requests, %d failures; want some, none", name, e.requests, e.failures)
			}
		}
	})

	t.Run("unknown authority", func(t *testing.T) {
		code, p := runTLSScenario(t, dir, "untrusted", tlsScenario(host, "  timeout: 10s", ""), nil)
		if code != 1 {
			t.Errorf("exit %d, want 1 (failures)\n%s", code, p.stderr)
		}
		rows := readCSV(t, filepath.Join(dir, "out", "untrusted_failures.csv"))
		want := fmt.Sprintf("TLS: certificate signed by unknown authority (host 127.0.0.1:%d)", port)
		var total int
		for _, r := range rows[1:] {
			if r[2] != want {
				t.Errorf("failure %q, want %q", r[2], want)
			}
			n, _ := strconv.Atoi(r[3])
			total += n
		}
		s := readTLSSummary(t, filepath.Join(dir, "out", "untrusted.json"))
		var reqs int64
		for name, e := range s {
			if e.failures != e.requests {
				t.Errorf("%s: %d of %d requests failed, want all", name, e.failures, e.requests)
			}
			reqs += e.requests
		}
		if reqs == 0 || int64(total) != reqs {
			t.Errorf("failures table holds %d, want all %d requests", total, reqs)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name, defaults string
			args           []string
			want           string
		}{
			{"missing-ca", "  tls: {ca: missing.pem}", nil, `missing-ca.yaml:3:13: tls ca "missing.pem": no such file or directory`},
			{"bad-pair", "  tls: {cert: client.pem, key: server-key.pem}", nil, `tls cert "client.pem", key "server-key.pem": the key does not match the certificate`},
			{"flag-pair", "  timeout: 10s", []string{"--target-cert", pki.clientCert, "--target-key", pki.serverKey}, "--target-key " + pki.serverKey + ": the key does not match the certificate"},
			{"flag-ca", "  timeout: 10s", []string{"--target-ca", filepath.Join(dir, "nope.pem")}, "--target-ca: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		} {
			code, p := runTLSScenario(t, dir, tc.name, tlsScenario(host, tc.defaults, ""), nil, tc.args...)
			if code != 2 || !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 2 and %q", tc.name, code, p.stderr, tc.want)
			}
		}
	})
}

// connectProxy is a CONNECT proxy on loopback: it records each tunnel's
// target and dials it, with horde.test standing for 127.0.0.1.
type connectProxy struct {
	mu      sync.Mutex
	targets []string
}

func (cp *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	cp.mu.Lock()
	cp.targets = append(cp.targets, r.Host)
	cp.mu.Unlock()
	host, port, _ := net.SplitHostPort(r.Host)
	if host == "horde.test" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		http.Error(w, "loopback only", http.StatusForbidden)
		return
	}
	up, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() { io.Copy(up, buf); up.Close() }()
	io.Copy(down, up)
	down.Close()
}

func (cp *connectProxy) seen() []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return append([]string(nil), cp.targets...)
}

// Through a CONNECT proxy on loopback: named by proxy: in the scenario, and
// by HTTPS_PROXY (which, as in net/http, never applies to loopback hosts,
// so the target is horde.test, which only the proxy resolves).
func TestTLS_Proxy(t *testing.T) {
	dir := t.TempDir()
	pki := makePKI(t, dir)
	port, _ := startNginx(t, dir, pki)
	cp := &connectProxy{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: cp}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	proxyURL := "http://" + l.Addr().String()

	t.Run("proxy:", func(t *testing.T) {
		src := tlsScenario(fmt.Sprintf("https://127.0.0.1:%d", port), "  tls: {ca: ca.pem}\n  proxy: "+proxyURL, "")
		code, p := runTLSScenario(t, dir, "proxied", src, nil)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, p.stdout, p.stderr)
		}
		for name, e := range readTLSSummary(t, filepath.Join(dir, "out", "proxied.json")) {
			if e.requests == 0 || e.failures != 0 {
				t.Errorf("%s: %d requests, %d failures; want some, none", name, e.requests, e.failures)
			}
		}
		// Two users, two transports each (with and without the client
		// certificate): four tunnels, kept alive for the whole run.
		want := fmt.Sprintf("127.0.0.1:%d", port)
		got := cp.seen()
		if len(got) != 4 {
			t.Errorf("%d tunnels %q, want 4 (one per user and transport)", len(got), got)
		}
		for _, g := range got {
			if g != want {
				t.Errorf("tunnel to %q, want %q", g, want)
			}
		}
	})

	t.Run("HTTPS_PROXY", func(t *testing.T) {
		before := len(cp.seen())
		src := tlsScenario(fmt.Sprintf("https://horde.test:%d", port), "  tls: {ca: ca.pem}", "")
		code, p := runTLSScenario(t, dir, "envproxy", src, []string{"HTTPS_PROXY=" + proxyURL, "NO_PROXY=example.invalid"})
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, p.stdout, p.stderr)
		}
		got := cp.seen()[before:]
		if len(got) == 0 || got[0] != fmt.Sprintf("horde.test:%d", port) {
			t.Errorf("tunnels %q, want horde.test:%d", got, port)
		}
	})
}

// A master ships the scenario's TLS files and its --target-* flags to a
// worker that has neither: the worker, in another directory, runs the
// scenario against nginx without a failure.
func TestTLS_Cluster(t *testing.T) {
	dir := t.TempDir()
	pki := makePKI(t, dir)
	port, _ := startNginx(t, dir, pki)
	sub := filepath.Join(dir, "scenario")
	if err := os.MkdirAll(filepath.Join(sub, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sub, "certs/ca.pem", string(ca))
	// The mtls task's own tls: is overridden by the flags' certificate.
	src := tlsScenario(fmt.Sprintf("https://127.0.0.1:%d", port), "  tls: {ca: certs/ca.pem}", "")
	src = strings.Replace(src, "tls: {cert: client.pem, key: client-key.pem}", "tls: {server_name: horde.test}", 1)
	src = strings.Replace(src, "name: no-cert\n        check: {status: 403}", "name: no-cert\n        check: {status: 200}", 1)
	file := writeFile(t, sub, "tls.yaml", src)
	m, mport := startMaster(t, dir, 0, file, "--headless", "--expect-workers", "1", "--expect-workers-max-wait", "30s",
		"-u", "2", "-r", "100", "-t", "3s", "--only-summary", "--json", "out/cluster.json", "--runs-dir", "runs",
		"--target-cert", pki.clientCert, "--target-key", pki.clientKey)
	w := startWorker(t, t.TempDir(), mport)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d\n%s\n%s\nworker:\n%s", code, m.stdout, m.stderr, w.stderr)
	}
	w.wait(t, 20*time.Second)
	s := readTLSSummary(t, filepath.Join(dir, "out", "cluster.json"))
	for _, name := range []string{"json", "mtls", "no-cert"} {
		if s[name].requests == 0 || s[name].failures != 0 {
			t.Errorf("%s: %d requests, %d failures; want some, none\n%s", name, s[name].requests, s[name].failures, m.stdout)
		}
	}
}
