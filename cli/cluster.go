package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/cluster/rpc"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/locust"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/worker"
)

// clusterOptions are the flags `horde master` adds to those of `horde run`.
type clusterOptions struct {
	bindHost         string
	bindPort         int
	expectWorkers    int
	expectMaxWait    durationValue
	token            string
	heartbeatTimeout durationValue
	reportInterval   durationValue
	tlsCA            string
	allowOpen        bool
	locustfile       string
	configUsers      []string
}

// newMasterCmd is `horde master FILE`: `horde run`'s flags and outputs, but
// the users run on workers that join over the network.
func newMasterCmd(stdout, stderr io.Writer, lookup env, classes []horde.Class) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "master [FILE] [CLASS...]",
		Short: "Run a distributed load test: serve workers, split the users over them, merge their statistics",
		Args:  cobra.ArbitraryArgs,
	}
	addRunFlags(cmd.Flags(), o)
	cmd.Long = `Run a distributed load test. The master listens for workers (horde worker) on
--master-bind-host:--master-bind-port, ships them the scenario and its data
files, splits the users and the spawn rate exactly over them, and merges what
they report. It serves the same outputs, web UI and API as horde run.

A worker receives the scenario and its data files, so the channel is closed:
without --worker-token or mutual TLS (--tls-ca) the master listens on
127.0.0.1 only, and beyond it only with --allow-open-workers.

Every flag also reads HORDE_<FLAG> from the environment, e.g.
HORDE_WORKER_TOKEN or HORDE_EXPECT_WORKERS. See docs/cluster.md.`
	c := &clusterOptions{}
	f := cmd.Flags()
	f.StringVar(&c.bindHost, "master-bind-host", "", "interface to listen for workers on, * for all (default: all with --worker-token, mutual TLS or --allow-open-workers, else 127.0.0.1)")
	f.IntVar(&c.bindPort, "master-bind-port", cluster.DefaultPort, "port to listen for workers on (0: any free port)")
	f.IntVar(&c.expectWorkers, "expect-workers", 1, "with --headless, wait for this many workers before starting")
	c.expectMaxWait.d = 0
	f.Var(&c.expectMaxWait, "expect-workers-max-wait", "with --headless, give up waiting for --expect-workers after this long (default: wait forever)")
	f.StringVar(&c.token, "worker-token", "", "workers must present this token to join")
	c.heartbeatTimeout.d = cluster.DefaultHeartbeatTimeout
	f.Var(&c.heartbeatTimeout, "heartbeat-timeout", "a worker silent this long is missing; its users go to the others")
	c.reportInterval.d = cluster.DefaultReportInterval
	f.Var(&c.reportInterval, "report-interval", "how often workers report their statistics")
	f.BoolVar(&c.allowOpen, "allow-open-workers", false, "let workers join beyond loopback without --worker-token or mutual TLS: anyone who reaches the port gets the scenario and its data files (warned at start and hourly); Locust workers, which have no token, join from beyond loopback only with it")
	f.StringVarP(&c.locustfile, "locustfile", "f", "", "take Locust workers (locust -f FILE --worker) running this locustfile's User classes, on the same port (docs/locust.md); a scenario FILE argument too serves horde workers")
	f.StringArrayVar(&c.configUsers, "config-users", nil, "with -f: User class attributes, as Locust's --config-users (a JSON object or array, or a .json file; repeatable): weight, fixed_count and host change the master's split, and Locust workers 2.25+ get them all (docs/locust.md)")
	f.StringVar(&c.tlsCA, "tls-ca", "", "with --tls-cert/--tls-key: require worker client certificates signed by this CA (mutual TLS)")
	// On the master one certificate secures both listeners.
	f.Lookup("tls-cert").Usage = "serve the web UI over HTTPS and the worker channel over TLS with this certificate (workers then dial with --tls-ca)"
	f.Lookup("tls-key").Usage = "private key of --tls-cert (for the web UI and the worker channel)"
	f.StringVar(&o.onSigterm, "sigterm", "stop", "on SIGTERM: stop the run (as on Ctrl-C), or handover: leave it running for the next master on --runs-dir (a Kubernetes pod deleted or moved); see docs/runs.md")
	f.BoolVar(&o.resume, "resume", true, "go on with an unfinished run of this scenario found in --runs-dir (a master that was killed); see docs/runs.md")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		file, err := o.resolveArgs(cmd, args, lookup)
		if err != nil {
			return err
		}
		return runMaster(cmd.Context(), cmd, o, c, file, classes, stdout, stderr)
	}
	return cmd
}

