package inspector

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/internal/fuzzcheck"
	"github.com/aioscope/aioscope/snapshot"
)

// The fuzz targets feed the inspector what a hostile or changing target can give it: corrupted
// memory (FuzzWalker), a corrupted memory map (FuzzParseMaps) and corrupted ELF files
// (FuzzELFImage). Besides not panicking, each must finish in bounded time and memory. Their
// seed corpus is in testdata/: the images the walker replays, and testdata/fuzz/<target>/ (see
// TestFuzzCorpora).

// walkDeadline bounds one walk over a small image. A correct walk takes well under a
// millisecond; the deadline only catches hangs, so it is generous enough for a loaded machine.
const walkDeadline = 5 * time.Second

// Bounds on what one walk over a corrupted image may ask for. The seed images are a few hundred
// KiB; a corrupt size is allowed to cost at most a few bounded reads (a set table of up to 16 MiB
// is legitimate), never an amount that grows with the numbers found in memory.
const (
	maxWalkReadBytes  = 64 << 20
	maxWalkAllocBytes = 512 << 20
)

// seedImages are the images under testdata/, in name order.
var seedImages = sync.OnceValues(func() ([]*Image, error) {
	names, err := filepath.Glob(filepath.Join("testdata", "image-*.gz"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("no testdata/image-*.gz (regenerate with go test -run TestImageReplay -update-images): %v", err)
	}
	slices.Sort(names)
	var imgs []*Image
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		img, err := ReadImage(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
})

func loadSeedImages(t testing.TB) []*Image {
	t.Helper()
	imgs, err := seedImages()
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

// TestSeedImagesReplay checks that the checked-in images still make complete snapshots: if the
// walker starts reading fields the trimmed images lack, the fuzzer would only ever see errors.
func TestSeedImagesReplay(t *testing.T) {
	for _, img := range loadSeedImages(t) {
		p, s := replaySeedImage(t, img)
		if len(s.Tasks) < 3 || len(s.Threads) == 0 {
			t.Fatalf("image of a Python %s process replays to %d tasks, %d threads", p.PythonVersion(), len(s.Tasks), len(s.Threads))
		}
	}
}

// replaySeedImage walks a checked-in image as it is.
func replaySeedImage(t *testing.T, img *Image) (*Process, *snapshot.Snapshot) {
	t.Helper()
	p, err := openImage(img, img.Memory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := p.walk(nil)
	if err != nil {
		t.Fatalf("image of a Python %s process: %v (regenerate the images with go test -run TestImageReplay -update-images)",
			p.PythonVersion(), err)
	}
	return p, s
}

// mutator applies a mutation program to a copy of an image. The program is a byte string read
// as a sequence of operations, so that the fuzzer's byte-level mutations turn into structural
// ones: a flipped byte in some page, a pointer redirected at another object (which closes loops
// in linked lists and await chains), a huge size, a pointer into unmapped memory, a dropped page.
type mutator struct {
	pages map[uint64][]byte
	addrs []uint64 // page addresses, sorted
	ptrs  []uint64 // addresses of aligned words that point into the image
	own   map[uint64]bool
}

// imageIndex is what a mutator needs to know about an image beyond its pages, computed once.
type imageIndex struct {
	addrs, ptrs []uint64
}

var imageIndexes sync.Map // *Image -> *imageIndex

func indexImage(img *Image) *imageIndex {
	if ix, ok := imageIndexes.Load(img); ok {
		return ix.(*imageIndex)
	}
	ix := &imageIndex{addrs: slices.Sorted(maps.Keys(img.pages))}
	for _, a := range ix.addrs {
		page := img.pages[a]
		for off := 0; off < pageSize; off += 8 {
			v := binary.LittleEndian.Uint64(page[off:]) &^ 7
			if _, ok := img.pages[v&^(pageSize-1)]; ok && v != 0 {
				ix.ptrs = append(ix.ptrs, a+uint64(off))
			}
		}
	}
	imageIndexes.Store(img, ix)
	return ix
}

func newMutator(img *Image) *mutator {
	ix := indexImage(img)
	return &mutator{pages: maps.Clone(img.pages), own: map[uint64]bool{}, addrs: ix.addrs, ptrs: ix.ptrs}
}

// page returns a writable copy of the page at addr.
func (m *mutator) page(addr uint64) []byte {
	if !m.own[addr] {
		m.pages[addr] = slices.Clone(m.pages[addr])
		m.own[addr] = true
	}
	return m.pages[addr]
}

func (m *mutator) word(addr uint64) uint64 {
	p, ok := m.pages[addr&^(pageSize-1)]
	if !ok {
		return 0
	}
	return binary.LittleEndian.Uint64(p[addr&(pageSize-1):])
}

func (m *mutator) setWord(addr, v uint64) {
	if _, ok := m.pages[addr&^(pageSize-1)]; !ok {
		return
	}
	binary.LittleEndian.PutUint64(m.page(addr &^ (pageSize - 1))[addr&(pageSize-1):], v)
}

// hugeValues are sizes, lengths, counts and masks that no real object has.
var hugeValues = []uint64{
	1 << 63, 1<<63 - 1, ^uint64(0), 1 << 32, 1<<32 - 1, 1 << 31, 1 << 20, 1<<20 + 1, 1 << 24, 1 << 40, 65536, 4097,
}

func (m *mutator) apply(prog []byte) {
	u16 := func(b []byte) int { return int(binary.LittleEndian.Uint16(b)) }
	for ops := 0; len(prog) > 0 && ops < 64; ops++ {
		op := prog[0]
		prog = prog[1:]
		need := []int{5, 4, 3, 3, 3, 3, 2, 6}[op%8]
		if len(prog) < need || len(m.addrs) == 0 {
			return
		}
		arg := prog[:need]
		prog = prog[need:]
		anyWord := func(b []byte) uint64 { // a word anywhere in the image
			return m.addrs[int(b[0])%len(m.addrs)] + uint64(u16(b[1:])%(pageSize/8))*8
		}
		ptrWord := func(b []byte) uint64 { // a word that holds a pointer into the image
			if len(m.ptrs) == 0 {
				return m.addrs[0]
			}
			return m.ptrs[u16(b)%len(m.ptrs)]
		}
		switch op % 8 {
		case 0: // flip bits of one byte
			a := m.addrs[u16(arg)%len(m.addrs)]
			x := arg[4]
			if x == 0 {
				x = 0xff
			}
			if _, ok := m.pages[a]; ok { // not dropped
				m.page(a)[u16(arg[2:])%pageSize] ^= x
			}
		case 1: // point a pointer where another one points: lists and chains that loop or cross
			m.setWord(ptrWord(arg), m.word(ptrWord(arg[2:])))
		case 2: // point a pointer at itself or just before itself: the tightest loops
			a := ptrWord(arg)
			m.setWord(a, a-uint64(arg[2]%8)*8)
		case 3: // a huge size, length or count
			m.setWord(anyWord(arg), hugeValues[int(arg[2])%len(hugeValues)])
		case 4: // a pointer into nowhere
			a := ptrWord(arg)
			v := m.word(a)
			m.setWord(a, []uint64{0, 8, 0xdead0000, v + 1<<32, v ^ 1<<46, ^uint64(0) &^ 7, v + pageSize*4096, v | 3}[arg[2]%8])
		case 5: // zero a word
			m.setWord(anyWord(arg), 0)
		case 6: // drop a page: unmapped memory
			delete(m.pages, m.addrs[u16(arg)%len(m.addrs)])
		case 7: // copy 64 bytes from one place to another: duplicated list nodes and objects
			src, dst := anyWord(arg), anyWord(arg[3:])
			for i := uint64(0); i < 64; i += 8 {
				m.setWord(dst+i, m.word(src+i))
			}
		}
	}
}

// walkResult is the outcome of one bounded walk.
type walkResult struct {
	snap *snapshot.Snapshot
	err  error
}

// boundedWalk walks p once in another goroutine and fails the test if it does not return within
// walkDeadline. A walk that hangs cannot be stopped, but the failure report names the input.
func boundedWalk(t *testing.T, p *Process) walkResult {
	t.Helper()
	done := make(chan walkResult, 1)
	go func() {
		s, _, err := p.walk(nil)
		if err == nil && s != nil {
			// What the CLI does next with a snapshot must cope with any graph of tasks.
			awaittree.Table(s.Tasks)
			_, _ = awaittree.Build(s.Tasks)
		}
		done <- walkResult{s, err}
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(walkDeadline):
		t.Fatalf("a walk over a corrupted image did not finish within %v", walkDeadline)
		return walkResult{}
	}
}

// FuzzWalker replays real snapshots over memory images that are corrupted by a mutation program.
func FuzzWalker(f *testing.F) {
	imgs := loadSeedImages(f)
	for i := range imgs {
		f.Add(uint8(i), []byte{})
		// One of each operation, so that every kind of corruption is in the corpus.
		for op := byte(0); op < 8; op++ {
			f.Add(uint8(i), []byte{op, 1, 2, 3, 4, 5, 6, op + 8, 7, 0, 9, 1, 2, 3})
		}
		// Many redirected pointers: loops everywhere.
		f.Add(uint8(i), bytes.Repeat([]byte{1, 3, 0, 7, 1}, 20))
	}
	f.Fuzz(func(t *testing.T, which uint8, prog []byte) {
		img := imgs[int(which)%len(imgs)]
		m := newMutator(img)
		m.apply(prog)
		mem := &countingMemory{mem: imageMemory(m.pages)}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p, err := openImage(img, mem, Options{})
		if err != nil {
			// A corrupted debug table must be refused with an error that is not a retry.
			if p != nil {
				t.Fatal("openImage returned a process and an error")
			}
			return
		}
		first := boundedWalk(t, p)
		// A second walk over the same memory reuses the code cache the first one filled, and
		// reads the tasks two at a time, dropping the page copies of each pair before the
		// next: it must see the same thing, or the cache is keyed on the wrong data or a
		// dropped copy is still in use.
		p.batchSize = 2
		second := boundedWalk(t, p)
		runtime.ReadMemStats(&after)
		for _, r := range []walkResult{first, second} {
			if (r.snap == nil) == (r.err == nil) {
				t.Fatalf("walk returned snapshot %v and error %v", r.snap != nil, r.err)
			}
			// Whatever corrupt memory does, Snapshot must be able to retry: a live target
			// that shows it is usually one that changed while it was read.
			if r.err != nil && !retryable(r.err) {
				t.Fatalf("corrupted memory gave an error Snapshot does not retry: %v", r.err)
			}
		}
		if (first.err == nil) != (second.err == nil) {
			t.Fatalf("walks over the same memory disagree: %v, then %v", first.err, second.err)
		}
		if first.snap != nil {
			a, b := *first.snap, *second.snap
			a.CapturedAt, b.CapturedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("walks over the same memory disagree:\n%s", snapshotDiff(&a, &b))
			}
		}
		if mem.bytes > maxWalkReadBytes {
			t.Fatalf("two walks asked for %d MiB of target memory", mem.bytes>>20)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxWalkAllocBytes {
			t.Fatalf("two walks allocated %d MiB", alloc>>20)
		}
	})
}

// FuzzParseMaps checks the /proc/PID/maps parser: it must accept anything, every mapping it
// returns must be sane, and a mapping written back in the kernel's format must parse to itself.
func FuzzParseMaps(f *testing.F) {
	f.Add([]byte(sampleMaps))
	f.Add([]byte("7f0000000000-7f0000001000 r--p 00000000 08:01 42 /a b/c (deleted) (deleted)\n"))
	f.Add([]byte("0-1 rwxp 0 0 1\n-\n\n   \nffffffffffffffff-0 r 0 0 0 x\n"))
	f.Add([]byte(strings.Repeat("x", 70000) + "\n7f0000000000-7f0000001000 r--p 00000000 08:01 42 /lib\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms []Mapping
		var files []*mappedFile
		fuzzcheck.Bounded(t, "parsing maps", mapsAllocBound(len(data)), func() {
			ms = ParseMaps(data)
			files = mappedFiles(ms)
		})
		for _, m := range ms {
			if m.End <= m.Start {
				t.Fatalf("mapping ends before it starts: %+v", m)
			}
			if strings.ContainsAny(m.Path, "\n") || strings.HasPrefix(m.Path, " ") {
				t.Fatalf("bad path %q", m.Path)
			}
			line := fmt.Sprintf("%x-%x %s %x 00:00 %d %s", m.Start, m.End, m.Perms, m.Offset, m.Inode, m.Path)
			if m.Deleted {
				line += " (deleted)"
			}
			back, ok := parseMapsLine(line)
			if !ok || back != m {
				t.Fatalf("%+v does not survive a round trip (%q -> %+v, %v)", m, line, back, ok)
			}
			_ = m.Readable()
		}
		n := 0
		for _, f := range files {
			n += len(f.Mappings)
			_ = isPythonFile(f.Path)
			_ = isExecutableImage(f)
		}
		if n > len(ms) {
			t.Fatalf("%d mappings grouped into files with %d", len(ms), n)
		}
	})
}

const sampleMaps = `55d4c8a00000-55d4c8a01000 r--p 00000000 08:01 1311 /usr/bin/python3.14
55d4c8a01000-55d4c8d00000 r-xp 00001000 08:01 1311 /usr/bin/python3.14
55d4c8f00000-55d4c8f80000 rw-p 00400000 08:01 1311 /usr/bin/python3.14
55d4ca000000-55d4ca200000 rw-p 00000000 00:00 0                          [heap]
7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0
7f1c2b000000-7f1c2b010000 r-xp 00000000 08:01 2201 /usr/lib/python3.14/lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so
7f1c2c000000-7f1c2c001000 r--p 00000000 08:01 3301 /opt/app/my lib (deleted)
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`

// elfSpec describes a small ELF64 file for the fuzz seeds: real program headers and section
// headers, but section contents only where the inspector reads them.
type elfSpec struct {
	typ      elf.Type
	progs    []elf.ProgHeader
	sections []elfSpecSection
	pyVer    uint32 // value of the Py_Version symbol; 0 for none
	pyVerSec string // section holding Py_Version
}

type elfSpecSection struct {
	name    string
	typ     elf.SectionType
	flags   elf.SectionFlag
	addr    uint64
	size    uint64
	align   uint64
	entsize uint64
	offset  uint64 // for sections without data here: where the original file had them
}

// buildELF writes spec as an ELF file that debug/elf reads: header, program headers, the data
// of .dynsym/.dynstr/the Py_Version section and .shstrtab, then the section headers at the end.
func buildELF(spec elfSpec) []byte {
	le := binary.LittleEndian
	var data bytes.Buffer
	dataStart := (64 + 56*len(spec.progs) + 7) &^ 7 // after the header and program headers
	pad := func(align int) {
		for data.Len()%align != 0 {
			data.WriteByte(0)
		}
	}
	type shdr struct {
		name            uint32
		typ             elf.SectionType
		flags           elf.SectionFlag
		addr, off, size uint64
		link, info      uint32
		align, entsize  uint64
		nameString      string
		dataBytes       []byte
		hasData         bool
	}
	shs := []shdr{{}} // section 0 is null
	for _, s := range spec.sections {
		shs = append(shs, shdr{typ: s.typ, flags: s.flags, addr: s.addr, size: s.size, align: s.align,
			entsize: s.entsize, off: s.offset, nameString: s.name})
	}
	secIndex := func(name string) int {
		for i, s := range shs {
			if s.nameString == name && i > 0 {
				return i
			}
		}
		return -1
	}
	if spec.pyVer != 0 {
		vi := secIndex(spec.pyVerSec)
		// Py_Version is an unsigned long. Its section shrinks to the 8 bytes of the symbol.
		var v [8]byte
		le.PutUint64(v[:], uint64(spec.pyVer))
		shs[vi].size, shs[vi].dataBytes, shs[vi].hasData = 8, v[:], true
		dynstr := []byte("\x00Py_Version\x00")
		sym := make([]byte, 48) // the null symbol, then Py_Version
		le.PutUint32(sym[24:], 1)
		sym[24+4] = byte(elf.STB_GLOBAL)<<4 | byte(elf.STT_OBJECT)
		le.PutUint16(sym[24+6:], uint16(vi))
		le.PutUint64(sym[24+8:], shs[vi].addr)
		le.PutUint64(sym[24+16:], 8)
		shs = append(shs,
			shdr{typ: elf.SHT_STRTAB, flags: elf.SHF_ALLOC, nameString: ".dynstr", dataBytes: dynstr, hasData: true, align: 1},
			shdr{typ: elf.SHT_DYNSYM, flags: elf.SHF_ALLOC, nameString: ".dynsym", dataBytes: sym, hasData: true, align: 8, entsize: 24, info: 1})
		shs[len(shs)-1].link = uint32(len(shs) - 2)
	}
	shstr := []byte{0}
	for i := range shs[1:] {
		shs[i+1].name = uint32(len(shstr))
		shstr = append(append(shstr, shs[i+1].nameString...), 0)
	}
	shstr = append(shstr, ".shstrtab\x00"...)
	shs = append(shs, shdr{typ: elf.SHT_STRTAB, nameString: ".shstrtab", name: uint32(len(shstr) - len(".shstrtab\x00")),
		dataBytes: shstr, hasData: true, align: 1})
	for i := range shs {
		if shs[i].hasData {
			pad(8)
			shs[i].off = uint64(dataStart + data.Len())
			shs[i].size = uint64(len(shs[i].dataBytes))
			data.Write(shs[i].dataBytes)
		}
	}
	pad(8)
	shoff := uint64(dataStart + data.Len())

	out := make([]byte, dataStart, int(shoff)+64*len(shs))
	copy(out, "\x7fELF")
	out[elf.EI_CLASS], out[elf.EI_DATA], out[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	le.PutUint16(out[16:], uint16(spec.typ))
	le.PutUint16(out[18:], uint16(elf.EM_X86_64))
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[32:], 64) // e_phoff
	le.PutUint64(out[40:], shoff)
	le.PutUint16(out[52:], 64)
	le.PutUint16(out[54:], 56)
	le.PutUint16(out[56:], uint16(len(spec.progs)))
	le.PutUint16(out[58:], 64)
	le.PutUint16(out[60:], uint16(len(shs)))
	le.PutUint16(out[62:], uint16(len(shs)-1))
	for i, p := range spec.progs {
		ph := out[64+56*i:]
		le.PutUint32(ph[0:], uint32(p.Type))
		le.PutUint32(ph[4:], uint32(p.Flags))
		le.PutUint64(ph[8:], p.Off)
		le.PutUint64(ph[16:], p.Vaddr)
		le.PutUint64(ph[24:], p.Paddr)
		le.PutUint64(ph[32:], p.Filesz)
		le.PutUint64(ph[40:], p.Memsz)
		le.PutUint64(ph[48:], p.Align)
	}
	out = append(out, data.Bytes()...)
	for _, s := range shs {
		var h [64]byte
		le.PutUint32(h[0:], s.name)
		le.PutUint32(h[4:], uint32(s.typ))
		le.PutUint64(h[8:], uint64(s.flags))
		le.PutUint64(h[16:], s.addr)
		le.PutUint64(h[24:], s.off)
		le.PutUint64(h[32:], s.size)
		le.PutUint32(h[40:], s.link)
		le.PutUint32(h[44:], s.info)
		le.PutUint64(h[48:], s.align)
		le.PutUint64(h[56:], s.entsize)
		out = append(out, h[:]...)
	}
	return out
}

// mapsFor writes the /proc/PID/maps lines of an image whose PT_LOAD segments are mapped at base.
func mapsFor(progs []elf.ProgHeader, base uint64, path string) string {
	var b strings.Builder
	for _, p := range progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		perms := []byte("---p")
		if p.Flags&elf.PF_R != 0 {
			perms[0] = 'r'
		}
		if p.Flags&elf.PF_W != 0 {
			perms[1] = 'w'
		}
		if p.Flags&elf.PF_X != 0 {
			perms[2] = 'x'
		}
		start := base + p.Vaddr&^(pageSize-1)
		end := (base + p.Vaddr + p.Memsz + pageSize - 1) &^ (pageSize - 1)
		fmt.Fprintf(&b, "%x-%x %s %08x 08:01 4242 %s\n", start, end, perms, p.Off&^(pageSize-1), path)
	}
	return b.String()
}

// syntheticELF is a small shared library laid out like libpython: a read-only segment, an
// executable one and a writable one holding .PyRuntime and .AsyncioDebug.
func syntheticELF(pyVer uint32) elfSpec {
	return elfSpec{
		typ: elf.ET_DYN,
		progs: []elf.ProgHeader{
			{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0, Vaddr: 0, Filesz: 0x5000, Memsz: 0x5000, Align: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x5000, Vaddr: 0x5000, Filesz: 0x20000, Memsz: 0x20000, Align: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x25d50, Vaddr: 0x26d50, Filesz: 0x3000, Memsz: 0x5000, Align: 0x1000},
			{Type: elf.PT_GNU_STACK, Flags: elf.PF_R | elf.PF_W},
		},
		sections: []elfSpecSection{
			{name: ".rodata", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x2000, size: 0x1000, align: 32, offset: 0x2000},
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0x5000, size: 0x20000, align: 16, offset: 0x5000},
			{name: ".PyRuntime", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, addr: 0x26d60, size: 0x1800, align: 64, offset: 0x25d60},
			{name: ".AsyncioDebug", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, addr: 0x28600, size: 0x100, align: 8, offset: 0x27600},
			{name: ".bss", typ: elf.SHT_NOBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, addr: 0x29d50, size: 0x2000, align: 32, offset: 0x28d50},
		},
		pyVer:    pyVer,
		pyVerSec: ".rodata",
	}
}

// realELFSpec takes the program and section headers of a real interpreter, when one is at hand,
// so that the seeds include a real layout (many sections, segment offsets that are not page
// aligned). Its contents are dropped except for Py_Version.
func realELFSpec(path string) (elfSpec, bool) {
	f, err := elf.Open(path)
	if err != nil {
		return elfSpec{}, false
	}
	defer f.Close()
	spec := elfSpec{typ: f.Type}
	for _, p := range f.Progs {
		spec.progs = append(spec.progs, p.ProgHeader)
	}
	syms, _ := f.DynamicSymbols()
	var pyVerAddr uint64
	for _, s := range syms {
		if s.Name == "Py_Version" {
			pyVerAddr = s.Value
		}
	}
	for _, s := range f.Sections {
		switch s.Type {
		case elf.SHT_NULL, elf.SHT_DYNSYM, elf.SHT_STRTAB:
			continue // rebuilt by buildELF
		}
		sec := elfSpecSection{name: s.Name, typ: s.Type, flags: s.Flags, addr: s.Addr, size: s.Size,
			align: s.Addralign, entsize: s.Entsize, offset: s.Offset}
		if pyVerAddr != 0 && spec.pyVerSec == "" && s.Type != elf.SHT_NOBITS && pyVerAddr >= s.Addr && pyVerAddr+8 <= s.Addr+s.Size {
			var b [4]byte
			if _, err := s.ReadAt(b[:], int64(pyVerAddr-s.Addr)); err == nil {
				spec.pyVer, spec.pyVerSec = binary.LittleEndian.Uint32(b[:]), s.Name
				sec.addr = pyVerAddr
			}
		}
		spec.sections = append(spec.sections, sec)
	}
	return spec, true
}

// realInterpreters are the interpreters whose layouts seed FuzzELFImage when present.
func realInterpreters() []string {
	var paths []string
	for _, v := range []string{"3.13", "3.14", "3.15"} {
		if p := os.Getenv("AIOSCOPE_PYTHON" + strings.ReplaceAll(v, ".", "")); p != "" {
			paths = append(paths, p)
		}
		paths = append(paths, filepath.Join("..", ".cache", "sid", "usr", "bin", "python"+v))
	}
	return paths
}

func TestSyntheticELFSeeds(t *testing.T) {
	spec := syntheticELF(0x030e0af0)
	b := buildELF(spec)
	img, err := readELFImage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	const base = 0x7f1c2a000000
	maps := ParseMaps([]byte(mapsFor(spec.progs, base, "/usr/lib/libpython3.14.so.1.0")))
	if _, addr, ok := img.sectionAddr(".PyRuntime", maps); !ok || addr != base+0x26d60 {
		t.Errorf(".PyRuntime at 0x%x (%v), want 0x%x", addr, ok, base+0x26d60)
	}
	if _, addr, ok := img.sectionAddr(".AsyncioDebug", maps); !ok || addr != base+0x28600 {
		t.Errorf(".AsyncioDebug at 0x%x (%v), want 0x%x", addr, ok, base+0x28600)
	}
	if v, ok := img.pyVersionHex(); !ok || v != 0x030e0af0 {
		t.Errorf("Py_Version 0x%x (%v)", v, ok)
	}
	for _, path := range realInterpreters() {
		spec, ok := realELFSpec(path)
		if !ok {
			continue
		}
		// The real file itself: its Py_Version is an 8-byte unsigned long.
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		real, err := readELFImage(fh)
		if err != nil {
			fh.Close()
			t.Fatalf("%s: %v", path, err)
		}
		if v, ok := real.pyVersionHex(); !ok || v>>24 != 3 || v != uint64(spec.pyVer) {
			t.Errorf("%s: Py_Version 0x%x (%v)", path, v, ok)
		}
		fh.Close()
		img, err := readELFImage(bytes.NewReader(buildELF(spec)))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v, ok := img.pyVersionHex(); !ok || v != uint64(spec.pyVer) || v>>24 != 3 {
			t.Errorf("%s: Py_Version 0x%x (%v), want 0x%x", path, v, ok, spec.pyVer)
		}
	}
}

// FuzzELFImage checks reading the ELF files a target maps: section lookup, load bias and the
// Py_Version symbol, on mutated headers and mutated maps.
func FuzzELFImage(f *testing.F) {
	const base = 0x7f1c2a000000
	spec := syntheticELF(0x030e0af0)
	f.Add(buildELF(spec), mapsFor(spec.progs, base, "/usr/lib/libpython3.14.so.1.0"))
	noVer := syntheticELF(0)
	f.Add(buildELF(noVer), mapsFor(noVer.progs, base, "/usr/bin/python3.15"))
	// Truncated: the section headers are gone.
	f.Add(buildELF(spec)[:0x200], "")
	for _, path := range realInterpreters() {
		if spec, ok := realELFSpec(path); ok {
			f.Add(buildELF(spec), mapsFor(spec.progs, 0x55d4c8a00000, path))
		}
	}
	f.Fuzz(func(t *testing.T, file []byte, mapsText string) {
		fuzzcheck.Bounded(t, fmt.Sprintf("reading an ELF file of %d bytes", len(file)), elfAllocBound(len(file)+len(mapsText)), func() {
			img, err := readELFImage(bytes.NewReader(file))
			if err != nil {
				if img != nil {
					t.Error("image returned with an error")
				}
				return
			}
			defer img.Close()
			ms := ParseMaps([]byte(mapsText))
			for _, name := range []string{".PyRuntime", ".AsyncioDebug", ".text", ""} {
				img.sectionAddr(name, ms)
				img.sectionAddr(name, nil)
			}
			if v, ok := img.pyVersionHex(); ok && v > 1<<32 {
				t.Errorf("Py_Version 0x%x is wider than 32 bits", v)
			}
		})
	})
}

// mapsAllocBound is the most parsing n bytes of /proc/PID/maps may allocate: a small multiple
// of the input (each line becomes a Mapping, which is larger than its shortest line).
func mapsAllocBound(n int) uint64 { return 1<<20 + 64*uint64(n) }

// elfAllocBound is the most reading an ELF file of n bytes (and a maps text) may allocate. The
// header counts are 16-bit, so debug/elf's tables have a fixed ceiling; section contents are
// only read as far as the file goes.
func elfAllocBound(n int) uint64 { return 64<<20 + 16*uint64(n) }

// TestWalkErrorsAreOneLine checks the walker's own messages about corrupt memory, which end up
// in the one line the CLI prints (through Explain), and that they are of the kinds Snapshot
// retries.
func TestWalkErrorsAreOneLine(t *testing.T) {
	imgs := loadSeedImages(t)
	for i, img := range imgs {
		for op := byte(0); op < 8; op++ {
			m := newMutator(img)
			m.apply(bytes.Repeat([]byte{op, byte(i), 3, 5, 7, 11, 13}, 8))
			p, err := openImage(img, imageMemory(m.pages), Options{})
			if err == nil {
				_, _, err = p.walk(nil)
			}
			if err != nil && strings.ContainsAny(Explain(err), "\n\r") {
				t.Errorf("multi-line error: %q", Explain(err))
			}
			var re *ReadError
			var ie *InconsistentError
			if err != nil && p != nil && !errors.As(err, &re) && !errors.As(err, &ie) {
				t.Errorf("walk error of an unexpected kind %T: %v", err, err)
			}
		}
	}
}

// mutationProgram returns a FuzzWalker program of n operations, each one of ops, with
// pseudo-random arguments that are the same on every run.
func mutationProgram(seed uint64, n int, ops ...byte) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var prog []byte
	for i := 0; i < n; i++ {
		op := ops[r.IntN(len(ops))]
		prog = append(prog, op)
		for j := 0; j < []int{5, 4, 3, 3, 3, 3, 2, 6}[op%8]; j++ {
			prog = append(prog, byte(r.Uint32()))
		}
	}
	return prog
}

// patchELF returns a copy of an ELF file built by buildELF with one little-endian field of
// width bytes at off replaced.
func patchELF(file []byte, off, width int, v uint64) []byte {
	out := slices.Clone(file)
	for i := 0; i < width; i++ {
		out[off+i] = byte(v >> (8 * i))
	}
	return out
}

// elfSectionField is the file offset of a field (at fieldOff in the 64-byte header) of the
// named section of an ELF file built by buildELF.
func elfSectionField(t *testing.T, file []byte, name string, fieldOff int) int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	shoff := int(binary.LittleEndian.Uint64(file[40:]))
	for i, s := range f.Sections {
		if s.Name == name {
			return shoff + 64*i + fieldOff
		}
	}
	t.Fatalf("no section %s", name)
	return 0
}

