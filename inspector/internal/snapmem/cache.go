package snapmem

import (
	"encoding/binary"
	"errors"
	"iter"
	"slices"
)

// Epoch tells which read took a copy: copies with the same epoch show the same moment, and a
// later read has a higher epoch. AnyAge, the zero epoch, is older than every copy.
type Epoch uint32

// AnyAge is the floor of a Reader that takes copies whatever their age.
const AnyAge Epoch = 0

// cacheBlock is how much is fetched when a page misses. CPython allocates objects created
// together (a batch of tasks and their coroutines) next to each other, so fetching a few pages at
// once turns many small system calls into one bigger one. Bigger blocks are not better for a
// target that changes while it is read: a page copied long before the walk reaches it may
// predate the objects it is then expected to hold. 16 KiB is also the size of the pools CPython's
// small-object allocator carves objects of one size from (tasks, coroutines): no object spans two
// blocks, so none needs its pages copied again together (sameMoment). PERFORMANCE.md has the
// measurements of other sizes.
const cacheBlock = 4 * PageSize

// Cache holds the page copies of one snapshot. A page is copied again only on purpose: under a
// Reader's floor, for an object spanning pages copied apart (sameMoment), or when asked for fresh
// copies. Pages are found through a two-level table (1 MiB regions in a map, pages in an array),
// so the cost of a hit does not grow with the cache.
//
// A Cache is used by one goroutine. What its reads return aliases its copies: it must not be
// modified, and not be used after Release, after the batch it was read in ended (EndBatch), or
// after its pages were copied again in place (Refresh, RefreshAll, RefreshRecorded).
type Cache struct {
	src     Memory
	block   uint64             // bytes fetched when a page misses: cacheBlock, or a page (NewLight)
	regions map[uint64]*region // keyed by address >> regionShift
	spare   []*region          // emptied by Reset, to be used again
	reads   int                // system-level reads issued
	slabs   slabs              // the memory page copies are made into
	// The last page and region served: consecutive reads mostly hit the same object.
	lastAddr, lastRegionKey uint64
	lastData                []byte
	lastRegion              *region
	lastEpoch               Epoch
	recent                  [4]recentRegion // the regions used last, most recent first
	// Between Record and RefreshRecorded or StopRecording, the pages reads were served from.
	recording bool
	recorded  []uint64
	// Between BeginBatch and EndBatch, the pages given fresh copies (see EndBatch).
	inBatch    bool
	batchPages []uint64
	batchSlab  slabMark
	prefetcher *prefetcher // made by the first Prefetch, serves every batch
	// Scratch space of copyPages, reused from call to call.
	scratchAddrs []uint64
	scratchBufs  [][]byte
}

const (
	regionShift    = 20
	pagesPerRegion = 1 << (regionShift - 12)
)

// region holds the cached pages of 1 MiB of address space.
type region struct {
	pages      [pagesPerRegion][]byte // nil: not fetched yet, or unreadable
	unreadable [pagesPerRegion]bool
	used       [pagesPerRegion]bool // a read was served from the page (it was not only prefetched)
	epoch      [pagesPerRegion]Epoch
}

// recentRegion is an entry of Cache.recent.
type recentRegion struct {
	key uint64
	r   *region
}

// New returns an empty cache over src.
func New(src Memory) *Cache {
	return &Cache{src: src, block: cacheBlock, regions: make(map[uint64]*region, 64), lastAddr: ^uint64(0), lastRegionKey: ^uint64(0)}
}

// NewLight returns an empty cache over src for reads of a few objects, taken again and again
// (a thread's current frames, many times a second): it copies a page at a time, into ordinary
// memory that Reset hands out again, rather than blocks into huge pages made for megabytes.
func NewLight(src Memory) *Cache {
	c := New(src)
	c.block = PageSize
	c.slabs.noMmap, c.slabs.size = true, lightSlabSize
	return c
}

// lightSlabSize is the memory a light cache copies into at first; it grows as needed.
const lightSlabSize = 64 << 10

