package inspector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/snapshot"
)

// An Image is a saved copy of the target memory one snapshot read: every page that attaching
// and the snapshot's walk touched, with the addresses of the two debug tables. Replaying a walk
// over it gives the same snapshot without the process, which makes a snapshot reproducible for
// tests and fuzzing long after the process is gone. (Test code only: it keeps gzip, and its
// start-up cost, out of the binary.)
type Image struct {
	PID            int
	RuntimeAddr    uint64 // _PyRuntime, where _Py_DebugOffsets starts
	AsyncioAddr    uint64 // the .AsyncioDebug table
	MainThreadOnly bool   // the walk read only the main thread's task list; replay it the same way
	pages          map[uint64][]byte
}

// Pages returns the number of pages in the image.
func (img *Image) Pages() int { return len(img.pages) }

// Memory returns a read-only view of the image. Reads of bytes outside the saved pages fail as
// reads of unmapped memory do.
func (img *Image) Memory() Memory { return imageMemory(img.pages) }

// pageSize is the unit of images: the page copies the walk reads from.
const pageSize = snapmem.PageSize

// imageMemory serves reads from saved pages.
type imageMemory map[uint64][]byte

func (m imageMemory) ReadAt(p []byte, addr uint64) error {
	if addr+uint64(len(p)) < addr {
		return &ReadError{Addr: addr, Len: len(p), Err: errors.New("address range wraps")}
	}
	for off := 0; off < len(p); {
		a := addr + uint64(off)
		page, ok := m[a&^(pageSize-1)]
		if !ok {
			return &ReadError{Addr: a, Len: len(p) - off, Err: errors.New("not in the image")}
		}
		off += copy(p[off:], page[a&(pageSize-1):])
	}
	return nil
}

// recordingMemory passes reads through to a live Memory and keeps a copy of every page they
// touch. The first copy of a page taken through it is kept: the walker's page cache also keeps
// the first copy it gets, so the image holds exactly the bytes the walk used. Pages inherited from
// base (the debug tables' pages, read at an earlier moment) are replaced by the walk's own copy.
type recordingMemory struct {
	live    Memory
	pages   map[uint64][]byte
	fresh   map[uint64]bool // pages copied through this recorder
	changed bool            // a page read again differed from its first copy
}

func newRecordingMemory(live Memory, base map[uint64][]byte) *recordingMemory {
	pages := maps.Clone(base)
	if pages == nil {
		pages = map[uint64][]byte{}
	}
	return &recordingMemory{live: live, pages: pages, fresh: map[uint64]bool{}}
}

func (r *recordingMemory) ReadAt(p []byte, addr uint64) error {
	if err := r.live.ReadAt(p, addr); err != nil {
		return err
	}
	end := addr + uint64(len(p))
	for page := addr &^ (pageSize - 1); page < end; page += pageSize {
		if r.fresh[page] {
			// A walk that reads a page again uses the new copy: an image of a page that
			// changed in between holds what the walk first saw, not what it went on with.
			lo, hi := max(page, addr), min(page+pageSize, end)
			if !bytes.Equal(r.pages[page][lo-page:hi-page], p[lo-addr:hi-addr]) {
				r.changed = true
			}
			continue
		}
		r.fresh[page] = true
		lo, hi := max(page, addr), min(page+pageSize, end)
		if lo == page && hi == page+pageSize {
			r.pages[page] = append([]byte(nil), p[page-addr:hi-addr]...)
			continue
		}
		// A read of part of a page (attaching reads the debug tables field by field): fetch
		// the whole page, so that a replay can read the page in any way the walk might, and
		// lay the bytes actually returned over it.
		buf := make([]byte, pageSize)
		if err := r.live.ReadAt(buf, page); err != nil {
			// The rest of the page cannot be read. Keep the bytes that were; the others are
			// zero, and a replay of the same reads never looks at them.
			clear(buf)
		}
		copy(buf[lo-page:], p[lo-addr:hi-addr])
		r.pages[page] = buf
	}
	return nil
}

// SnapshotImage takes a snapshot like Snapshot and also returns the memory it read as an Image.
// Each attempt records afresh, so the image holds what the successful attempt saw, and the code
// cache is bypassed so that the image contains every code object the snapshot shows.
func (p *Process) SnapshotImage() (*snapshot.Snapshot, *Image, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureAsyncio(); err != nil {
		return nil, nil, err
	}
	live := p.mem
	defer func() { p.mem, p.snapshots = live, nil }()
	// The pages the debug tables live on, which openImage reads.
	base := newRecordingMemory(live, nil)
	if err := p.readTablesFrom(base); err != nil {
		return nil, nil, err
	}
	attempts := max(p.opts.Retries, 0) + 1
	var last error
	for i := 0; i < attempts; i++ {
		rec := newRecordingMemory(live, base.pages)
		p.mem = rec
		p.codes = codeCache{}
		p.snapshots = nil // a cache over rec: the one over live would read around the recording
		s, _, err := p.walk(nil)
		if err == nil && rec.changed {
			// The target changed during the walk (a program still settling, a busy machine):
			// the image would not be one state of it. Take it again.
			last = fmt.Errorf("process %d: memory changed while the image was recorded", p.pid)
			continue
		}
		if err == nil {
			img := &Image{
				PID:            p.pid,
				RuntimeAddr:    p.runtimeAddr,
				AsyncioAddr:    p.asyncioAddr,
				MainThreadOnly: p.opts.MainThreadOnly,
				pages:          rec.pages,
			}
			return s, img, nil
		}
		if !retryable(err) {
			return nil, nil, err
		}
		last = err
	}
	// As in Snapshot: a process that exited mid-read shows up as failed reads.
	if st, err := p.proc.stat(); err != nil || st.State == 'Z' || st.State == 'X' {
		return nil, nil, &ProcessGoneError{PID: p.pid}
	}
	return nil, nil, &TargetChangedError{PID: p.pid, Attempts: attempts, Last: last}
}

