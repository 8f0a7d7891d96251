package adapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-dap"
	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/procfs"
)

// The target's exit: noticed by a watcher beside the requests, or by a snapshot that finds the
// process gone, and reported to the client once.

// watchForExit watches, beside the requests, for the exit of process pid (started at startTime).
func (s *session) watchForExit(pid int, startTime uint64) {
	s.goBeside("watching for the target's exit", func() {
		if code, exited := watchExit(s.ctx, pid, startTime); exited {
			s.targetExited(code)
		}
	})
}

// targetExited tells the client, once, that the target has exited.
func (s *session) targetExited(code int) {
	s.mu.Lock()
	if _, err := s.transitionLocked(targetExit); err != nil {
		s.mu.Unlock()
		return
	}
	if s.refreshStop != nil {
		s.refreshStop() // the loop ends by itself; waiting here could be waiting for oneself
	}
	pid := s.pid()
	s.mu.Unlock()
	s.log.Info("target exited", "pid", pid, "code", code)
	s.conn.output("console", fmt.Sprintf("aioscope: process %d has exited\n", pid))
	s.conn.event("exited", dap.ExitedEventBody{ExitCode: code})
	s.conn.event("terminated", nil)
}

// snapshotFailed reports a snapshot that was not asked for by a request (the first stop, a
// refresh): as an output event, or as the end of the session when the target is gone.
func (s *session) snapshotFailed(err error) {
	if isGone(err) {
		s.targetExited(0)
		return
	}
	s.conn.output("stderr", "aioscope: "+explain(err)+"\n")
}

// isGone reports whether a snapshot failed because the target no longer exists.
func isGone(err error) bool {
	var gone *inspector.ProcessGoneError
	var notFound *inspector.ProcessNotFoundError
	return errors.As(err, &gone) || errors.As(err, &notFound)
}

// exitPollInterval is how often the watcher looks at the target when it cannot be told about
// the exit by the kernel (pidfd_open is missing before Linux 5.3).
const exitPollInterval = 250 * time.Millisecond

// gone reports whether the process that had startTime is no longer running: no such PID, a
// zombie, or a different process under the recycled PID.
func gone(pid int, startTime uint64) (bool, int) {
	ps, err := procfs.ReadStat("/proc", pid)
	if err != nil {
		return true, 0
	}
	if ps.StartTime != startTime {
		return true, 0
	}
	if ps.State == 'Z' || ps.State == 'X' || ps.State == 'x' {
		return true, exitStatus(ps.ExitCode)
	}
	return false, 0
}

// exitStatus decodes a waitpid status into the exit code a shell would show.
func exitStatus(status int) int {
	ws := unix.WaitStatus(status)
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 0
}

// watchExit returns when the process pid (started at startTime) has exited, with its exit code
// when the kernel still has it (0 otherwise), or when ctx is done. It only reads: a pidfd
// becomes readable when the process ends, without the target being traced or signalled.
func watchExit(ctx context.Context, pid int, startTime uint64) (exitCode int, exited bool) {
	if code, exited, ok := waitPidfd(ctx, pid, startTime); ok {
		return code, exited
	}
	t := time.NewTicker(exitPollInterval)
	defer t.Stop()
	for {
		if g, code := gone(pid, startTime); g {
			return code, true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-t.C:
		}
	}
}

// waitPidfd waits for the exit with a pidfd, woken early through a pipe when ctx is done. ok is
// false when pidfds are not available, and the caller falls back to polling.
func waitPidfd(ctx context.Context, pid int, startTime uint64) (exitCode int, exited, ok bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return 0, false, false
	}
	defer unix.Close(fd)
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return 0, false, false
	}
	defer unix.Close(wake[0])
	var closeOnce sync.Once
	closeWrite := func() { closeOnce.Do(func() { unix.Close(wake[1]) }) }
	defer closeWrite()
	stop := context.AfterFunc(ctx, closeWrite)
	defer stop()
	// The pidfd may refer to a recycled PID if the target exited before it was opened.
	if g, code := gone(pid, startTime); g {
		return code, true, true
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(wake[0]), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 0, false, false
		}
		if ctx.Err() != nil {
			return 0, false, true
		}
		if fds[0].Revents != 0 {
			_, code := gone(pid, startTime)
			return code, true, true
		}
	}
}
