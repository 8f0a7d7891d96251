package values_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/fuzzcheck"
)

// FuzzReader feeds the reader corrupted images of real object graphs: the pages a reader read
// from live CPython 3.14 and 3.15 processes while rendering their values, frames and asyncio
// objects (testdata/image-*.gz), mutated by a program the fuzzer writes. Whatever the memory
// holds, every call must return in bounded time and memory, without a panic.

var updateImages = flag.Bool("update-images", false, "capture testdata/image-*.gz again from live processes")

const imagePage = 4096

// image is a copy of the pages of a process that a reader touched, with the objects it was
// asked about.
type image struct {
	Name    string   `json:"name"`
	Runtime uint64   `json:"runtime"`
	Roots   []uint64 `json:"roots"`
	Frames  []uint64 `json:"frames"`
	pages   map[uint64][]byte
	addrs   []uint64 // page addresses, sorted
	ptrs    []uint64 // addresses of aligned words that point into the image
}

const imageMagic = "aioscope values image 1\n"

func (img *image) write(w io.Writer) error {
	zw := gzip.NewWriter(w)
	meta, err := json.Marshal(img)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(zw, "%s%s\n", imageMagic, meta); err != nil {
		return err
	}
	for _, a := range slices.Sorted(maps.Keys(img.pages)) {
		var hdr [8]byte
		binary.LittleEndian.PutUint64(hdr[:], a)
		if _, err := zw.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := zw.Write(img.pages[a]); err != nil {
			return err
		}
	}
	return zw.Close()
}

func readImage(r io.Reader) (*image, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, len(imageMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != imageMagic {
		return nil, fmt.Errorf("not a values image")
	}
	meta, err := br.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	img := &image{pages: map[uint64][]byte{}}
	if err := json.Unmarshal(meta, img); err != nil {
		return nil, err
	}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		page := make([]byte, imagePage)
		if _, err := io.ReadFull(br, page); err != nil {
			return nil, err
		}
		img.pages[binary.LittleEndian.Uint64(hdr[:])] = page
	}
	img.index()
	return img, nil
}

func (img *image) index() {
	img.addrs = slices.Sorted(maps.Keys(img.pages))
	img.ptrs = nil
	for _, a := range img.addrs {
		page := img.pages[a]
		for off := 0; off < imagePage; off += 8 {
			v := binary.LittleEndian.Uint64(page[off:]) &^ 7
			if _, ok := img.pages[v&^(imagePage-1)]; ok && v != 0 {
				img.ptrs = append(img.ptrs, a+uint64(off))
			}
		}
	}
}

// pageMemory serves reads from a set of pages; a read touching a missing page fails.
type pageMemory struct {
	pages map[uint64][]byte
	buf   []byte
	reads int
}

var errNoPage = errors.New("page not in the image")

func (m *pageMemory) Read(addr uint64, n int) ([]byte, error) {
	m.reads++
	if n == 0 {
		return nil, nil
	}
	first := addr &^ (imagePage - 1)
	if addr+uint64(n) < addr {
		return nil, errNoPage
	}
	if addr+uint64(n) <= first+imagePage {
		p, ok := m.pages[first]
		if !ok {
			return nil, errNoPage
		}
		return p[addr-first : addr-first+uint64(n)], nil
	}
	if cap(m.buf) < n {
		m.buf = make([]byte, n)
	}
	b := m.buf[:n]
	for done := 0; done < n; {
		a := addr + uint64(done)
		pa := a &^ (imagePage - 1)
		p, ok := m.pages[pa]
		if !ok {
			return nil, errNoPage
		}
		done += copy(b[done:], p[a-pa:])
	}
	return b, nil
}

// recorder reads a live process from a copy of every page it touches, and keeps the bytes it
// served: an image holds those, and zeros in the rest of its pages.
type recorder struct {
	src    *procMemory
	pages  map[uint64][]byte // whole copies
	served map[uint64][]byte // what was read of them
}