// readTablesFrom reads both debug tables through mem, as openImage will read them from an image.
func (p *Process) readTablesFrom(mem Memory) error {
	if p.asyncioAddr == 0 {
		return errors.New("the location of the asyncio debug table is unknown")
	}
	size, err := cpython.DebugOffsetsSize(p.offsets.Version)
	if err != nil {
		return err
	}
	buf := make([]byte, max(size, cpython.AsyncioOffsetsSize))
	if err := mem.ReadAt(buf[:size], p.runtimeAddr); err != nil {
		return p.readFailure(err)
	}
	if err := mem.ReadAt(buf[:cpython.AsyncioOffsetsSize], p.asyncioAddr); err != nil {
		return p.readFailure(err)
	}
	return nil
}

// openImage returns a Process that reads mem (normally img.Memory(), or a corrupted copy of it
// in tests) instead of a live process. It fills the fields attach fills, from the tables found
// at the recorded addresses, and validates them exactly as attach does. The Process has no /proc
// behind it: its procFS points at a directory that does not exist, so a Snapshot whose every
// attempt fails ends with an error rather than looking at an unrelated live process that now
// has the same PID.
func openImage(img *Image, mem Memory, opts Options) (*Process, error) {
	p := &Process{
		pid:       img.PID,
		proc:      procFS{pid: img.PID, root: "/nonexistent/aioscope-image"},
		mem:       mem,
		opts:      opts,
		batchSize: tasksPerBatch,
	}
	if err := p.readOffsets(img.RuntimeAddr); err != nil {
		return nil, err
	}
	buf := make([]byte, cpython.AsyncioOffsetsSize)
	if err := mem.ReadAt(buf, img.AsyncioAddr); err != nil {
		return nil, p.readFailure(err)
	}
	a, err := cpython.ParseAsyncioOffsets(buf, p.offsets)
	if err != nil {
		return nil, fmt.Errorf("image of process %d: %w", p.pid, err)
	}
	p.asyncio, p.asyncioAddr = a, img.AsyncioAddr
	return p, nil
}

// The image file: a gzip stream of
//
//	magic        "aioscope-image\x00\x01" (16 bytes; the last byte is the format version)
//	pid          uint64
//	runtime      uint64
//	asyncio      uint64
//	flags        uint64 (bit 0: main thread only)
//	page count   uint64
//	pages        count × (address uint64, 4096 bytes), in address order
//
// all little-endian. Pages are sorted so that the same memory always gives the same file.
const imageMagic = "aioscope-image\x00\x01"

// maxImagePages bounds what ReadImage accepts (4 GiB of pages), so that a corrupt count cannot
// make it allocate without limit before the data runs out.
const maxImagePages = 1 << 20

// Write writes the image in its file format.
func (img *Image) Write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	var flags uint64
	if img.MainThreadOnly {
		flags |= 1
	}
	bw.WriteString(imageMagic)
	for _, v := range []uint64{uint64(img.PID), img.RuntimeAddr, img.AsyncioAddr, flags, uint64(len(img.pages))} {
		binary.Write(bw, binary.LittleEndian, v)
	}
	for _, addr := range slices.Sorted(maps.Keys(img.pages)) {
		binary.Write(bw, binary.LittleEndian, addr)
		bw.Write(img.pages[addr])
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// ReadImage reads an image written by Write.
func ReadImage(r io.Reader) (*Image, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not an aioscope memory image: %w", err)
	}
	defer zr.Close()
	br := bufio.NewReader(zr)
	magic := make([]byte, len(imageMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != imageMagic {
		return nil, errors.New("not an aioscope memory image (or a newer format)")
	}
	var hdr [5]uint64
	if err := binary.Read(br, binary.LittleEndian, &hdr); err != nil {
		return nil, fmt.Errorf("memory image header: %w", err)
	}
	if hdr[4] > maxImagePages || hdr[0] > 1<<31 {
		return nil, fmt.Errorf("memory image header is corrupt (%d pages)", hdr[4])
	}
	img := &Image{
		PID:            int(hdr[0]),
		RuntimeAddr:    hdr[1],
		AsyncioAddr:    hdr[2],
		MainThreadOnly: hdr[3]&1 != 0,
		pages:          map[uint64][]byte{},
	}
	for i := uint64(0); i < hdr[4]; i++ {
		var addr uint64
		if err := binary.Read(br, binary.LittleEndian, &addr); err != nil {
			return nil, fmt.Errorf("memory image page %d: %w", i, err)
		}
		page := make([]byte, pageSize)
		if _, err := io.ReadFull(br, page); err != nil {
			return nil, fmt.Errorf("memory image page %d: %w", i, err)
		}
		if addr%pageSize != 0 {
			return nil, fmt.Errorf("memory image page %d: unaligned address 0x%x", i, addr)
		}
		img.pages[addr] = page
	}
	return img, nil
}
