package grpcload

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// maxReflectFiles bounds the files one reflection lookup may fetch.
const maxReflectFiles = 1000

// Reflect asks the server's reflection service (grpc.reflection.v1) for
// the method name (/pkg.Service/Method) and the files it needs.
func Reflect(ctx context.Context, conn grpc.ClientConnInterface, name string) (protoreflect.MethodDescriptor, error) {
	svc, _, err := SplitMethod(name)
	if err != nil {
		return nil, err
	}
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	defer stream.CloseSend()
	got := map[string]*descriptorpb.FileDescriptorProto{}
	ask := func(req *rpb.ServerReflectionRequest) error {
		if err := stream.Send(req); err != nil {
			return fmt.Errorf("reflection: %w", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("reflection: %w", err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			return fmt.Errorf("reflection: %s", e.GetErrorMessage())
		}
		fds := resp.GetFileDescriptorResponse()
		if fds == nil {
			return fmt.Errorf("reflection: unexpected answer")
		}
		for _, b := range fds.GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(b, fd); err != nil {
				return fmt.Errorf("reflection: bad file descriptor: %w", err)
			}
			got[fd.GetName()] = fd
		}
		return nil
	}
	if err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc}}); err != nil {
		return nil, err
	}
	// fetch the dependencies the server did not send with the file
	for {
		var missing string
		for _, fd := range got {
			for _, dep := range fd.GetDependency() {
				if _, ok := got[dep]; ok {
					continue
				}
				if _, err := protoregistry.GlobalFiles.FindFileByPath(dep); err == nil {
					continue // well-known types are linked in
				}
				missing = dep
			}
		}
		if missing == "" {
			break
		}
		if len(got) > maxReflectFiles {
			return nil, fmt.Errorf("reflection: more than %d files", maxReflectFiles)
		}
		if err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: missing}}); err != nil {
			return nil, err
		}
		if _, ok := got[missing]; !ok {
			return nil, fmt.Errorf("reflection: the server did not send %s", missing)
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range got {
		set.File = append(set.File, fd)
	}
	// well-known imports come from the linked-in registry
	files, err := protodesc.FileOptions{AllowUnresolvable: false}.NewFiles(withWellKnown(set))
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	return findMethod(files, name)
}

// withWellKnown adds the linked-in files the set imports but lacks.
func withWellKnown(set *descriptorpb.FileDescriptorSet) *descriptorpb.FileDescriptorSet {
	have := map[string]bool{}
	for _, f := range set.File {
		have[f.GetName()] = true
	}
	var add func(name string)
	add = func(name string) {
		if have[name] {
			return
		}
		fd, err := protoregistry.GlobalFiles.FindFileByPath(name)
		if err != nil {
			return
		}
		have[name] = true
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
		imps := fd.Imports()
		for i := range imps.Len() {
			add(imps.Get(i).Path())
		}
	}
	for _, f := range slices.Clone(set.File) {
		for _, dep := range f.GetDependency() {
			add(dep)
		}
	}
	return set
}
