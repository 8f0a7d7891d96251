package inspector

import (
	"bytes"
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