// runMaster is runRun for a distributed master: the same setup, outputs
// and exit codes; the users run on the workers.
func runMaster(ctx context.Context, cmd *cobra.Command, o *runOptions, c *clusterOptions, file string, goClasses []horde.Class, stdout, stderr io.Writer) error {
	if o.onSigterm != "stop" && o.onSigterm != "handover" {
		return badInput("--sigterm: %q is not stop or handover", o.onSigterm)
	}
	if c.heartbeatTimeout.d <= 0 || c.reportInterval.d <= 0 {
		return badInput("--heartbeat-timeout and --report-interval must be > 0")
	}
	tlsFiles := rpc.TLSFiles{Cert: o.web.tlsCert, Key: o.web.tlsKey, CA: c.tlsCA}
	cl := &run.Cluster{
		BindHost: c.bindHost, BindPort: c.bindPort, TLS: tlsFiles,
		Access:         rpc.Access{Token: c.token, MutualTLS: tlsFiles.Mutual(), AllowOpen: c.allowOpen},
		ReportInterval: c.reportInterval.d, HeartbeatTimeout: c.heartbeatTimeout.d,
		ExpectWorkers: c.expectWorkers, ExpectMaxWait: c.expectMaxWait.d,
	}
	// The channel is checked before the scenario is read or anything recorded.
	if err := run.CheckCluster(ctx, cl); err != nil {
		return err
	}
	py := c.locustfile
	if strings.EqualFold(filepath.Ext(file), ".py") {
		if py != "" && py != file {
			return badInput("two locustfiles: %s and -f %s", file, py)
		}
		py, file = file, ""
	}
	if py == "" && len(c.configUsers) > 0 {
		return badInput("--config-users sets a locustfile's User classes: it needs -f locustfile.py")
	}
	if py == "" {
		rc, err := o.config(cmd, scenarioSource{file: file}, goClasses, stdout, stderr)
		if err != nil {
			return err
		}
		rc.Cluster = cl
		return runRun(ctx, rc)
	}
	src, err := os.ReadFile(py)
	if err != nil {
		return badInput("read locustfile: %v", err)
	}
	lclasses, notes, err := locust.ReadClasses(py, src)
	if err != nil {
		return badInput("%v", err)
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "horde: warning: %s\n", n)
	}
	settings, err := locust.ParseConfigUsers(c.configUsers, os.ReadFile)
	if err == nil {
		lclasses, err = locust.ApplyUserSettings(lclasses, settings)
	}
	if err != nil {
		return badInput("%v", err)
	}
	classes, host := locustClasses(lclasses)
	var rc *run.Config
	if file == "" {
		if o.host == "" {
			o.host = host
		}
		rc, err = o.config(cmd, scenarioSource{file: py, text: src, locust: classes}, nil, stdout, stderr)
	} else {
		// A scenario for horde workers beside the locustfile for Locust
		// workers: one swarm, so the same classes.
		rc, err = o.config(cmd, scenarioSource{file: file}, goClasses, stdout, stderr)
		if err == nil {
			// --config-users' weights and fixed counts hold for the whole swarm.
			for _, us := range settings {
				for i := range rc.Classes {
					for _, lc := range classes {
						if rc.Classes[i].Name == us.Class && lc.Name == us.Class {
							rc.Classes[i].Weight, rc.Classes[i].Count = lc.Weight, lc.Count
						}
					}
				}
			}
			err = sameClasses(file, rc.Classes, py, classes)
		}
	}
	if err != nil {
		return err
	}
	cl.Locust = &run.LocustWorkers{File: py, Source: src, UserSettings: settings}
	rc.Cluster = cl
	return runRun(ctx, rc)
}

// workerOptions are the flags of `horde worker`.
type workerOptions struct {
	sourceAddrs string
	masterHost  string
	masterPort  int
	token       string
	masterLost  durationValue
	tls         rpc.TLSFiles // --tls-cert, --tls-key, --tls-ca, --tls-server-name
	logLevel    string
	scenarioDir string
	config      string
}

