// Package clusterpb is generated from proto/horde/cluster/v1/cluster.proto;
// never edit the generated files by hand.
package clusterpb

//go:generate bash ../../../scripts/genproto.sh
