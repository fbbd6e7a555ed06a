//go:build !unix

package target

import "errors"

// SetMaxFDs is not supported here.
func SetMaxFDs(n uint64) error { return errors.New("--max-fds needs a Unix system") }
