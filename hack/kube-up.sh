#!/usr/bin/env bash
# kube-up.sh: a real single-node Kubernetes on this machine, built from source, no image registry.
# etcd, containerd, runc, CNI plugins: Debian. kube-apiserver, -controller-manager, -scheduler,
# kubelet, kube-proxy: built from the k8s.io/kubernetes module. CoreDNS: built, run as a host process.
# Images are docker-archive tars imported with ctr (see mkimage.sh). Pods: 10.244.0.0/24 on bridge cni0.
# kubectl is built too ($KUBE_DIR/bin/kubectl), so a fresh machine needs none of its own.
# Usage: kube-up.sh up | down | build | import IMAGE.tar   (KUBE_DIR=base dir, default $TMPDIR/kube)
# down ends every process up started, by pid, and removes the bridge (and the Service range's route
# to it), the iptables rules, the mounts and the cluster's state; the built binaries stay.
# Root only; about 6 minutes the first time on 2 cores (module downloads and builds), seconds after.
# docs/kubernetes.md ("The test cluster") says why each unusual setting is there.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
K=${KUBE_DIR:-${TMPDIR:-/tmp}/kube}; V=${KUBE_VERSION:-1.32.4}; SV=0.${V#1.}
BIN=$K/bin; RUN=$K/run; mkdir -p $BIN $RUN; export PATH=$BIN:$PATH
ctr_() { ctr -a $RUN/containerd.sock -n k8s.io "$@"; }
build() {
  [ -x $BIN/kubelet ] && [ -x $BIN/kubectl ] && [ -x $BIN/coredns ] && [ -x $BIN/pause ] && return
  local m=$K/mod; mkdir -p $m; cd $m
  printf 'module kubebuild\n\ngo 1.24\n\nrequire k8s.io/kubernetes v%s\n' $V > go.mod
  for s in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
    echo "replace k8s.io/$s => k8s.io/$s v$SV" >> go.mod; done
  printf '//go:build tools\npackage kubebuild\nimport (\n' > tools.go
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' $c >> tools.go; done; echo ')' >> tools.go
  # the checksum database does not know these staged modules; the versions are pinned above
  GOSUMDB=off GOFLAGS=-mod=mod go mod tidy
  GOSUMDB=off GOFLAGS=-mod=mod go build -o $BIN/ k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl
  GOBIN=$BIN go install github.com/coredns/coredns@v1.11.4
  mkdir -p $K/pause && cd $K/pause && printf 'module pause\n\ngo 1.22\n' > go.mod
  printf 'package main\n\nimport (\n\t"os"\n\t"os/signal"\n\t"syscall"\n)\n\nfunc main() {\n\tc := make(chan os.Signal, 1)\n\tsignal.Notify(c, syscall.SIGINT, syscall.SIGTERM)\n\t<-c\n}\n' > main.go
  CGO_ENABLED=0 go build -o $BIN/pause .
}
bg() { local name=$1; shift; "$@" >$RUN/$name.log 2>&1 & echo $! > $RUN/$name.pid; }
wait_for() { local i; for i in $(seq 1 ${2:-60}); do eval "$1" >/dev/null 2>&1 && return; sleep 1; done; echo "kube-up: timed out waiting for: $1" >&2; exit 1; }
up() {
  command -v etcd >/dev/null && command -v containerd >/dev/null && command -v iptables >/dev/null && [ -x /usr/lib/cni/bridge ] || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server containerd runc containernetworking-plugins iptables openssl >/dev/null; }
  build; cd $RUN
  [ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
  echo "admintoken,admin,admin,system:masters" > tokens.csv
  cat > kubeconfig <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: admintoken}}]
