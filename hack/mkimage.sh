#!/usr/bin/env bash
# mkimage.sh NAME:TAG OUT.tar FILE... : a one-layer docker-archive image, no Docker needed.
# The FILEs go to /usr/local/bin (plus an empty /tmp); the first one's name is the entrypoint,
# found on PATH as in deploy/Dockerfile's distroless base; the user is 65532 (non-root), as there.
# Load it into the local cluster with: hack/kube-up.sh import OUT.tar
set -eu
ref=$1; out=$(realpath -m "$2"); shift 2
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
mkdir -p "$d/root/tmp" "$d/root/usr/local/bin"; chmod 1777 "$d/root/tmp"
for f in "$@"; do cp "$f" "$d/root/usr/local/bin/"; done
(cd "$d/root" && tar --owner=0 --group=0 --sort=name --mtime=@0 -cf ../layer.tar .)
diff=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["%s"],"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"User":"65532:65532"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$(basename "$1")" "$diff" > "$d/config.json"
cfg=$(sha256sum "$d/config.json" | cut -d' ' -f1); mv "$d/config.json" "$d/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$ref" > "$d/manifest.json"
(cd "$d" && tar -cf "$out" manifest.json "$cfg.json" layer.tar)
