package inspector

import (
	"errors"
	"fmt"
	"iter"
	"slices"

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

// ReadPrefix copies as much of the range at addr as can be read in one system call: the kernel
// copies page after page and stops at the first one that is not mapped. n is 0 with a nil error
// when the first page cannot be read.
func (m *processMemory) ReadPrefix(p []byte, addr uint64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &p[0]}}
	local[0].SetLen(len(p))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(p)}}
	n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err != nil {
		if errors.Is(err, unix.EFAULT) {
			return 0, nil
		}
		return 0, classifyReadError(m.pid, addr, len(p), err)
	}
	return n, nil
}

// ReadPages copies the pages at addrs into dsts (a page each) in one system call and returns how
// many it copied before the first that could not be read.
func (m *processMemory) ReadPages(dsts [][]byte, addrs []uint64) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	local := make([]unix.Iovec, len(dsts))
	remote := make([]unix.RemoteIovec, len(addrs))
	for i := range addrs {
		local[i].Base = &dsts[i][0]
		local[i].SetLen(pageSize)
		remote[i] = unix.RemoteIovec{Base: uintptr(addrs[i]), Len: pageSize}
	}
	n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err != nil {
		if errors.Is(err, unix.EFAULT) {
			return 0, nil
		}
		return 0, classifyReadError(m.pid, addrs[0], pageSize, err)
	}
	return n / pageSize, nil
}

// prefixReader is implemented by memory sources that can copy a range up to its first unreadable
// page in one operation, which lets the page cache fetch big blocks cheaply.
type prefixReader interface {
	ReadPrefix(p []byte, addr uint64) (int, error)
}