func (r *recorder) Read(addr uint64, n int) ([]byte, error) {
	for p := addr &^ (imagePage - 1); p < addr+uint64(n); p += imagePage {
		if _, ok := r.pages[p]; ok {
			continue
		}
		b, err := r.src.Read(p, imagePage)
		if err != nil {
			return nil, err
		}
		r.pages[p] = append([]byte(nil), b...)
		r.served[p] = make([]byte, imagePage)
	}
	b, err := (&pageMemory{pages: r.pages}).Read(addr, n)
	if err != nil {
		return nil, err
	}
	for done := 0; done < n; {
		a := addr + uint64(done)
		pa := a &^ (imagePage - 1)
		done += copy(r.served[pa][a-pa:], b[done:])
	}
	return b, nil
}

// offsetsOf parses the debug offsets at an image's runtime address.
func offsetsOf(mem values.Memory, runtime uint64) (*cpython.DebugOffsets, error) {
	hdr, err := mem.Read(runtime, cpython.HeaderSize)
	if err != nil {
		return nil, err
	}
	v, _, err := cpython.ParseHeader(hdr)
	if err != nil {
		return nil, err
	}
	size, err := cpython.DebugOffsetsSize(v)
	if err != nil {
		return nil, err
	}
	b, err := mem.Read(runtime, size)
	if err != nil {
		return nil, err
	}
	return cpython.ParseDebugOffsets(append([]byte(nil), b...))
}

// fuzzLimits keep one input quick: the images' values are small, the mutations make them big.
func fuzzLimits() values.Limits {
	return values.Limits{MaxItems: 20, MaxStrLen: 200, MaxReprLen: 4096, MaxDepth: 6, MaxChildren: 20, Budget: 20 * time.Millisecond}
}

// exercise makes every kind of request of a reader over mem: it is what the images record and
// what the fuzzer replays. It returns the number of requests that failed.
func exercise(mem values.Memory, img *image, lim values.Limits) (failed int, err error) {
	off, err := offsetsOf(mem, img.Runtime)
	if err != nil {
		return 0, err
	}
	r, err := values.New(mem, values.Config{Offsets: off, RuntimeAddr: img.Runtime, Limits: lim,
		Clock: func() (float64, error) { return 1000, nil }})
	if err != nil {
		return 0, err
	}
	fail := func(err error) {
		if err != nil {
			failed++
		}
	}
	for _, a := range img.Roots {
		v, err := r.Value(a)
		fail(err)
		if v.Ref != 0 {
			kids, err := r.Children(v.Ref, 0, 5)
			fail(err)
			for _, k := range kids {
				fail(k.Err)
			}
			_, err = r.Children(v.Ref, 7, 3)
			fail(err)
			_, _, err = r.TimeLeft(v.Ref)
			fail(err)
		}
	}
	for _, f := range img.Frames {
		vars, err := r.Frame(f)
		fail(err)
		for _, v := range vars {
			fail(v.Err)
			_, err := r.Lookup(f, v.Name)
			fail(err)
		}
		_, err = r.Lookup(f, "len")
		fail(err)
	}
	// A snapshot's reads: one moment, the frames with their deadlines.
	m := r.Moment()
	for _, f := range img.Frames {
		vars, _, err := m.FrameWithDeadline(f, nil)
		fail(err)
		for _, v := range vars {
			fail(v.Err)
		}
	}
	return failed, nil
}

// TestValueImages checks that the images still replay without a failure (if the reader starts
// reading memory the images lack, the fuzzer would only meet errors), or captures them again
// with -update-images.
func TestValueImages(t *testing.T) {
	if *updateImages {
		captureImages(t)
	}
	imgs := loadImages(t)
	// The fuzzer's time budget keeps each input short; here nothing may fail, however busy the
	// machine is.
	lim := fuzzLimits()
	lim.Budget = 10 * time.Second
	for _, img := range imgs {
		failed, err := exercise(&pageMemory{pages: img.pages}, img, lim)
		if err != nil || failed > 0 {
			t.Errorf("%s: %d requests failed, %v (capture again with go test -run TestValueImages -update-images)", img.Name, failed, err)
		}
	}
}

var images = sync.OnceValues(loadImageFiles)

