package inspector

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/inspector/internal/snapmem"
)

// Memory is a source of another process's memory: a live process, or later a core file.
// Implementations only read; nothing in aioscope ever writes to a target. Unmapped memory is
// reported as a *ReadError.
type Memory = snapmem.Memory

// ReadError is a failed read of target memory. Unmapped or freed memory is normal for a target
// that changes while it is read, so callers treat it as "try the snapshot again".
type ReadError = snapmem.ReadError

// processMemory reads a live process with process_vm_readv(2), which neither stops nor
// otherwise disturbs the target.
type processMemory struct {
	pid int
}

// NewProcessMemory returns a Memory reading the live process pid.
func NewProcessMemory(pid int) Memory { return &processMemory{pid: pid} }

func (m *processMemory) ReadAt(p []byte, addr uint64) error {
	for done := 0; done < len(p); {
		n, err := m.ReadPrefix(p[done:], addr+uint64(done))
		if err != nil {
			return err
		}
		if n <= 0 {
			return &ReadError{Addr: addr + uint64(done), Len: len(p) - done, Err: unix.EFAULT}
		}
		done += n
	}
	return nil
}

// ReadPrefix implements snapmem.PrefixReader: the kernel copies page after page and stops at the
// first one that is not mapped.
func (m *processMemory) ReadPrefix(p []byte, addr uint64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &p[0]}}
	local[0].SetLen(len(p))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(p)}}
	n, err := processVMReadv(m.pid, local, remote)
	if err != nil {
		if errors.Is(err, unix.EFAULT) {
			return 0, nil
		}
		return 0, classifyReadError(m.pid, addr, len(p), err)
	}
	return n, nil
}

// ReadPages implements snapmem.PageReader, in one system call.
func (m *processMemory) ReadPages(dsts [][]byte, addrs []uint64) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	local := make([]unix.Iovec, len(dsts))
	remote := make([]unix.RemoteIovec, len(addrs))
	for i := range addrs {
		local[i].Base = &dsts[i][0]
		local[i].SetLen(snapmem.PageSize)
		remote[i] = unix.RemoteIovec{Base: uintptr(addrs[i]), Len: snapmem.PageSize}
	}
	n, err := processVMReadv(m.pid, local, remote)
	if err != nil {
		if errors.Is(err, unix.EFAULT) {
			return 0, nil
		}
		return 0, classifyReadError(m.pid, addrs[0], snapmem.PageSize, err)
	}
	return n / snapmem.PageSize, nil
}

// processVMReadv is unix.ProcessVMReadv made as a raw system call, without the scheduler's
// bookkeeping around a call that may block. The call copies memory and does not wait for
// anything but the copy, while that bookkeeping wakes the runtime's monitor thread on every
// call of a goroutine that was idle, which then polls at its shortest interval for a while:
// for a watch that samples a process a hundred times a second, that polling cost more than
// the reads themselves.
func processVMReadv(pid int, local []unix.Iovec, remote []unix.RemoteIovec) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(pid),
		uintptr(unsafe.Pointer(&local[0])), uintptr(len(local)),
		uintptr(unsafe.Pointer(&remote[0])), uintptr(len(remote)), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func classifyReadError(pid int, addr uint64, n int, err error) error {
	switch {
	case errors.Is(err, unix.ESRCH):
		return &ProcessGoneError{PID: pid}
	case errors.Is(err, unix.EPERM):
		return &PermissionError{PID: pid, Err: err}
	}
	return &ReadError{Addr: addr, Len: n, Err: err}
}

// isFatal reports errors that retrying cannot cure: the process is gone or we may not read it.
func isFatal(err error) bool {
	if err == nil {
		return false
	}
	var gone *ProcessGoneError
	var perm *PermissionError
	return errors.As(err, &gone) || errors.As(err, &perm)
}