func TestFuzzCorpora(t *testing.T) {
	// FuzzWalker: every image under every kind of corruption, many operations at a time.
	var walker []fuzzcheck.Seed
	for i := range loadSeedImages(t) {
		for _, c := range []struct {
			name string
			ops  []byte
		}{
			{"flipped-bytes", []byte{0}},
			{"crossed-pointers", []byte{1}},
			{"self-pointers", []byte{2}},
			{"huge-sizes", []byte{3}},
			{"pointers-into-nowhere", []byte{4}},
			{"dropped-pages", []byte{6}},
			{"copied-objects", []byte{7}},
			{"everything", []byte{0, 1, 2, 3, 4, 5, 6, 7}},
		} {
			walker = append(walker, fuzzcheck.Seed{Name: fmt.Sprintf("%s-%d", c.name, i),
				Vals: []any{uint8(i), mutationProgram(uint64(i)<<8|uint64(c.ops[0]), 48, c.ops...)}})
		}
	}

	// FuzzELFImage: the synthetic libpython with its headers broken.
	const base = 0x7f1c2a000000
	spec := syntheticELF(0x030e0af0)
	lib := buildELF(spec)
	maps := mapsFor(spec.progs, base, "/usr/lib/libpython3.14.so.1.0")
	shdr := func(name string, field int) int { return elfSectionField(t, lib, name, field) }
	const (
		shAddr, shOffset, shSize, shLink = 16, 24, 32, 40
		ehPhnum, ehShoff, ehShnum        = 56, 40, 60
		ehShstrndx, phOff, phFilesz      = 62, 64 + 8, 64 + 32
	)
	elfSeeds := []fuzzcheck.Seed{
		{Name: "shnum-max", Vals: []any{patchELF(lib, ehShnum, 2, 0xffff), maps}},
		{Name: "shoff-past-end", Vals: []any{patchELF(lib, ehShoff, 8, 1<<62), maps}},
		{Name: "shstrndx-out-of-range", Vals: []any{patchELF(lib, ehShstrndx, 2, 0xfffe), maps}},
		{Name: "phnum-max", Vals: []any{patchELF(lib, ehPhnum, 2, 0xffff), maps}},
		{Name: "load-offset-huge", Vals: []any{patchELF(lib, phOff, 8, 1<<63), maps}},
		{Name: "load-filesz-huge", Vals: []any{patchELF(lib, phFilesz, 8, ^uint64(0)), maps}},
		{Name: "dynsym-huge", Vals: []any{patchELF(lib, shdr(".dynsym", shSize), 8, 1<<62), maps}},
		{Name: "dynsym-offset-past-end", Vals: []any{patchELF(lib, shdr(".dynsym", shOffset), 8, 1<<40), maps}},
		{Name: "dynsym-link-self", Vals: []any{patchELF(lib, shdr(".dynsym", shLink), 4, 7), maps}},
		{Name: "dynstr-empty", Vals: []any{patchELF(lib, shdr(".dynstr", shSize), 8, 0), maps}},
		{Name: "pyruntime-wraps", Vals: []any{patchELF(lib, shdr(".PyRuntime", shAddr), 8, ^uint64(0)-8), maps}},
		{Name: "rodata-wraps", Vals: []any{patchELF(patchELF(lib, shdr(".rodata", shAddr), 8, ^uint64(0)-3), shdr(".rodata", shSize), 8, 16), maps}},
		{Name: "maps-wrapping", Vals: []any{lib, "ffffffffffff0000-ffffffffffffffff r--p ffffffffffff0000 08:01 4242 /usr/lib/libpython3.14.so.1.0\n" +
			"0-1000 r--p 7fffffffffffffff 08:01 4242 /usr/lib/libpython3.14.so.1.0\n" + maps}},
		{Name: "maps-overlapping", Vals: []any{lib, maps + maps + strings.ReplaceAll(maps, "7f1c2a", "7f1c29")}},
	}

	seeds := map[string][]fuzzcheck.Seed{
		"FuzzWalker": walker,
		"FuzzParseMaps": {
			{Name: "overflowing-addresses", Vals: []any{[]byte("ffffffffffffffffff-fffffffffffffffffff r--p 0 0:0 0 /x\n10000000000000000-20000000000000000 r--p 0 0:0 0 /y\n")}},
			{Name: "wrapping", Vals: []any{[]byte("ffffffffffff0000-0000000000001000 r--p 00000000 08:01 1 /w\n1000-1000 r--p 0 08:01 1 /empty\n")}},
			{Name: "nul-and-crlf", Vals: []any{[]byte("7f00-7f10 r--p 0 08:01 1 /a\x00b\r\n7f10-7f20 rw-p 0 08:01 1 /c\r\n\r\n")}},
			{Name: "huge-offset-and-inode", Vals: []any{[]byte("1000-2000 r-xp ffffffffffffffffff 08:01 99999999999999999999999 /lib\n1000-2000 r-xp 0 08:01 -1 /lib\n")}},
			{Name: "deleted-only", Vals: []any{[]byte("1000-2000 r--p 0 0:0 1  (deleted)\n2000-3000 r--p 0 0:0 1 (deleted) (deleted)\n")}},
			{Name: "many-lines", Vals: []any{[]byte(strings.Repeat("7f0000001000-7f0000002000 r--p 00001000 08:01 42 /usr/bin/python3.14\n", 1000))}},
		},
		"FuzzELFImage": elfSeeds,
	}
	fuzzcheck.CheckCorpora(t, map[string]func(*testing.F){
		"FuzzWalker":    FuzzWalker,
		"FuzzParseMaps": FuzzParseMaps,
		"FuzzELFImage":  FuzzELFImage,
	}, seeds)
}
