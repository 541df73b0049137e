//go:build !unix

package bench

import (
	"errors"
	"time"
)

// processCPU is not available here: the HTTP load measure needs
// getrusage.
func processCPU() (time.Duration, error) {
	return 0, errors.New("bench: process CPU time is measured on Unix only")
}
