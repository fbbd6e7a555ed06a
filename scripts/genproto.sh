#!/usr/bin/env bash
# Regenerates internal/cluster/clusterpb from proto/horde/cluster/v1/*.proto.
# Needs protoc (apt-get install -y protobuf-compiler) and the pinned plugins:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
protoc -I proto \
	--go_out=internal/cluster/clusterpb --go_opt=paths=source_relative \
	--go-grpc_out=internal/cluster/clusterpb --go-grpc_opt=paths=source_relative \
	horde/cluster/v1/cluster.proto
# source_relative puts the files under horde/cluster/v1; move them up.
mv internal/cluster/clusterpb/horde/cluster/v1/*.go internal/cluster/clusterpb/
rm -r internal/cluster/clusterpb/horde
