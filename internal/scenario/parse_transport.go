// This file parses how requests reach the host: tls:, http2:, proxy: and
// compression:, in defaults: and in each request.

package scenario

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Transport is how a step's requests reach their host. Steps with the same
// settings share one Transport, so a user keeps one connection per host for
// them all.
type Transport struct {
	// TLS is the client's TLS configuration for https; nil: the system's
	// roots, full verification.
	TLS *tls.Config
	// HTTP2 is "auto" (by ALPN on https; the default), "true" (h2 required
	// on https), "false" (HTTP/1.1 only) or "h2c" (HTTP/2 with prior
	// knowledge on http://, as "true" on https).
	HTTP2 string
	// Proxy is ProxyEnv (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; the default),
	// ProxyNone, or ProxyURL with ProxyAddr set.
	Proxy     string
	ProxyAddr *url.URL
	key       string
}

// Proxy choices.
const (
	ProxyEnv  = "env"
	ProxyNone = "none"
	ProxyURL  = "url"
)

// HTTP2 choices.
var http2Modes = []string{"auto", "true", "false", "h2c"}

// TLSFlags are TLS settings from the command line (--target-ca,
// --target-cert, --target-key, --insecure-skip-tls-verify); set ones
// override the file's in every request.
type TLSFlags struct {
	CA, Cert, Key      File
	InsecureSkipVerify bool
}

// File is a file's name (for messages) and contents; nil Data: not set.
type File struct {
	Name string
	Data []byte
}

// Check reports a problem with the flags themselves: a CA without a
// certificate in it, a certificate without its key, a key that does not
// match its certificate. Errors name the flags and files.
func (f TLSFlags) Check() error {
	if f.CA.Data != nil {
		if err := checkCA(f.CA.Data); err != nil {
			return fmt.Errorf("--target-ca %s: %v", f.CA.Name, err)
		}
	}
	switch {
	case f.Cert.Data != nil && f.Key.Data == nil:
		return fmt.Errorf("--target-cert %s needs --target-key", f.Cert.Name)
	case f.Key.Data != nil && f.Cert.Data == nil:
		return fmt.Errorf("--target-key %s needs --target-cert", f.Key.Name)
	case f.Cert.Data != nil:
		if _, err := tls.X509KeyPair(f.Cert.Data, f.Key.Data); err != nil {
			return fmt.Errorf("--target-cert %s, --target-key %s: %s", f.Cert.Name, f.Key.Name, keyPairError(err))
		}
	}
	return nil
}

func checkCA(pem []byte) error {
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return errors.New("no PEM certificate in it")
	}
	return nil
}

func keyPairError(err error) string {
	s := strings.TrimPrefix(err.Error(), "tls: ")
	if strings.Contains(s, "does not match") {
		return "the key does not match the certificate (" + s + ")"
	}
	return s
}

var (
	transportKeys = []string{"tls", "http2", "proxy", "compression"}
	tlsKeys       = []string{"ca", "cert", "key", "server_name", "insecure_skip_verify"}
)

// transportSpec is the transport settings as written, before building:
// defaults: gives the first, a request's keys override field by field.
type transportSpec struct {
	ca, cert, key fileSetting
	serverName    *string
	insecure      *bool
	http2         string
	proxy         string // "", "env", "none" or a URL
	proxyPos      Pos
	compression   *bool
}

type fileSetting struct {
	name string // as written
	data []byte
	pos  Pos
	ok   bool // set and read
}

// transportField parses one of transportKeys into spec.
func (p *parser) transportField(spec *transportSpec, e pair) {
	switch e.name {
	case "tls":
		f := p.fields(e.val, "tls", tlsKeys)
		for _, k := range []string{"ca", "cert", "key"} {
			fe, ok := f[k]
			if !ok {
				continue
			}
			name, ok := p.str(fe.val, "tls "+k)
			if !ok {
				continue
			}
			fs := fileSetting{name: name, pos: p.pos(fe.val)}
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.dir, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				p.errorf(fe.val, "tls %s %q: %s", k, name, fileError(err))
				continue
			}
			fs.data, fs.ok = b, true
			switch k {
			case "ca":
				if err := checkCA(b); err != nil {
					p.errorf(fe.val, "tls ca %q: %s", name, err)
					continue
				}
				spec.ca = fs
			case "cert":
				spec.cert = fs
			case "key":
				spec.key = fs
			}
		}
		if fe, ok := f["server_name"]; ok {
			if s, ok := p.str(fe.val, "tls server_name"); ok {
				spec.serverName = &s
			}
		}
		if fe, ok := f["insecure_skip_verify"]; ok {
			if b, ok := p.bool(fe.val, "tls insecure_skip_verify"); ok {
				spec.insecure = &b
			}
		}
	case "http2":
		n, ok := p.scalar(e.val, "http2", "auto, true, false or h2c")
		if !ok {
			return
		}
		v := n.Value
		if n.ShortTag() == "!!bool" {
			var b bool
			if n.Decode(&b) == nil {
				v = fmt.Sprint(b)
			}
		}
		if !slices.Contains(http2Modes, v) {
			p.errorf(n, "http2 is %q; want auto, true, false or h2c", v)
			return
		}
		spec.http2 = v
	case "proxy":
		n, ok := p.scalar(e.val, "proxy", "a proxy URL, env or false")
		if !ok {
			return
		}
		v := n.Value
		switch {
		case n.ShortTag() == "!!bool" && (v == "false" || v == "False" || v == "FALSE" || v == "no" || v == "off"):
			v = ProxyNone
		case v == ProxyEnv || v == ProxyNone:
		default:
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
				p.errorf(n, "proxy %q is not a proxy URL like http://proxy:3128 (or env, or false)", v)
				return
			}
		}
		spec.proxy, spec.proxyPos = v, p.pos(n)
	case "compression":
		if b, ok := p.bool(e.val, "compression"); ok {
			spec.compression = &b
		}
	}
}

