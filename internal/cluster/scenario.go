package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/horde-load/horde/internal/scenario"
)

// Scenario is a scenario file and the data files it names, as the master
// read them, shipped to each worker when it joins: a worker needs no copy.
type Scenario struct {
	Name   string            // the file's name, for error messages
	Source []byte            // the YAML
	Files  map[string][]byte // data files, by the path the YAML names them with
	Hash   string            // see ComputeHash
	Host   string            // the master's -H, if any
	// TLS is the master's TLS flags for the target (--target-ca, ...),
	// applied by workers as the master applies them.
	TLS scenario.TLSFlags
	// Tags and ExcludeTags select the tasks workers keep (--tags,
	// --exclude-tags); empty: all.
	Tags, ExcludeTags []string
}

// NewScenario bundles the scenario read from path (src) with the data files
// (feeders' CSV files, and the tls: settings' CA, certificate and key files)
// it names by relative path, and the other files it read (files: scripts,
// their modules and feeders), read relative to path's directory. Data files
// named by an absolute path are not shipped: every worker must have them at
// that path.
func NewScenario(path string, src []byte, host string, tlsFlags scenario.TLSFlags, files ...string) (*Scenario, error) {
	s := &Scenario{Name: filepath.Base(path), Source: src, Files: map[string][]byte{}, Host: host, TLS: tlsFlags}
	dir := filepath.Dir(path)
	for _, f := range append(append(DataFiles(src), scenario.TransportFiles(src)...), files...) {
		if filepath.IsAbs(f) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("scenario data file: %w", err)
		}
		s.Files[f] = b
	}
	s.Hash = s.ComputeHash()
	return s, nil
}

// DataFiles returns the files a scenario reads: those its requests send
// (body_file, multipart files), then the file of every entry of its data:
// section, in the order written. A scenario that does not parse has none (the
// scenario compiler reports its errors).
func DataFiles(src []byte) []string {
	var doc struct {
		Data  yaml.Node `yaml:"data"`
		Users yaml.Node `yaml:"users"`
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil
	}
	out := requestFiles(&doc.Users)
	if doc.Data.Kind != yaml.MappingNode {
		return out
	}
	for i := 1; i < len(doc.Data.Content); i += 2 {
		var f struct {
			File string `yaml:"file"`
		}
		if err := doc.Data.Content[i].Decode(&f); err == nil && f.File != "" {
			out = append(out, f.File)
		}
	}
	return out
}

// ComputeHash returns the hex SHA-256 of the name, source and files.
func (s *Scenario) ComputeHash() string {
	h := sha256.New()
	put := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put([]byte(s.Name))
	put(s.Source)
	put([]byte(s.Host))
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		put([]byte(n))
		put(s.Files[n])
	}
	if len(s.Tags)+len(s.ExcludeTags) > 0 { // (a hash without them is unchanged)
		put([]byte("tags"))
		put([]byte(strings.Join(s.Tags, "\x00")))
		put([]byte(strings.Join(s.ExcludeTags, "\x00")))
	}
	if t := s.TLS; t.CA.Data != nil || t.Cert.Data != nil || t.Key.Data != nil || t.InsecureSkipVerify {
		put([]byte("target tls"))
		for _, f := range []scenario.File{t.CA, t.Cert, t.Key} {
			put([]byte(f.Name))
			put(f.Data)
		}
		put([]byte(fmt.Sprint(t.InsecureSkipVerify)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Materialize writes the scenario's data files under root, laid out as
// they were beside the scenario, and returns the directory to compile the
// scenario in (relative data paths resolve against it). Paths that climb
// with ".." get as many directory levels above the returned one.
func (s *Scenario) Materialize(root string) (string, error) {
	depth := 0
	for name := range s.Files {
		clean := filepath.Clean(filepath.FromSlash(name))
		up := 0
		for _, part := range strings.Split(clean, string(filepath.Separator)) {
			if part != ".." {
				break
			}
			up++
		}
		depth = max(depth, up)
	}
	dir := root
	for range depth {
		dir = filepath.Join(dir, "up")
	}
	dir = filepath.Join(dir, "scenario")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, b := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("data file %q: outside the scenario tree", name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}