// Reset forgets every copy, so that the next reads see the target as it is then, and hands
// their memory out again (see slabs). Nothing read before may be used afterwards.
func (c *Cache) Reset() {
	for key, r := range c.regions {
		*r = region{}
		c.spare = append(c.spare, r)
		delete(c.regions, key)
	}
	c.lastAddr, c.lastData, c.lastRegionKey, c.lastRegion, c.recent = ^uint64(0), nil, ^uint64(0), nil, [4]recentRegion{}
	c.recording, c.recorded = false, c.recorded[:0]
	c.inBatch, c.batchPages = false, c.batchPages[:0]
	if c.prefetcher != nil {
		c.prefetcher.refs = nil // what the last walk followed objects with, and all it holds
	}
	c.slabs.recycle()
}

// Release gives back the memory of the copies. The cache must not be used afterwards, nor
// anything it returned.
func (c *Cache) Release() {
	c.regions, c.lastData, c.lastRegion, c.recent = nil, nil, nil, [4]recentRegion{}
	c.slabs.releaseAll()
}

// Reads returns how many system-level reads the cache has issued.
func (c *Cache) Reads() int { return c.reads }

// Reader reads the cache under a floor: it serves copies no older than the floor, and copies a
// page again first where its copy is older. The zero floor (Cache.Reader) takes every copy as it
// is. Readers are values; a Reader for what an object refers to comes from Reader.Object.
type Reader struct {
	c     *Cache
	floor Epoch
}

// Reader returns a Reader that takes copies whatever their age: for objects that live as long as
// the program (types) or are checked otherwise.
func (c *Cache) Reader() Reader { return Reader{c: c} }

// Floor returns the oldest epoch r serves.
func (r Reader) Floor() Epoch { return r.floor }

// Read returns n bytes at addr. When they lie within one page the result aliases the copy (see
// Cache); otherwise it is a fresh slice.
func (r Reader) Read(addr uint64, n int) ([]byte, error) {
	// Consecutive reads mostly hit the page served last: that path is kept small enough to be
	// inlined.
	c := r.c
	if off := addr & (PageSize - 1); addr-off == c.lastAddr && c.lastEpoch >= r.floor && c.lastData != nil &&
		n >= 0 && uint64(n) <= PageSize-off {
		return c.lastData[off : off+uint64(n) : off+uint64(n)], nil
	}
	return r.read(addr, n)
}

func (r Reader) read(addr uint64, n int) ([]byte, error) {
	c := r.c
	if n < 0 || n > MaxRead || addr+uint64(n) < addr {
		return nil, &ReadError{Addr: addr, Len: n, Err: errors.New("implausible read size")}
	}
	page := addr &^ (PageSize - 1)
	if addr+uint64(n) <= page+PageSize {
		data, err := c.page(page, r.floor)
		if err != nil {
			return nil, err
		}
		if data != nil {
			return data[addr-page : addr-page+uint64(n) : addr-page+uint64(n)], nil
		}
	}
	b := make([]byte, n)
	if err := r.ReadInto(b, addr); err != nil {
		return nil, err
	}
	return b, nil
}

// Object reads the n bytes of an object at addr, like Read, and returns with them the Reader for
// what the object refers to: no older than the copy the object was read from. A reference read
// from one copy may lead to an object made after an older copy of that object's page was taken,
// and such a copy holds whatever was there before.
func (r Reader) Object(addr uint64, n int) ([]byte, Reader, error) {
	b, err := r.Read(addr, n)
	if err != nil {
		return nil, r, err
	}
	return b, r.Through(addr), nil
}

// Through returns the Reader for what the object at addr, already read through r, refers to.
func (r Reader) Through(addr uint64) Reader {
	if e := r.c.epochOf(addr); e > r.floor {
		r.floor = e
	}
	return r
}

