package adapter

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// exitPollInterval is how often the watcher looks at the target when it cannot be told about
// the exit by the kernel (pidfd_open is missing before Linux 5.3).
const exitPollInterval = 250 * time.Millisecond

// procState is what /proc/PID/stat says about a process.
type procState struct {
	state     byte   // R, S, D, Z, T, t, X, ...
	startTime uint64 // clock ticks after boot; tells a recycled PID from the original process
	exitCode  int    // waitpid-style status of a zombie; meaningful only when state is Z
}

// readProcState parses /proc/PID/stat. The command name (field 2) may contain spaces and
// parentheses, so the fields are counted from the last ')'.
func readProcState(pid int) (procState, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procState{}, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procState{}, errors.New("unexpected /proc/PID/stat format")
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); starttime is field 22, exit_code field 52.
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procState{}, errors.New("unexpected /proc/PID/stat format")
	}
	ps := procState{state: fields[0][0]}
	ps.startTime, _ = strconv.ParseUint(fields[19], 10, 64)
	if len(fields) >= 50 {
		ps.exitCode, _ = strconv.Atoi(fields[49])
	}
	return ps, nil
}

// gone reports whether the process that had startTime is no longer running: no such PID, a
// zombie, or a different process under the recycled PID.
func gone(pid int, startTime uint64) (bool, int) {
	ps, err := readProcState(pid)
	if err != nil {
		return true, 0
	}
	if ps.startTime != startTime {
		return true, 0
	}
	if ps.state == 'Z' || ps.state == 'X' || ps.state == 'x' {
		return true, exitStatus(ps.exitCode)
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
