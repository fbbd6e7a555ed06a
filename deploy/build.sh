#!/bin/sh
# build.sh OUT [VERSION]: the horde binary as the image ships it, static (no cgo), without
# local paths (-trimpath), stripped. deploy/Dockerfile runs this, and so does deploy/test's
# real-cluster tier, so the image it tests is built the same way.
set -eu
out=$1; version=${2:-}
ldflags="-s -w"
[ -n "$version" ] && ldflags="$ldflags -X github.com/horde-load/horde/cli.Version=$version"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out" github.com/horde-load/horde/cmd/horde
