// Package snapmem serves the reads of one snapshot of a process that keeps running: it copies the
// target's memory a page at a time and answers every read from those copies, so that what one
// read sees comes from one moment and the number of system calls grows with the memory touched,
// not with the number of fields read.
//
// A snapshot's reader (the walker in package inspector) only asks for Python objects. What keeps
// the answers true of a target that changes under the read is here, behind a narrow API:
//
//   - Every copy has an Epoch: copies of one epoch were taken by one read, at one moment. A Reader
//     serves copies no older than its floor and copies a page again where its copy is older.
//     Reader.Object returns, with an object's bytes, the Reader for what the object refers to: an
//     object reached through a reference is read from a copy at least as new as the one the
//     reference came from, because an older copy may predate it. Objects that live as long as the
//     program (types, code objects) are read with Cache.Reader, whatever the age of their copy.
//   - An object spanning pages is read from copies taken together.
//   - Fresh copies on demand: Refresh a range in place, RefreshAll ranges together, or Record
//     the pages a part of the walk read and copy exactly those again (RefreshRecorded).
//     ReadNow bypasses the copies for a check that must see the target as it is now.
//   - Batches: the copies made between BeginBatch and EndBatch are dropped at its end and their
//     memory reused, so a large target's copies take a batch's worth of memory. Prefetch copies
//     the objects a batch will read, level by level, in a few vectored reads, following
//     references with a function the walker provides.
//
// Memory sources (a live process, later a core file) plug in under the cache through Memory.
package snapmem

import (
	"errors"
	"fmt"
)

// Memory is a source of another process's memory: a live process, or later a core file.
// Implementations only read; nothing in aioscope ever writes to a target.
type Memory interface {
	// ReadAt fills p with the bytes at addr, or fails. A partial read is an error. Memory that
	// is not mapped (or not readable) is reported as a *ReadError; any other error ends the
	// snapshot (the process is gone, or may not be read).
	ReadAt(p []byte, addr uint64) error
}

// PrefixReader is implemented by memory sources that can copy a range up to its first unreadable
// page in one operation, which lets the cache fetch big blocks cheaply.
type PrefixReader interface {
	// ReadPrefix copies as much of p as can be read from addr on and returns how much; 0 with
	// a nil error when the first page cannot be read.
	ReadPrefix(p []byte, addr uint64) (int, error)
}

// PageReader is implemented by memory sources that can copy scattered pages in one operation.
type PageReader interface {
	// ReadPages copies the page at addrs[i] into dsts[i] (PageSize bytes each) and returns how
	// many it copied before the first that could not be read.
	ReadPages(dsts [][]byte, addrs []uint64) (int, error)
}

// ReadError is a failed read of target memory. Unmapped or freed memory is normal for a target
// that changes while it is read, so callers treat it as "try the snapshot again".
type ReadError struct {
	Addr uint64
	Len  int
	Err  error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("read %d bytes at 0x%x: %v", e.Len, e.Addr, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// unreadable reports whether err only says that memory could not be read there.
func unreadable(err error) bool {
	if _, ok := err.(*ReadError); ok {
		return true
	}
	var re *ReadError
	return errors.As(err, &re)
}

// PageSize is the unit of the copies. It need not be the kernel's page size; it is the
// granularity at which one read sees a consistent copy of the target's memory.
const PageSize = 4096

// MaxRead bounds a single read, so that a corrupt size read from the target cannot make the
// tool allocate without limit.
const MaxRead = 64 << 20

// ReadPrefix reads the longest readable prefix of p at addr (addr page-aligned), in one operation
// when mem is a PrefixReader and page by page otherwise.
func ReadPrefix(mem Memory, p []byte, addr uint64) (int, error) {
	if pr, ok := mem.(PrefixReader); ok {
		return pr.ReadPrefix(p, addr)
	}
	n := 0
	for ; n < len(p); n += PageSize {
		end := min(len(p), n+PageSize)
		if err := mem.ReadAt(p[n:end], addr+uint64(n)); err != nil {
			if !unreadable(err) {
				return n, err
			}
			break
		}
	}
	return min(n, len(p)), nil
}

// ReadPages copies the pages at addrs into dsts (a page each), in one operation when mem is a
// PageReader and page by page otherwise, and returns how many it copied before the first that
// could not be read.
func ReadPages(mem Memory, dsts [][]byte, addrs []uint64) (int, error) {
	if pr, ok := mem.(PageReader); ok {
		return pr.ReadPages(dsts, addrs)
	}
	for i, a := range addrs {
		if err := mem.ReadAt(dsts[i], a); err != nil {
			if !unreadable(err) {
				return i, err
			}
			return i, nil
		}
	}
	return len(addrs), nil
}