// newWorkerCmd is `horde worker`: dial out to a master and run its share.
func newWorkerCmd(stdout, stderr io.Writer, lookup env, classes []horde.Class) *cobra.Command {
	o := &workerOptions{}
	o.masterLost.d = cluster.DefaultMasterLostTimeout
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run users for a master (horde master): dial out, take a share, report",
		Long: `Run users for a master. The worker dials out to --master-host:--master-port
(it needs no inbound port), receives the scenario and its data files, runs its
share of the users and reports every few seconds. Without a master for
--master-lost-timeout it stops its users; it reconnects with backoff.

Every flag also reads HORDE_<FLAG> from the environment, e.g.
HORDE_MASTER_HOST or HORDE_WORKER_TOKEN. See docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			if _, err := applyConfig(cmd.Flags(), lookup, o.config); err != nil {
				return err
			}
			return runWorker(cmd.Context(), o, classes, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.masterHost, "master-host", "127.0.0.1", "host of the master")
	f.IntVar(&o.masterPort, "master-port", cluster.DefaultPort, "port of the master")
	f.StringVar(&o.token, "worker-token", "", "token the master requires (--worker-token on the master)")
	f.Var(&o.masterLost, "master-lost-timeout", "stop the users after this long without word from the master")
	f.StringVar(&o.tls.Cert, "tls-cert", "", "client certificate, for a master that requires one (mutual TLS)")
	f.StringVar(&o.tls.Key, "tls-key", "", "private key of --tls-cert")
	f.StringVar(&o.tls.CA, "tls-ca", "", "verify the master's certificate with this CA (enables TLS)")
	f.StringVar(&o.tls.ServerName, "tls-server-name", "", "name to expect in the master's certificate (default: --master-host)")
	addSourceAddrsFlag(f, &o.sourceAddrs)
	f.StringVar(&o.scenarioDir, "scenario-dir", "", "directory for the scenario's data files the master ships (default: a temporary one)")
	f.StringVarP(&o.logLevel, "loglevel", "L", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.config, "config", "", "read options from FILE (Locust's key = value format), after ~/.locust.conf, ./locust.conf and ./horde.conf")
	return cmd
}

func runWorker(ctx context.Context, o *workerOptions, classes []horde.Class, stderr io.Writer) error {
	log, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	if o.masterLost.d <= 0 {
		return badInput("--master-lost-timeout must be > 0")
	}
	d := rpc.Dialer{Addr: net.JoinHostPort(o.masterHost, strconv.Itoa(o.masterPort))}
	if o.tls.Enabled() {
		cfg, err := o.tls.ClientConfig()
		if err != nil {
			return &run.ExitError{Code: ExitBadInput, Err: err}
		}
		d.TLS = cfg
	}
	src, err := sourceAddrs(o.sourceAddrs)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	w, err := worker.New(worker.Config{
		HTTP:              httpload.Options{SourceAddrs: src},
		Hostname:          host,
		Version:           Version,
		Token:             o.token,
		Classes:           classes,
		MasterLostTimeout: o.masterLost.d,
		ScenarioDir:       o.scenarioDir,
		Logger:            log,
	})
	if err != nil {
		return &run.ExitError{Code: ExitBroken, Err: err}
	}
	log.Info("worker starting", "id", w.ID(), "master", d.Addr, "tls", d.TLS != nil, "version", Version)
	if err := w.Run(ctx, d); err != nil {
		return &run.ExitError{Code: ExitBadInput, Err: err}
	}
	return nil
}

// locustClasses are a locustfile's User classes as the master splits
// users over them, and the host they share ("" if they differ or set none).
func locustClasses(lc []locust.UserClass) ([]horde.Class, string) {
	out := make([]horde.Class, len(lc))
	host := lc[0].Host
	for i, c := range lc {
		out[i] = horde.Class{Name: c.Name, Weight: c.Weight, Count: c.FixedCount}
		if c.Host != host {
			host = ""
		}
	}
	return out, host
}

// sameClasses refuses a scenario and a locustfile whose user classes
// differ in names, weights or fixed counts: the master splits one swarm.
func sameClasses(file string, a []horde.Class, py string, b []horde.Class) error {
	desc := func(cs []horde.Class) string {
		var parts []string
		for _, c := range cs {
			if c.Count > 0 {
				parts = append(parts, fmt.Sprintf("%s (fixed_count %d)", c.Name, c.Count))
			} else {
				parts = append(parts, fmt.Sprintf("%s (weight %d)", c.Name, c.Weight))
			}
		}
		return strings.Join(parts, ", ")
	}
	if desc(a) != desc(b) {
		return badInput("%s and %s must have the same user classes, weights and fixed counts, in the same order: %s has %s; %s has %s",
			file, py, file, desc(a), py, desc(b))
	}
	return nil
}
