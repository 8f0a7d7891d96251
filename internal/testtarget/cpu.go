package testtarget

import (
	"syscall"
	"testing"
	"time"
)

// OwnCPU returns the user and system time the calling process (the test binary, every thread
// of it) has used. A benchmark whose work runs partly on helper goroutines reports the CPU it
// takes with it, as wall time alone hides what a second processor did.
func OwnCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
