//go:build !linux

package harness

import "os/exec"

// setDeathSignal does nothing where the kernel offers no parent-death
// signal: the harness stops its servers itself.
func setDeathSignal(*exec.Cmd) {}
