package harness

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the server should the harness die
// first, so that no server outlives a run.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
