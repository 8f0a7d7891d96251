package inspector

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Memory is a source of another process's memory: a live process, or later a core file.
// Implementations only read; nothing in aioscope ever writes to a target.
type Memory interface {
	// ReadAt fills p with the bytes at addr, or fails. A partial read is an error.
	ReadAt(p []byte, addr uint64) error
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

// processMemory reads a live process with process_vm_readv(2), which neither stops nor
// otherwise disturbs the target.
type processMemory struct {
	pid int
}

// NewProcessMemory returns a Memory reading the live process pid.
func NewProcessMemory(pid int) Memory { return &processMemory{pid: pid} }

func (m *processMemory) ReadAt(p []byte, addr uint64) error {
	done := 0
	for done < len(p) {
		local := []unix.Iovec{{Base: &p[done]}}
		local[0].SetLen(len(p) - done)
		remote := []unix.RemoteIovec{{Base: uintptr(addr) + uintptr(done), Len: len(p) - done}}
		n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
		if err != nil {
			return classifyReadError(m.pid, addr+uint64(done), len(p)-done, err)
		}
		if n <= 0 {
			return &ReadError{Addr: addr + uint64(done), Len: len(p) - done, Err: errors.New("no bytes read")}
		}
		done += n
	}
	return nil
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

// pageSize is the unit of the snapshot cache. It need not be the kernel's page size; it is
// the granularity at which one read sees a consistent copy of the target's memory.
const pageSize = 4096

// cacheBlock is how much is fetched when a page misses. CPython allocates objects created
// together (a batch of tasks and their coroutines) next to each other, so fetching a few pages at
// once turns many small system calls into one bigger one.
const cacheBlock = 4 * pageSize

// pageCache serves reads from copies of whole pages taken once per snapshot, so every field read
// from one page comes from the same moment and the number of system calls stays proportional to
// the memory touched, not to the number of fields read. Pages are found through a two-level table
// (1 MiB regions in a map, pages in an array), so the cost of a hit does not grow with the cache.
type pageCache struct {
	mem     Memory
	regions map[uint64]*region // keyed by address >> regionShift
	reads   int                // system-level reads issued, for benchmarks and tests
	slab    []byte             // unused part of the current allocation for page copies
	// The last page and region served: consecutive reads mostly hit the same object.
	lastAddr, lastRegionKey uint64
	lastData                []byte
	lastRegion              *region
}

const (
	regionShift    = 20
	pagesPerRegion = 1 << (regionShift - 12)
	slabSize       = 1 << 20
)

// region holds the cached pages of 1 MiB of address space.
type region struct {
	pages      [pagesPerRegion][]byte // nil: not fetched yet, or unreadable
	unreadable [pagesPerRegion]bool
}

func newPageCache(mem Memory) *pageCache {
	return &pageCache{mem: mem, regions: make(map[uint64]*region, 64), lastAddr: ^uint64(0), lastRegionKey: ^uint64(0)}
}

// ReadAt implements Memory.
func (c *pageCache) ReadAt(p []byte, addr uint64) error {
	if addr+uint64(len(p)) < addr {
		return &ReadError{Addr: addr, Len: len(p), Err: errors.New("address range wraps")}
	}
	for off := 0; off < len(p); {
		a := addr + uint64(off)
		page := a &^ (pageSize - 1)
		data, err := c.page(page)
		if err != nil {
			return err
		}
		var n int
		if data != nil {
			n = copy(p[off:], data[a-page:])
		} else {
			// The page could not be copied whole (it is partly unmapped): read just the
			// bytes asked for, uncached.
			end := min(len(p), off+int(page+pageSize-a))
			if err := c.mem.ReadAt(p[off:end], a); err != nil {
				return err
			}
			c.reads++
			n = end - off
		}
		off += n
	}
	return nil
}

// maxView bounds a single read, so that a corrupt size read from the target cannot make the
// tool allocate without limit.
const maxView = 64 << 20

// view returns n bytes at addr. When they lie within one page the result aliases the cached
// page and must not be modified; otherwise it is a fresh copy.
func (c *pageCache) view(addr uint64, n int) ([]byte, error) {
	if n < 0 || n > maxView || addr+uint64(n) < addr {
		return nil, &ReadError{Addr: addr, Len: n, Err: errors.New("implausible read size")}
	}
	page := addr &^ (pageSize - 1)
	if addr+uint64(n) <= page+pageSize {
		data, err := c.page(page)
		if err != nil {
			return nil, err
		}
		if data != nil {
			return data[addr-page : addr-page+uint64(n) : addr-page+uint64(n)], nil
		}
	}
	b := make([]byte, n)
	if err := c.ReadAt(b, addr); err != nil {
		return nil, err
	}
	return b, nil
}

// page returns the cached copy of the page at addr, fetching the block around it on a miss. A nil
// slice with a nil error means the page cannot be copied whole.
func (c *pageCache) page(addr uint64) ([]byte, error) {
	if addr == c.lastAddr {
		return c.lastData, nil
	}
	data, err := c.fetch(addr)
	if err == nil {
		c.lastAddr, c.lastData = addr, data
	}
	return data, err
}

func (c *pageCache) region(addr uint64) *region {
	key := addr >> regionShift
	if key == c.lastRegionKey {
		return c.lastRegion
	}
	r := c.regions[key]
	if r == nil {
		r = &region{}
		c.regions[key] = r
	}
	c.lastRegionKey, c.lastRegion = key, r
	return r
}

func (c *pageCache) fetch(addr uint64) ([]byte, error) {
	r := c.region(addr)
	idx := (addr >> 12) % pagesPerRegion
	if r.pages[idx] != nil || r.unreadable[idx] {
		return r.pages[idx], nil
	}
	// Fetch the whole block around the page; blocks never cross a region.
	block := addr &^ (cacheBlock - 1)
	first := (block >> 12) % pagesPerRegion
	if len(c.slab) < cacheBlock {
		c.slab = make([]byte, slabSize)
	}
	chunk := c.slab[:cacheBlock:cacheBlock]
	c.reads++
	if err := c.mem.ReadAt(chunk, block); err == nil {
		c.slab = c.slab[cacheBlock:]
		// Pages already cached keep their earlier copy, so a page never changes within a
		// snapshot.
		for i := uint64(0); i < cacheBlock/pageSize; i++ {
			if p := first + i; r.pages[p] == nil && !r.unreadable[p] {
				r.pages[p] = chunk[i*pageSize : (i+1)*pageSize : (i+1)*pageSize]
			}
		}
		return r.pages[idx], nil
	} else if isFatal(err) {
		return nil, err
	}
	// Part of the block is unmapped: fetch just this page.
	data := c.slab[:pageSize:pageSize]
	c.reads++
	if err := c.mem.ReadAt(data, addr); err != nil {
		if isFatal(err) {
			return nil, err
		}
		r.unreadable[idx] = true
		return nil, nil
	}
	c.slab = c.slab[pageSize:]
	r.pages[idx] = data
	return data, nil
}

// isFatal reports errors that retrying cannot cure: the process is gone or we may not read it.
func isFatal(err error) bool {
	var gone *ProcessGoneError
	var perm *PermissionError
	return errors.As(err, &gone) || errors.As(err, &perm)
}