// readPrefix reads the longest readable prefix of p at addr (addr page-aligned), in one operation
// when mem supports it and page by page otherwise.
func readPrefix(mem Memory, p []byte, addr uint64) (int, error) {
	if pr, ok := mem.(prefixReader); ok {
		return pr.ReadPrefix(p, addr)
	}
	n := 0
	for ; n < len(p); n += pageSize {
		end := min(len(p), n+pageSize)
		if err := mem.ReadAt(p[n:end], addr+uint64(n)); err != nil {
			if isFatal(err) {
				return n, err
			}
			break
		}
	}
	return min(n, len(p)), nil
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
// once turns many small system calls into one bigger one. Bigger blocks are not better for a
// target that changes while it is read: a page copied long before the walk reaches it may
// predate the objects it is then expected to hold. 16 KiB is also the size of the pools CPython's
// small-object allocator carves objects of one size from (tasks, coroutines): no object spans two
// blocks, so none needs its pages copied again together (sameMoment). Measured at 10,000 tasks,
// against 16 KiB: 4 and 8 KiB blocks cost 16 ms more, 32 and 64 KiB blocks 5 and 7 ms more.
const cacheBlock = 4 * pageSize

// pageCache serves reads from copies of whole pages, so every field read from one copy comes from
// the same moment and the number of system calls stays proportional to the memory touched, not
// to the number of fields read. A page is copied again only on purpose: where the walk finds the
// target changed under it (refresh), for an object spanning pages copied apart (sameMoment), or
// under the floor rule (see walker.noOlderThan); each copy's epoch tells when it was taken.
// Pages are found through a two-level table (1 MiB regions in a map, pages in an array), so the
// cost of a hit does not grow with the cache.
type pageCache struct {
	mem     Memory
	regions map[uint64]*region // keyed by address >> regionShift
	reads   int                // system-level reads issued, for benchmarks and tests
	slabs   slabs              // the memory page copies are made into
	// The last page and region served: consecutive reads mostly hit the same object.
	lastAddr, lastRegionKey uint64
	lastData                []byte
	lastRegion              *region
	lastEpoch               uint32
	recent                  [4]recentRegion // the regions used last, most recent first
	// touched records the pages served since startLog, so that what one part of a walk read
	// can be copied again if it turns out to mix moments of a changing target.
	logging bool
	touched []uint64
	// floor, when not 0, is the oldest copy reads may be served from: an older page is copied
	// again first. See walker.noOlderThan.
	floor uint32
	// Scratch space of copyPages, reused from call to call.
	scratchAddrs []uint64
	scratchBufs  [][]byte
	// Between markCopies and recycleCopies, the pages given fresh copies (see there).
	recording bool
	since     []uint64
	sinceSlab slabMark
}

const (
	regionShift    = 20
	pagesPerRegion = 1 << (regionShift - 12)
)

// region holds the cached pages of 1 MiB of address space.
type region struct {
	pages      [pagesPerRegion][]byte // nil: not fetched yet, or unreadable
	unreadable [pagesPerRegion]bool
	used       [pagesPerRegion]bool // the walk read from the page (it was not only prefetched)
	// epoch tells which read copied the page: pages with the same epoch show the same moment.
	epoch [pagesPerRegion]uint32
}

func newPageCache(mem Memory) *pageCache {
	return &pageCache{mem: mem, regions: make(map[uint64]*region, 64), lastAddr: ^uint64(0), lastRegionKey: ^uint64(0)}
}

// release gives back the memory of the page copies. The cache must not be used afterwards, nor
// anything it returned.
func (c *pageCache) release() {
	c.regions, c.lastData, c.lastRegion, c.recent = nil, nil, nil, [4]recentRegion{}
	c.slabs.releaseAll()
}

// expect tells the cache that about n bytes of copies are coming, so that the memory they go
// into can be prepared meanwhile (see slabs.prefault).
func (c *pageCache) expect(n int) { c.slabs.prefault(n) }

// markCopies starts a part of the walk whose copies can be dropped, and their memory used again,
// once it is over (recycleCopies).
func (c *pageCache) markCopies() {
	c.recording, c.since, c.sinceSlab = true, c.since[:0], c.slabs.mark()
}

// recycleCopies drops every copy made since markCopies and hands the memory they took back for
// the next copies. A page dropped is copied again if a later read needs it; copies made before
// markCopies are kept. Nothing a read returned since markCopies may be used afterwards.
func (c *pageCache) recycleCopies() {
	for _, p := range c.since {
		c.region(p).pages[(p>>12)%pagesPerRegion] = nil
	}
	c.recording, c.since = false, c.since[:0]
	c.lastAddr, c.lastData = ^uint64(0), nil
	c.slabs.rewind(c.sinceSlab)
}

// ReadAt implements Memory.
func (c *pageCache) ReadAt(p []byte, addr uint64) error {
	if addr+uint64(len(p)) < addr {
		return &ReadError{Addr: addr, Len: len(p), Err: errors.New("address range wraps")}
	}
	if err := c.sameMoment(addr, len(p)); err != nil {
		return err
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

// pagesIn yields the addresses of the pages holding n > 0 bytes at addr, which must not wrap.
// It stops at the last page rather than when passing the end, which may be 0: the last page can
// end at the top of the address space.
func pagesIn(addr uint64, n int) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		last := (addr + uint64(n) - 1) &^ (pageSize - 1)
		for p := addr &^ (pageSize - 1); yield(p) && p != last; p += pageSize {
		}
	}
}

// maxSameMoment bounds the reads that sameMoment makes consistent; bigger ones (large set
// tables) are rare and are taken as they come.
const maxSameMoment = 16 * pageSize

// sameMoment makes sure that an object spanning several pages is read from copies taken in one
// read: an object whose halves were copied at different moments of a changing target may be
// torn. Pages copied apart are copied again, together.
func (c *pageCache) sameMoment(addr uint64, n int) error {
	first := addr &^ (pageSize - 1)
	last := (addr + uint64(n) - 1) &^ (pageSize - 1)
	if n <= 0 || first == last || n > maxSameMoment {
		return nil
	}
	var epoch uint32
	same := true
	for p := range pagesIn(addr, n) {
		data, err := c.page(p)
		if err != nil {
			return err
		}
		if data == nil {
			return nil // not cacheable: read directly below
		}
		e := c.region(p).epoch[(p>>12)%pagesPerRegion]
		if p != first && e != epoch {
			same = false
		}
		epoch = e
	}
	if same {
		return nil
	}
	pages := slices.Collect(pagesIn(addr, n))
	c.lastAddr = ^uint64(0)
	return c.copyPages(pages, replaceCopies) // views of these pages may be in use
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
	if addr == c.lastAddr && c.lastEpoch >= c.floor {
		return c.lastData, nil
	}
	if c.logging {
		c.touched = append(c.touched, addr)
	}
	data, err := c.fetch(addr)
	if err != nil {
		return nil, err
	}
	r := c.region(addr)
	idx := (addr >> 12) % pagesPerRegion
	if data != nil && r.epoch[idx] < c.floor {
		// Copied before what refers to it: it may predate the object sought there.
		if err := c.copyPages([]uint64{addr}, replaceCopies); err != nil {
			return nil, err
		}
		data = r.pages[idx]
	}
	c.lastAddr, c.lastData, c.lastEpoch = addr, data, r.epoch[idx]
	return data, nil
}

// epochOf tells which read copied the page holding addr (0 if it is not cached).
func (c *pageCache) epochOf(addr uint64) uint32 {
	r := c.region(addr)
	return r.epoch[(addr>>12)%pagesPerRegion]
}

func (c *pageCache) region(addr uint64) *region {
	key := addr >> regionShift
	if key == c.lastRegionKey {
		return c.lastRegion
	}
	// A walk goes back and forth between a few regions (tasks, coroutines, names, futures are
	// allocated apart): the ones used last are kept at hand, ahead of the map.
	for i := range c.recent {
		if e := &c.recent[i]; e.r != nil && e.key == key {
			c.recent[i], c.recent[0] = c.recent[0], *e
			c.lastRegionKey, c.lastRegion = key, c.recent[0].r
			return c.lastRegion
		}
	}
	r := c.regions[key]
	if r == nil {
		r = &region{}
		c.regions[key] = r
	}
	copy(c.recent[1:], c.recent[:len(c.recent)-1])
	c.recent[0] = recentRegion{key, r}
	c.lastRegionKey, c.lastRegion = key, r
	return r
}

// recentRegion is an entry of pageCache.recent.
type recentRegion struct {
	key uint64
	r   *region
}

func (c *pageCache) fetch(addr uint64) ([]byte, error) {
	r := c.region(addr)
	idx := (addr >> 12) % pagesPerRegion
	if r.pages[idx] != nil || r.unreadable[idx] {
		r.used[idx] = r.pages[idx] != nil
		return r.pages[idx], nil
	}
	// Fetch the block around the page (blocks never cross a region) in as few reads as its
	// unmapped pages allow: each read copies up to the first page that cannot be read, which
	// is marked and skipped. Pages after the requested one stop the fetch instead, so a block
	// costs at most one read per unreadable page before the one asked for.
	block := addr &^ (cacheBlock - 1)
	end := block + cacheBlock
	for start := block; start < end; {
		n := int(end - start)
		buf := c.slabs.get(n)
		c.reads++
		got, err := readPrefix(c.mem, buf, start)
		if err != nil {
			return nil, err
		}
		got &^= pageSize - 1
		chunk := buf[:got:got]
		c.slabs.take(got)
		// Pages already cached keep their copy: fetching a neighbour never replaces a page
		// whose data may be in use (only refresh and sameMoment do, on purpose).
		for off := 0; off < got; off += pageSize {
			p := ((start + uint64(off)) >> 12) % pagesPerRegion
			if r.pages[p] == nil && !r.unreadable[p] {
				r.pages[p], r.epoch[p] = chunk[off:off+pageSize:off+pageSize], uint32(c.reads)
				if c.recording {
					c.since = append(c.since, start+uint64(off))
				}
			}
		}
		bad := start + uint64(got)
		if bad >= end {
			break
		}
		r.unreadable[(bad>>12)%pagesPerRegion] = true
		if bad >= addr {
			break
		}
		start = bad + pageSize
	}
	r.used[idx] = r.pages[idx] != nil
	return r.pages[idx], nil
}

// usedPages returns the addresses of the pages reads were served from, in ascending order.
func (c *pageCache) usedPages() []uint64 {
	var out []uint64
	for key, r := range c.regions {
		for i, used := range r.used {
			if used {
				out = append(out, key<<regionShift|uint64(i)<<12)
			}
		}
	}
	slices.Sort(out)
	return out
}

// peek returns n bytes at addr if every page holding them has a copy in the cache, without
// copying anything from the target: an alias of the copy when they lie within one page, or a
// copy into scratch when it is big enough. The copies are taken as they are, whatever their age.
func (c *pageCache) peek(addr uint64, n int, scratch []byte) ([]byte, bool) {
	if n <= 0 || n > maxView || addr+uint64(n) < addr {
		return nil, false
	}
	if page := addr &^ (pageSize - 1); addr+uint64(n) <= page+pageSize {
		data := c.region(page).pages[(page>>12)%pagesPerRegion]
		if data == nil {
			return nil, false
		}
		return data[addr-page : addr-page+uint64(n) : addr-page+uint64(n)], true
	}
	if n > len(scratch) {
		return nil, false
	}
	for off := 0; off < n; {
		a := addr + uint64(off)
		page := a &^ (pageSize - 1)
		data := c.region(page).pages[(page>>12)%pagesPerRegion]
		if data == nil {
			return nil, false
		}
		off += copy(scratch[off:n], data[a-page:])
	}
	return scratch[:n:n], true
}

// appendMissing appends to pages the pages holding n bytes at addr that have no copy in the
// cache and are not known to be unreadable.
func (c *pageCache) appendMissing(pages []uint64, addr uint64, n int) []uint64 {
	if n <= 0 || n > maxView || addr+uint64(n) < addr {
		return pages
	}
	for p := range pagesIn(addr, n) {
		if c.missing(p) {
			pages = append(pages, p)
		}
	}
	return pages
}

// missing reports whether the page at addr has no copy in the cache and is not known to be
// unreadable.
func (c *pageCache) missing(addr uint64) bool {
	r, idx := c.region(addr), (addr>>12)%pagesPerRegion
	return r.pages[idx] == nil && !r.unreadable[idx]
}

// prefetch copies the given pages (ascending, page-aligned) into the cache as fast as it can:
// in vectored reads of up to maxBatch pages, one right after the other, with no walking between.
// Everything a walk then finds in the cache comes from a window of a few hundred microseconds
// instead of the whole walk's duration. Pages that cannot be read are left to the walk.
func (c *pageCache) prefetch(pages []uint64) error {
	return c.copyPages(pages, keepCopies)
}

// startLog starts recording the pages reads are served from.
func (c *pageCache) startLog() {
	c.logging, c.touched = true, c.touched[:0]
	c.lastAddr = ^uint64(0) // the next read goes through page() and is recorded
}

// refreshLogged replaces the cached copies of the pages served since startLog with fresh copies,
// taken together, and stops recording. The copies are made in place: no view returned before may
// still be in use.
func (c *pageCache) refreshLogged() error {
	c.logging = false
	pages := c.touched
	slices.Sort(pages)
	pages = slices.Compact(pages)
	c.lastAddr = ^uint64(0)
	return c.copyPages(pages, overwriteCopies)
}

// refresh replaces the cached copies of the pages holding n bytes at addr with fresh ones, in
// place: no view of them returned before may still be in use.
func (c *pageCache) refresh(addr uint64, n int) error {
	if n <= 0 || addr+uint64(n) < addr {
		return nil
	}
	pages := slices.Collect(pagesIn(addr, n))
	c.lastAddr = ^uint64(0)
	return c.copyPages(pages, overwriteCopies)
}

// copyMode says what copyPages does with pages already in the cache.
type copyMode int

const (
	keepCopies    copyMode = iota // keep them
	replaceCopies                 // take new copies elsewhere; earlier views keep the old data
	// overwriteCopies copies over them in place, which costs no new memory. Only for when no
	// view returned earlier is still in use.
	overwriteCopies
)

// copyPages copies pages (ascending, page-aligned, no duplicates), up to maxBatch of them in each
// read: pages scattered over the target's heap cost one system call for all, not one each.
func (c *pageCache) copyPages(pages []uint64, mode copyMode) error {
	for len(pages) > 0 {
		n := min(len(pages), maxBatch)
		batch := pages[:n]
		if mode == keepCopies {
			// Only the pages not cached yet.
			kept := c.scratchAddrs[:0]
			for _, p := range batch {
				if c.missing(p) {
					kept = append(kept, p)
				}
			}
			c.scratchAddrs, batch = kept, kept
		}
		got, err := c.copyBatch(batch, mode == overwriteCopies)
		if err != nil {
			return err
		}
		if got == len(batch) {
			pages = pages[n:]
			continue
		}
		// The first page that could not be read is left unreadable (a walk that needs it fails
		// its read); the rest is copied in the next round.
		bad := batch[got]
		r, idx := c.region(bad), (bad>>12)%pagesPerRegion
		r.pages[idx], r.unreadable[idx] = nil, true
		k, _ := slices.BinarySearch(pages, bad)
		pages = pages[k+1:]
	}
	return nil
}

// maxBatch is the most pages one read copies: the kernel takes at most 1024 pieces a call.
const maxBatch = 1024

// copyBatch copies the pages at addrs in one read, over their cached copies when inPlace and they
// have one, and returns how many it copied: all, or those before the first that could not be read.
func (c *pageCache) copyBatch(addrs []uint64, inPlace bool) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	fresh := 0
	for _, p := range addrs {
		if !inPlace || c.region(p).pages[(p>>12)%pagesPerRegion] == nil {
			fresh++
		}
	}
	slab := c.slabs.get(fresh * pageSize)
	dsts := c.scratchBufs[:0]
	used := 0
	for _, p := range addrs {
		if old := c.region(p).pages[(p>>12)%pagesPerRegion]; inPlace && old != nil {
			dsts = append(dsts, old)
			continue
		}
		dsts = append(dsts, slab[used:used+pageSize:used+pageSize])
		used += pageSize
	}
	c.scratchBufs = dsts
	c.reads++
	got, err := readPagesInto(c.mem, dsts, addrs)
	if err != nil {
		return 0, err
	}
	c.slabs.take(used)
	for i := 0; i < got; i++ {
		r, idx := c.region(addrs[i]), (addrs[i]>>12)%pagesPerRegion
		if c.recording && (!inPlace || r.pages[idx] == nil) {
			c.since = append(c.since, addrs[i])
		}
		r.pages[idx], r.unreadable[idx], r.epoch[idx] = dsts[i], false, uint32(c.reads)
	}
	return got, nil
}

// readPagesInto copies the pages at addrs into dsts (a page each), in one operation when mem
// supports it and page by page otherwise, and returns how many it copied before the first that
// could not be read.
func readPagesInto(mem Memory, dsts [][]byte, addrs []uint64) (int, error) {
	if pr, ok := mem.(interface {
		ReadPages([][]byte, []uint64) (int, error)
	}); ok {
		return pr.ReadPages(dsts, addrs)
	}
	for i, a := range addrs {
		if err := mem.ReadAt(dsts[i], a); err != nil {
			if isFatal(err) {
				return i, err
			}
			return i, nil
		}
	}
	return len(addrs), nil
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