func loadImageFiles() ([]*image, error) {
	names, err := filepath.Glob(filepath.Join("testdata", "image-*.gz"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("no testdata/image-*.gz (capture with go test -run TestValueImages -update-images): %v", err)
	}
	slices.Sort(names)
	var out []*image
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		img, err := readImage(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, img)
	}
	return out, nil
}

func loadImages(t testing.TB) []*image {
	t.Helper()
	imgs, err := images()
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

// captureImages records, for each version, the pages the reader touches on the asyncio
// scenario and on part of the values corpus and of the frames scenario.
func captureImages(t *testing.T) {
	for _, v := range versions {
		var ad asyncioDoc
		tgt := startTarget(t, v, "values_asyncio.py", values.Limits{}, &ad)
		var roots []uint64
		for _, e := range ad.Values {
			roots = append(roots, e.ID)
		}
		saveImage(t, tgt, "asyncio-"+v, roots, nil)

		var c corpus
		tgt = startTarget(t, v, "values_corpus.py", values.Limits{}, &c)
		roots = nil
		seen := map[string]int{}
		for _, e := range c.Values {
			// A few of each group; the big ints and strings would only make the image big.
			if seen[e.Group] < 12 && len(e.Repr) < 400 {
				roots = append(roots, e.ID)
				seen[e.Group]++
			}
		}
		var fd struct{ Frames []frameCase }
		ftg := startTarget(t, v, "values_frames.py", values.Limits{}, &fd)
		saveImage(t, tgt, "corpus-"+v, roots, nil)
		var frames []uint64
		for _, f := range fd.Frames {
			if f.What != "big" && f.What != "finished" {
				frames = append(frames, ftg.frameAddr(f))
			}
		}
		saveImage(t, ftg, "frames-"+v, nil, frames)
	}
	images = sync.OnceValues(loadImageFiles)
}

func saveImage(t *testing.T, tgt *target, name string, roots, frames []uint64) {
	t.Helper()
	rec := &recorder{src: tgt.mem.(*procMemory), pages: map[uint64][]byte{}, served: map[uint64][]byte{}}
	img := &image{Name: name, Runtime: tgt.proc.RuntimeAddr(), Roots: roots, Frames: frames, pages: rec.pages}
	if _, err := exercise(rec, img, fuzzLimits()); err != nil {
		t.Fatal(err)
	}
	img.pages = rec.served
	var buf bytes.Buffer
	if err := img.write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "image-"+name+".gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d pages, %d bytes", path, len(rec.pages), buf.Len())
}

// mutate applies a mutation program to a copy of an image's pages. The program is read as a
// sequence of operations, so that the fuzzer's byte mutations become structural ones: a byte or
// word overwritten, a pointer redirected at another object (closing loops), a size made huge,
// a page dropped, the debug offsets table altered.
func mutate(img *image, prog []byte) map[uint64][]byte {
	pages := maps.Clone(img.pages)
	own := map[uint64]bool{}
	writable := func(a uint64) []byte {
		pa := a &^ (imagePage - 1)
		p, ok := pages[pa]
		if !ok {
			return nil
		}
		if !own[pa] {
			p = append([]byte(nil), p...)
			pages[pa], own[pa] = p, true
		}
		return p[a-pa:]
	}
	word := func(i int) uint64 {
		var b [8]byte
		copy(b[:], prog[min(i, len(prog)):])
		return binary.LittleEndian.Uint64(b[:])
	}
	for i := 0; i+3 <= len(prog) && len(img.ptrs) > 0; i += 3 {
		op, x := prog[i]%7, int(binary.LittleEndian.Uint16(prog[i+1:]))
		slot := img.ptrs[x*7919%len(img.ptrs)]
		switch op {
		case 0: // a byte of an object near a pointer flipped
			if p := writable(slot + uint64(x%64)); p != nil {
				p[0] ^= byte(x>>8) | 1
			}
		case 1: // a pointer redirected at what another pointer points to
			other := img.ptrs[(x*31+int(prog[i]))%len(img.ptrs)]
			if src, dst := writable(other), writable(slot); src != nil && dst != nil {
				copy(dst[:8], src[:8])
			}
		case 2: // a size or count made huge
			if p := writable(slot + 8); len(p) >= 8 {
				binary.LittleEndian.PutUint64(p, []uint64{1 << 62, 1<<31 - 1, 1 << 40, ^uint64(0), 65535}[x%5])
			}
		case 3: // a pointer aimed off its object
			if p := writable(slot); len(p) >= 8 {
				binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)+uint64(x%4096))
			}
		case 4: // a page gone
			delete(pages, img.addrs[x%len(img.addrs)])
		case 5: // a word from the program
			if p := writable(slot); len(p) >= 8 {
				binary.LittleEndian.PutUint64(p, word(i+3))
				i += 8
			}
		case 6: // a byte of the debug offsets table (888 bytes in 3.15) changed
			if p := writable(img.Runtime + 24 + uint64(x%864)); p != nil {
				p[0] = byte(x >> 10)
			}
		}
	}
	return pages
}

