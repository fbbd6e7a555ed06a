// This file parses defaults: and data: (the feeders).

package scenario

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/horde-load/horde/internal/srcaddr"
	"go.yaml.in/yaml/v3"
)

// defaults parses defaults: into the parser; it returns source_addrs:,
// which is the plan's rather than any request's.
func (p *parser) defaults(n *yaml.Node) *srcaddr.Addrs {
	f := p.fields(n, "defaults", defaultsKeys)
	var src *srcaddr.Addrs
	if e, ok := f["source_addrs"]; ok {
		src = p.sourceAddrs(e.val)
	}
	if e, ok := f["headers"]; ok {
		p.defHeaders = p.headers(e.val)
	}
	if e, ok := f["timeout"]; ok {
		p.defTimeout, _ = p.duration(e.val, "timeout")
	}
	p.defSpec = p.transportSpecs(transportSpec{}, f)
	if e, ok := f["auth"]; ok {
		p.defAuth = &Step{}
		p.auth(e, p.defAuth, f)
	}
	return src
}

// sourceAddrs reads source_addrs: a string of addresses and ranges
// ("127.0.0.2-127.0.0.9", "10.0.0.5,10.0.0.6") or a list of them.
func (p *parser) sourceAddrs(n *yaml.Node) *srcaddr.Addrs {
	var s string
	if n.Kind == yaml.SequenceNode {
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			v, ok := p.str(c, "source_addrs")
			if !ok {
				return nil
			}
			parts = append(parts, v)
		}
		s = strings.Join(parts, ",")
	} else {
		v, ok := p.str(n, "source_addrs")
		if !ok {
			return nil
		}
		s = v
	}
	src, err := srcaddr.Parse(s)
	if err != nil {
		p.errorf(n, "source_addrs: %v", err)
		return nil
	}
	return src
}

func (p *parser) data(n *yaml.Node, plan *Plan) {
	ps, _ := p.pairs(n, "data")
	for _, e := range ps {
		name := e.name
		p.feeders[name] = true
		if !identRE.MatchString(name) {
			p.errorf(e.key, "feeder name %q must be letters, digits and _ (templates read it as {{ .%s.column }})", name, name)
		}
		what := fmt.Sprintf("feeder %s", name)
		f := p.fields(e.val, what, feederKeys)
		if f == nil {
			continue
		}
		mode := FeedSequential
		if m, ok := f["mode"]; ok {
			if s, ok := p.str(m.val, "mode"); ok {
				if !slices.Contains(feedModes, s) {
					msg := fmt.Sprintf("unknown mode %q for %s; want sequential, random or unique", s, what)
					if sug := suggest(s, feedModes); sug != "" {
						msg = fmt.Sprintf("unknown mode %q for %s; did you mean %q?", s, what, sug)
					}
					p.errorf(m.val, "%s", msg)
				}
				mode = s
			}
		}
		fe, ok := p.need(f, "file", e.key, what, "name its CSV file")
		if !ok {
			continue
		}
		file, ok := p.str(fe.val, "file")
		if !ok {
			continue
		}
		path := file
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.dir, path)
		}
		cols, rows, err := readCSV(path)
		if err != nil {
			p.errorf(fe.val, "data file %q: %s", file, err)
			continue
		}
		if !slices.Contains(feedModes, mode) {
			continue
		}
		feeder, err := NewFeeder(name, mode, cols, rows)
		if err != nil {
			p.errorf(fe.val, "data file %q: %s", file, err)
			continue
		}
		if pf, ok := f["prefetch"]; ok {
			if n, ok := p.int(pf.val, "prefetch"); ok {
				switch {
				case n < 0:
					p.errorf(pf.val, "prefetch of %s must be >= 0, got %d", what, n)
				case mode == FeedRandom:
					p.errorf(pf.val, "prefetch of %s: a random feeder is not leased (each worker picks its own rows)", what)
				default:
					feeder.Prefetch = n
				}
			}
		}
		plan.Feeders[name] = feeder
	}
}