// Uint64 reads a little-endian 64-bit field at addr.
func (r Reader) Uint64(addr uint64) (uint64, error) {
	b, err := r.Read(addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// ReadInto copies len(p) bytes at addr into p.
func (r Reader) ReadInto(p []byte, addr uint64) error {
	c := r.c
	if addr+uint64(len(p)) < addr {
		return &ReadError{Addr: addr, Len: len(p), Err: errors.New("address range wraps")}
	}
	if err := c.sameMoment(addr, len(p), r.floor); err != nil {
		return err
	}
	for off := 0; off < len(p); {
		a := addr + uint64(off)
		page := a &^ (PageSize - 1)
		data, err := c.page(page, r.floor)
		if err != nil {
			return err
		}
		var n int
		if data != nil {
			n = copy(p[off:], data[a-page:])
		} else {
			// The page could not be copied whole (it is partly unmapped): read just the
			// bytes asked for, uncached.
			end := min(len(p), off+int(page+PageSize-a))
			if err := c.src.ReadAt(p[off:end], a); err != nil {
				return err
			}
			c.reads++
			n = end - off
		}
		off += n
	}
	return nil
}

// Peek returns n bytes at addr if every page holding them has a copy, without copying anything
// from the target: an alias of the copy when they lie within one page, or a copy into scratch
// when it is big enough. Copies are taken as they are, whatever their age.
func (c *Cache) Peek(addr uint64, n int, scratch []byte) ([]byte, bool) {
	if n <= 0 || n > MaxRead || addr+uint64(n) < addr {
		return nil, false
	}
	if page := addr &^ (PageSize - 1); addr+uint64(n) <= page+PageSize {
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
		page := a &^ (PageSize - 1)
		data := c.region(page).pages[(page>>12)%pagesPerRegion]
		if data == nil {
			return nil, false
		}
		off += copy(scratch[off:n], data[a-page:])
	}
	return scratch[:n:n], true
}

// pagesIn yields the addresses of the pages holding n > 0 bytes at addr, which must not wrap.
// It stops at the last page rather than when passing the end, which may be 0: the last page can
// end at the top of the address space.
func pagesIn(addr uint64, n int) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		last := (addr + uint64(n) - 1) &^ (PageSize - 1)
		for p := addr &^ (PageSize - 1); yield(p) && p != last; p += PageSize {
		}
	}
}

// maxSameMoment bounds the reads that sameMoment makes consistent; bigger ones (large set
// tables) are rare and are taken as they come.
const maxSameMoment = 16 * PageSize