contexts: [{name: local, context: {cluster: local, user: admin}}]
current-context: local
KC
  ip link show cni0 >/dev/null 2>&1 || { ip link add cni0 type bridge; ip addr add 10.244.0.1/24 dev cni0; ip link set cni0 up; }
  # Nothing addressed to the cluster may leave this machine. The Service range is routed to the pod
  # bridge: a packet that kube-proxy did not rewrite to a pod (no rule yet, no endpoint) dies there
  # unanswered ("no route to host" after ~3 s) instead of following the default route off the
  # machine. Pods are not forwarded to any other interface.
  ip route replace 10.96.0.0/16 dev cni0 src 10.244.0.1
  iptables -C FORWARD -i cni0 ! -o cni0 -j DROP 2>/dev/null || iptables -I FORWARD -i cni0 ! -o cni0 -j DROP
  # (a test of the output, not `| grep -q`: grep's early exit could fail the pipe under pipefail)
  [[ "$(ip route get 10.96.255.254) " == *" dev cni0 "* ]] || { echo "kube-up: the Service range is not routed locally: $(ip route get 10.96.255.254)" >&2; exit 1; }
  mkdir -p $RUN/cni
  cat > $RUN/cni/10-bridge.conflist <<CNI
{"cniVersion":"0.4.0","name":"k8s-pods","plugins":[
 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"hairpinMode":true,
  "ipam":{"type":"host-local","dataDir":"$RUN/ipam","ranges":[[{"subnet":"10.244.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}}, {"type":"loopback"}]}
CNI
  # restrict_oom_score_adj: this sandbox lacks CAP_SYS_RESOURCE, so a negative oom_score_adj (the
  # pod sandbox asks for -998) fails inside runc with "can't get final child's PID from pipe"
  cat > containerd.toml <<CT
version = 2
root = "$RUN/containerd"
state = "$RUN/containerd-state"
[grpc]
  address = "$RUN/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN/cni"
CT
  bg etcd etcd --data-dir $RUN/etcd --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 --listen-peer-urls http://127.0.0.1:12380
  bg containerd containerd --config containerd.toml
  wait_for "[ -S $RUN/containerd.sock ]" 30
  $HERE/mkimage.sh registry.k8s.io/pause:3.6 $RUN/pause.tar $BIN/pause && ctr_ images import $RUN/pause.tar >/dev/null
  bg apiserver $BIN/kube-apiserver --etcd-servers=http://127.0.0.1:12379 --bind-address=127.0.0.1 --secure-port=16443 \
    --cert-dir=$RUN/certs --token-auth-file=tokens.csv --authorization-mode=Node,RBAC --advertise-address=10.244.0.1 \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file=sa.pub \
    --service-account-signing-key-file=sa.key --service-cluster-ip-range=10.96.0.0/16 \
    --kubelet-preferred-address-types=InternalIP
  wait_for "kubectl --kubeconfig kubeconfig get --raw /readyz" 90
  bg controller-manager $BIN/kube-controller-manager --kubeconfig=kubeconfig --authentication-kubeconfig=kubeconfig \
    --authorization-kubeconfig=kubeconfig --service-account-private-key-file=sa.key --root-ca-file=certs/apiserver.crt \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=false
  bg scheduler $BIN/kube-scheduler --kubeconfig=kubeconfig --authentication-kubeconfig=kubeconfig \
    --authorization-kubeconfig=kubeconfig --bind-address=127.0.0.1 --leader-elect=false
  cat > kubelet.yaml <<KL
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$RUN/containerd.sock
failSwapOn: false
failCgroupV1: false
clusterDNS: [10.244.0.1]
clusterDomain: cluster.local
address: 10.244.0.1
readOnlyPort: 0
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
KL
  bg kubelet $BIN/kubelet --config=kubelet.yaml --kubeconfig=kubeconfig --root-dir=$RUN/kubelet --hostname-override=node1 --node-ip=10.244.0.1
  bg proxy $BIN/kube-proxy --kubeconfig=kubeconfig --hostname-override=node1 --proxy-mode=iptables \
    --cluster-cidr=10.244.0.0/24 --bind-address=127.0.0.1 --metrics-bind-address=127.0.0.1:10249 \
    --healthz-bind-address=127.0.0.1:10256 --conntrack-max-per-core=0
  cat > Corefile <<CF
cluster.local:53 {
    bind 10.244.0.1
    kubernetes cluster.local {
        kubeconfig $RUN/kubeconfig local
    }
}
.:53 {
    bind 10.244.0.1
    template ANY ANY {
        rcode NXDOMAIN
    }
}
CF
  bg coredns $BIN/coredns -conf Corefile
  wait_for "kubectl --kubeconfig kubeconfig get node node1 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True" 90
  wait_for "kubectl --kubeconfig kubeconfig get serviceaccount default" 60
  echo "kube-up: ready, the Service range 10.96.0.0/16 routed to cni0; export KUBECONFIG=$RUN/kubeconfig"
}
down() {
  set +e; local n pids=""; for n in coredns proxy kubelet scheduler controller-manager apiserver containerd etcd; do
    [ -f $RUN/$n.pid ] && pids="$pids $(cat $RUN/$n.pid)"; rm -f $RUN/$n.pid; done
  [ -n "$pids" ] && kill $pids 2>/dev/null
  local p alive; for n in $(seq 1 30); do
    alive=; for p in $pids; do kill -0 $p 2>/dev/null && alive=1; done; [ -z "$alive" ] && break; sleep 0.5; done
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  # pods' shims outlive containerd; end them by the pids containerd recorded
  local t; for t in $RUN/containerd-state/io.containerd.runtime.v2.task/k8s.io/*/; do
    [ -d "$t" ] || continue # no task: the glob stayed as written
    [ -f $t/init.pid ] && kill -9 $(cat $t/init.pid) 2>/dev/null
    kill -9 $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -id $(basename $t)") 2>/dev/null; done
  [ -x $BIN/kube-proxy ] && $BIN/kube-proxy --cleanup >/dev/null 2>&1
  awk -v r="$RUN/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  ip link del cni0 2>/dev/null   # takes the Service range's route with it
  command -v iptables >/dev/null && while iptables -D FORWARD -i cni0 ! -o cni0 -j DROP 2>/dev/null; do :; done
  # the kubelet's own chains (KUBE-FIREWALL, the canaries), which kube-proxy --cleanup leaves
  local ipt tbl ch; for ipt in iptables ip6tables; do command -v $ipt >/dev/null || continue
    for ch in INPUT OUTPUT; do while $ipt -t filter -D $ch -j KUBE-FIREWALL 2>/dev/null; do :; done; done
    for tbl in filter nat mangle; do
      for ch in $($ipt -t $tbl -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do $ipt -t $tbl -F $ch; done
      for ch in $($ipt -t $tbl -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do $ipt -t $tbl -X $ch; done
    done; done 2>/dev/null
  # the cluster's state goes too (etcd, containerd, kubelet): every `up` is a fresh cluster;
  # $BIN and the module cache stay, so it takes seconds
  rm -rf --one-file-system $RUN
  return 0
}
case ${1:-up} in
  up) up ;; down) down ;; build) build ;; import) ctr_ images import "$2" ;;
  *) echo "usage: kube-up.sh up|down|build|import IMAGE.tar" >&2; exit 2 ;;
esac
