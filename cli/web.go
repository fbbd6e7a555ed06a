package cli

import (
	"github.com/spf13/pflag"
)

// webOptions are the flags of the web UI and HTTP API (Locust's names).
type webOptions struct {
	host      string
	port      int
	auth      string // user:pass, HTTP Basic
	token     string // Bearer token
	tlsCert   string
	tlsKey    string
	autostart bool
	autoquit  int
}

func addWebFlags(f *pflag.FlagSet, w *webOptions) {
	f.StringVar(&w.host, "web-host", "127.0.0.1", "address the web UI and HTTP API listen on")
	f.IntVarP(&w.port, "web-port", "P", 8089, "port of the web UI and HTTP API")
	f.StringVar(&w.auth, "web-auth", "", "protect the web UI and API with HTTP Basic auth, user:pass")
	f.StringVar(&w.token, "web-token", "", "protect the web UI and API with a Bearer token")
	f.StringVar(&w.tlsCert, "tls-cert", "", "serve the web UI over HTTPS with this certificate")
	f.StringVar(&w.tlsKey, "tls-key", "", "private key of --tls-cert")
	f.BoolVar(&w.autostart, "autostart", false, "with the web UI, start the test at once")
	f.IntVar(&w.autoquit, "autoquit", -1, "with --autostart, quit this many seconds after the run ends (-1: never)")
}