// The reader's allocations per input: a few page-sized reads per request, and bounded copies.
const maxFuzzAlloc = 256 << 20

func FuzzReader(f *testing.F) {
	for _, s := range readerSeeds() {
		f.Add(s.Vals[0].(uint8), s.Vals[1].([]byte))
	}
	f.Fuzz(func(t *testing.T, which uint8, prog []byte) {
		imgs := loadImages(t)
		img := imgs[int(which)%len(imgs)]
		pages := mutate(img, prog)
		fuzzcheck.Bounded(t, "reading a corrupted image", maxFuzzAlloc, func() {
			_, _ = exercise(&pageMemory{pages: pages}, img, fuzzLimits())
		})
	})
}

// readerSeeds are hand-made hostile programs for FuzzReader.
func readerSeeds() []fuzzcheck.Seed {
	huge, loops, offs, drops, table := []byte{}, []byte{}, []byte{}, []byte{}, []byte{}
	for i := 0; i < 64; i++ {
		huge = append(huge, 2, byte(i*13), byte(i))
		loops = append(loops, 1, byte(i*29), byte(i*3))
		offs = append(offs, 3, byte(i*7), byte(i))
		drops = append(drops, 4, byte(i*5), 0)
	}
	for i := 0; i < 8; i++ {
		table = append(table, 6, byte(i*101), byte(i*37))
	}
	var seeds []fuzzcheck.Seed
	for i := 0; i < 6; i++ {
		seeds = append(seeds,
			fuzzcheck.Seed{Name: fmt.Sprintf("intact-%d", i), Vals: []any{uint8(i), []byte{}}},
			fuzzcheck.Seed{Name: fmt.Sprintf("huge-sizes-%d", i), Vals: []any{uint8(i), huge}},
			fuzzcheck.Seed{Name: fmt.Sprintf("pointer-loops-%d", i), Vals: []any{uint8(i), loops}},
			fuzzcheck.Seed{Name: fmt.Sprintf("off-object-%d", i), Vals: []any{uint8(i), offs}},
			fuzzcheck.Seed{Name: fmt.Sprintf("dropped-pages-%d", i), Vals: []any{uint8(i), drops}},
			fuzzcheck.Seed{Name: fmt.Sprintf("offsets-table-%d", i), Vals: []any{uint8(i), table}})
	}
	return seeds
}

// TestFuzzCorpora keeps the committed seed corpus of FuzzReader up to date.
func TestFuzzCorpora(t *testing.T) {
	fuzzcheck.CheckCorpora(t, map[string]func(*testing.F){"FuzzReader": FuzzReader},
		map[string][]fuzzcheck.Seed{"FuzzReader": readerSeeds()})
}

// TestMutatedImagesFail checks that the mutations reach the reader: the reader must notice a
// good share of them as errors rather than render them silently.
func TestMutatedImagesFail(t *testing.T) {
	imgs := loadImages(t)
	total := 0
	for _, s := range readerSeeds() {
		img := imgs[int(s.Vals[0].(uint8))%len(imgs)]
		prog := s.Vals[1].([]byte)
		failed, err := exercise(&pageMemory{pages: mutate(img, prog)}, img, fuzzLimits())
		if err == nil {
			total += failed
		}
	}
	if total == 0 {
		t.Fatal("no mutated image made a request fail")
	}
}