func fileError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// transportSpecs reads the transport keys of a defaults: or request
// mapping whose keys f were already checked, over base.
func (p *parser) transportSpecs(base transportSpec, f map[string]pair) transportSpec {
	spec := base
	for _, k := range transportKeys {
		if e, ok := f[k]; ok {
			p.transportField(&spec, e)
		}
	}
	return spec
}

// transport builds (once per distinct settings) the Transport of spec with
// the command line's flags over it.
func (p *parser) transport(spec transportSpec) *Transport {
	fl := p.opts.TLS
	if fl.CA.Data != nil {
		spec.ca = fileSetting{name: fl.CA.Name, data: fl.CA.Data, ok: true}
	}
	if fl.Cert.Data != nil {
		spec.cert = fileSetting{name: fl.Cert.Name, data: fl.Cert.Data, ok: true}
		spec.key = fileSetting{name: fl.Key.Name, data: fl.Key.Data, ok: true}
	}
	if fl.InsecureSkipVerify {
		t := true
		spec.insecure = &t
	}
	var k strings.Builder
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:8]) }
	for _, f := range []fileSetting{spec.ca, spec.cert, spec.key} {
		if f.ok {
			k.WriteString(sum(f.data))
		}
		k.WriteByte('|')
	}
	if spec.serverName != nil {
		k.WriteString("sn=" + *spec.serverName)
	}
	if spec.insecure != nil && *spec.insecure {
		k.WriteString("|insecure")
	}
	k.WriteString("|" + spec.http2 + "|" + spec.proxy)
	key := k.String()
	if t, ok := p.transports[key]; ok {
		return t
	}
	t := &Transport{HTTP2: spec.http2, Proxy: ProxyEnv, key: key}
	if t.HTTP2 == "" {
		t.HTTP2 = "auto"
	}
	switch spec.proxy {
	case "", ProxyEnv:
	case ProxyNone:
		t.Proxy = ProxyNone
	default:
		t.Proxy = ProxyURL
		t.ProxyAddr, _ = url.Parse(spec.proxy)
	}
	var cfg *tls.Config
	newCfg := func() *tls.Config {
		if cfg == nil {
			cfg = &tls.Config{}
		}
		return cfg
	}
	if spec.ca.ok {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(spec.ca.data)
		newCfg().RootCAs = pool
	}
	switch {
	case spec.cert.ok && spec.key.ok:
		pair, err := tls.X509KeyPair(spec.cert.data, spec.key.data)
		if err != nil {
			p.errorAt(spec.key.pos, "tls cert %q, key %q: %s", spec.cert.name, spec.key.name, keyPairError(err))
		} else {
			newCfg().Certificates = []tls.Certificate{pair}
		}
	case spec.cert.ok:
		p.errorAt(spec.cert.pos, "tls cert %q has no key: add key: with its private key file", spec.cert.name)
	case spec.key.ok:
		p.errorAt(spec.key.pos, "tls key %q has no cert: add cert: with its certificate file", spec.key.name)
	}
	if spec.serverName != nil {
		newCfg().ServerName = *spec.serverName
	}
	if spec.insecure != nil && *spec.insecure {
		newCfg().InsecureSkipVerify = true
	}
	t.TLS = cfg
	p.transports[key] = t
	return t
}

// TransportFiles returns the files named by the tls: settings anywhere in a
// scenario (ca, cert and key), in the order written, for shipping to
// workers with the data files. A scenario that does not parse has none.
func TransportFiles(src []byte) []string {
	var doc yaml.Node
	if decodeYAML(src, &doc) != nil {
		return nil
	}
	var out []string
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > 64 || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "tls" && v.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(v.Content); j += 2 {
						if slices.Contains([]string{"ca", "cert", "key"}, v.Content[j].Value) && v.Content[j+1].Kind == yaml.ScalarNode && v.Content[j+1].Value != "" {
							if f := v.Content[j+1].Value; !slices.Contains(out, f) {
								out = append(out, f)
							}
						}
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(&doc, 0)
	return out
}

// FlagsTLS is the TLS configuration the command line's flags alone give
// (nil when none is set): for requests no tls: setting reaches, those of
// Starlark scripts and Go user classes. fl is assumed Checked.
func FlagsTLS(fl TLSFlags) *tls.Config {
	if fl.CA.Data == nil && fl.Cert.Data == nil && !fl.InsecureSkipVerify {
		return nil
	}
	p := &parser{opts: Options{TLS: fl}, transports: map[string]*Transport{}}
	return p.transport(transportSpec{}).TLS
}
