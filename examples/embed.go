// Package examples holds the example scenarios; the seed workload is built
// into the binary for `horde demo`.
package examples

import _ "embed"

// SeedAPI is examples/seed-api.yaml: the seed locustfile translated.
//
//go:embed seed-api.yaml
var SeedAPI []byte