// sameMoment makes sure that an object spanning several pages is read from copies taken in one
// read: an object whose halves were copied at different moments of a changing target may be
// torn. Pages copied apart are copied again, together.
func (c *Cache) sameMoment(addr uint64, n int, floor Epoch) error {
	first := addr &^ (PageSize - 1)
	last := (addr + uint64(n) - 1) &^ (PageSize - 1)
	if n <= 0 || first == last || n > maxSameMoment {
		return nil
	}
	var epoch Epoch
	same := true
	for p := range pagesIn(addr, n) {
		data, err := c.page(p, floor)
		if err != nil {
			return err
		}
		if data == nil {
			return nil // not cacheable: read directly by the caller
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

// page returns the copy of the page at addr, no older than floor, fetching the block around it on
// a miss. A nil slice with a nil error means the page cannot be copied whole.
func (c *Cache) page(addr uint64, floor Epoch) ([]byte, error) {
	if addr == c.lastAddr && c.lastEpoch >= floor {
		return c.lastData, nil
	}
	if c.recording {
		c.recorded = append(c.recorded, addr)
	}
	data, err := c.fetch(addr)
	if err != nil {
		return nil, err
	}
	r := c.region(addr)
	idx := (addr >> 12) % pagesPerRegion
	if data != nil && r.epoch[idx] < floor {
		// Copied before what refers to it: it may predate the object sought there.
		if err := c.copyPages([]uint64{addr}, replaceCopies); err != nil {
			return nil, err
		}
		data = r.pages[idx]
	}
	c.lastAddr, c.lastData, c.lastEpoch = addr, data, r.epoch[idx]
	return data, nil
}

// epochOf tells which read copied the page holding addr (AnyAge if it is not cached).
func (c *Cache) epochOf(addr uint64) Epoch {
	return c.region(addr).epoch[(addr>>12)%pagesPerRegion]
}

func (c *Cache) region(addr uint64) *region {
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
		if n := len(c.spare); n > 0 {
			r, c.spare = c.spare[n-1], c.spare[:n-1]
		} else {
			r = &region{}
		}
		c.regions[key] = r
	}
	copy(c.recent[1:], c.recent[:len(c.recent)-1])
	c.recent[0] = recentRegion{key, r}
	c.lastRegionKey, c.lastRegion = key, r
	return r
}

func (c *Cache) fetch(addr uint64) ([]byte, error) {
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
	block := addr &^ (c.block - 1)
	end := block + c.block
	for start := block; start < end; {
		n := int(end - start)
		buf := c.slabs.get(n)
		c.reads++
		got, err := ReadPrefix(c.src, buf, start)
		if err != nil {
			return nil, err
		}
		got &^= PageSize - 1
		chunk := buf[:got:got]
		c.slabs.take(got)
		// Pages already cached keep their copy: fetching a neighbour never replaces a page
		// whose data may be in use (only fresh copies asked for do).
		for off := 0; off < got; off += PageSize {
			p := ((start + uint64(off)) >> 12) % pagesPerRegion
			if r.pages[p] == nil && !r.unreadable[p] {
				r.pages[p], r.epoch[p] = chunk[off:off+PageSize:off+PageSize], Epoch(c.reads)
				if c.inBatch {
					c.batchPages = append(c.batchPages, start+uint64(off))
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
		start = bad + PageSize
	}
	r.used[idx] = r.pages[idx] != nil
	return r.pages[idx], nil
}

// missing reports whether the page at addr has no copy and is not known to be unreadable.
func (c *Cache) missing(addr uint64) bool {
	r, idx := c.region(addr), (addr>>12)%pagesPerRegion
	return r.pages[idx] == nil && !r.unreadable[idx]
}

// appendMissing appends to pages the pages holding n bytes at addr that have no copy and are not
// known to be unreadable.
func (c *Cache) appendMissing(pages []uint64, addr uint64, n int) []uint64 {
	if n <= 0 || n > MaxRead || addr+uint64(n) < addr {
		return pages
	}
	for p := range pagesIn(addr, n) {
		if c.missing(p) {
			pages = append(pages, p)
		}
	}
	return pages
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
func (c *Cache) copyPages(pages []uint64, mode copyMode) error {
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
		// The first page that could not be read is left unreadable (a read that needs it
		// fails); the rest is copied in the next round.
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
func (c *Cache) copyBatch(addrs []uint64, inPlace bool) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	fresh := 0
	for _, p := range addrs {
		if !inPlace || c.region(p).pages[(p>>12)%pagesPerRegion] == nil {
			fresh++
		}
	}
	slab := c.slabs.get(fresh * PageSize)
	dsts := c.scratchBufs[:0]
	used := 0
	for _, p := range addrs {
		if old := c.region(p).pages[(p>>12)%pagesPerRegion]; inPlace && old != nil {
			dsts = append(dsts, old)
			continue
		}
		dsts = append(dsts, slab[used:used+PageSize:used+PageSize])
		used += PageSize
	}
	c.scratchBufs = dsts
	c.reads++
	got, err := ReadPages(c.src, dsts, addrs)
	if err != nil {
		return 0, err
	}
	c.slabs.take(used)
	for i := 0; i < got; i++ {
		r, idx := c.region(addrs[i]), (addrs[i]>>12)%pagesPerRegion
		if c.inBatch && (!inPlace || r.pages[idx] == nil) {
			c.batchPages = append(c.batchPages, addrs[i])
		}
		r.pages[idx], r.unreadable[idx], r.epoch[idx] = dsts[i], false, Epoch(c.reads)
	}
	return got, nil
}
