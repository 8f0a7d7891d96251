package inspector

import (
	"errors"
	"fmt"
)

// Explain turns an error from Attach or Snapshot into the one line aioscope shows users (the
// CLI on stderr, the debug adapter in its error responses): what is wrong and what to do.
func Explain(err error) string {
	var (
		notFound  *ProcessNotFoundError
		gone      *ProcessGoneError
		perm      *PermissionError
		notPython *NotPythonError
		noAsyncio *AsyncioNotLoadedError
		changed   *TargetChangedError
	)
	switch {
	case errors.As(err, &notFound):
		return fmt.Sprintf("no process with PID %d (check the PID with ps or pgrep)", notFound.PID)
	case errors.As(err, &gone):
		return fmt.Sprintf("process %d has exited", gone.PID)
	case errors.As(err, &perm):
		return fmt.Sprintf("permission denied reading process %d: run aioscope as root, or as the "+
			"target's user with ptrace allowed (kernel.yama.ptrace_scope 0, or CAP_SYS_PTRACE); "+
			"in a container add --cap-add SYS_PTRACE or use kubectl debug --profile=general", perm.PID)
	case errors.As(err, &notPython):
		return notPython.Error() + " (is this the right PID?)"
	case errors.As(err, &noAsyncio):
		return noAsyncio.Error()
	case errors.As(err, &changed):
		return changed.Error() + "; try again, or raise --retries"
	}
	return err.Error()
}
