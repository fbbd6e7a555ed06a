// Package grpcload calls gRPC methods whose messages are known only at run
// time: from .proto files compiled when the scenario is loaded
// (github.com/bufbuild/protocompile) or from the server's reflection
// service. Messages are dynamicpb messages written and read as JSON
// (protojson), so a scenario writes them as YAML.
package grpcload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Schema is a set of compiled .proto files.
type Schema struct {
	files *protoregistry.Files
	// Read are the files the compiler opened, relative to the directory
	// they were compiled in (the named files and their local imports),
	// for a master to ship to workers.
	Read []string
}

// maxProtoBytes bounds one .proto file.
const maxProtoBytes = 8 << 20

// Compile compiles the .proto files named relative to dir (imports are
// resolved against dir too; the well-known google/protobuf files are
// built in). Errors name the place in the .proto file.
func Compile(ctx context.Context, dir string, names []string) (*Schema, error) {
	s := &Schema{}
	var mu sync.Mutex // the compiler opens files concurrently
	acc := &protocompile.SourceResolver{
		Accessor: func(path string) (io.ReadCloser, error) {
			full := path
			if !filepath.IsAbs(full) {
				full = filepath.Join(dir, path)
			}
			st, err := os.Stat(full)
			if err != nil {
				return nil, err
			}
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file", path)
			}
			if st.Size() > maxProtoBytes {
				return nil, fmt.Errorf("%s: larger than %d MiB", path, maxProtoBytes>>20)
			}
			f, err := os.Open(full)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			if !filepath.IsAbs(path) && !slices.Contains(s.Read, path) {
				s.Read = append(s.Read, filepath.ToSlash(path))
			}
			mu.Unlock()
			return f, nil
		},
	}
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(acc),
		SourceInfoMode: protocompile.SourceInfoNone,
		Reporter:       reporter.NewReporter(nil, nil), // the first error stops
	}
	files, err := c.Compile(ctx, names...)
	if err != nil {
		return nil, protoError(err)
	}
	reg := new(protoregistry.Files)
	var add func(fd protoreflect.FileDescriptor) error
	add = func(fd protoreflect.FileDescriptor) error {
		if _, err := reg.FindFileByPath(fd.Path()); err == nil {
			return nil
		}
		imps := fd.Imports()
		for i := range imps.Len() {
			if err := add(imps.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return reg.RegisterFile(fd)
	}
	for _, f := range files {
		if err := add(f); err != nil {
			return nil, err
		}
	}
	s.files = reg
	slices.Sort(s.Read)
	return s, nil
}

// protoError shortens the compiler's error: a missing file's *PathError
// reads "open /abs/x.proto: no such file".
func protoError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", filepath.Base(pe.Path), pe.Err)
	}
	return err
}

// Method finds a method by its name, written /pkg.Service/Method,
// pkg.Service/Method or pkg.Service.Method.
func (s *Schema) Method(name string) (protoreflect.MethodDescriptor, error) {
	return findMethod(s.files, name)
}

// Services lists the services the schema defines, for error messages.
func (s *Schema) Services() []string {
	var out []string
	s.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		ss := fd.Services()
		for i := range ss.Len() {
			out = append(out, string(ss.Get(i).FullName()))
		}
		return true
	})
	slices.Sort(out)
	return out
}

// SplitMethod splits a method name into its service and method:
// "/pkg.Svc/M", "pkg.Svc/M" and "pkg.Svc.M" all give ("pkg.Svc", "M").
func SplitMethod(name string) (service, method string, err error) {
	n := strings.TrimPrefix(strings.TrimSpace(name), "/")
	i := strings.LastIndexByte(n, '/')
	if i < 0 {
		i = strings.LastIndexByte(n, '.')
	}
	if i <= 0 || i == len(n)-1 {
		return "", "", fmt.Errorf("method %q: want /package.Service/Method", name)
	}
	service, method = n[:i], n[i+1:]
	if !protoreflect.FullName(service).IsValid() || !protoreflect.Name(method).IsValid() {
		return "", "", fmt.Errorf("method %q: want /package.Service/Method", name)
	}
	return service, method, nil
}

// FullMethod is the method's name on the wire: /package.Service/Method.
func FullMethod(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

type resolver interface {
	FindDescriptorByName(protoreflect.FullName) (protoreflect.Descriptor, error)
}

func findMethod(r resolver, name string) (protoreflect.MethodDescriptor, error) {
	svc, m, err := SplitMethod(name)
	if err != nil {
		return nil, err
	}
	d, err := r.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, fmt.Errorf("no service %s", svc)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(m))
	if md == nil {
		var names []string
		for i := range sd.Methods().Len() {
			names = append(names, string(sd.Methods().Get(i).Name()))
		}
		return nil, fmt.Errorf("service %s has no method %s (it has %s)", svc, m, strings.Join(names, ", "))
	}
	return md, nil
}

// Files are the compiled files, for a resolver (a reflection service).
func (s *Schema) Files() *protoregistry.Files { return s.files }
