package inspector

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// -update-images rewrites the memory images under testdata/ that seed FuzzWalker, from fresh
// targets: go test ./inspector -run TestImageReplay -update-images
var updateImages = flag.Bool("update-images", false, "rewrite testdata/image-*.gz from live targets")

// imageScenarios are the targets whose images seed the fuzzer: nested groups and gathers, an
// await cycle, and the edge cases (async generators, sets of awaiters, a huge line table).
var imageScenarios = []string{"tree.py", "cycle.py", "edge.py"}

func imagePath(version, scenario string) string {
	return filepath.Join("testdata", "image-"+version+"-"+scenario[:len(scenario)-len(".py")]+".gz")
}

// TestImageReplay checks that a snapshot replayed from a saved image, after a round trip through
// the file format, is the snapshot that was taken from the live process.
func TestImageReplay(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		for _, scenario := range imageScenarios {
			t.Run(version+"/"+scenario, func(t *testing.T) {
				tg := testtarget.Start(t, version, scenario)
				p, err := Attach(tg.PID, Options{Retries: DefaultRetries})
				if err != nil {
					t.Fatal(err)
				}
				live, img, err := p.SnapshotImage()
				if err != nil {
					t.Fatal(err)
				}
				// The image must not disturb ordinary snapshots of the same Process. (The target
				// may still be settling after READY, so only success is compared.)
				if _, err := p.Snapshot(); err != nil {
					t.Fatal(err)
				}

				var buf bytes.Buffer
				if err := img.Write(&buf); err != nil {
					t.Fatal(err)
				}
				t.Logf("%d pages, %d bytes compressed", img.Pages(), buf.Len())
				if *updateImages {
					small := trimImage(t, img, live)
					var out bytes.Buffer
					if err := small.Write(&out); err != nil {
						t.Fatal(err)
					}
					t.Logf("trimmed: %d pages, %d bytes compressed", small.Pages(), out.Len())
					if err := os.WriteFile(imagePath(version, scenario), out.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				back, err := ReadImage(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if back.PID != img.PID || back.RuntimeAddr != img.RuntimeAddr ||
					back.AsyncioAddr != img.AsyncioAddr || !reflect.DeepEqual(back.pages, img.pages) {
					t.Fatal("the image changed in a write/read round trip")
				}
				rp, err := openImage(back, back.Memory(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if rp.PythonVersion() != p.PythonVersion() {
					t.Fatalf("replay reads Python %s, live %s", rp.PythonVersion(), p.PythonVersion())
				}
				replayed, err := rp.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				assertSameSnapshot(t, "the replayed snapshot", live, replayed)
			})
		}
	}
}

// assertSameSnapshot compares two snapshots of the same state; only the capture time differs.
func assertSameSnapshot(t *testing.T, what string, want, got *snapshot.Snapshot) {
	t.Helper()
	w, g := *want, *got
	w.CapturedAt, g.CapturedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("%s differs from the live one:\n%s", what, snapshotDiff(&w, &g))
	}
	if len(w.Tasks) == 0 {
		t.Fatal("the snapshot has no tasks")
	}
}

// TestImageFileRejectsGarbage checks the image file format and the image memory on small
// hand-made images, and that ReadImage fails cleanly on what is not an image.
func TestImageFileRejectsGarbage(t *testing.T) {
	var good bytes.Buffer
	img := &Image{PID: 7, RuntimeAddr: 0x1000, AsyncioAddr: 0x2000, pages: map[uint64][]byte{
		0x1000: bytes.Repeat([]byte{1}, pageSize),
		0x2000: bytes.Repeat([]byte{2}, pageSize),
		0x4000: bytes.Repeat([]byte{4}, pageSize),
	}}
	if err := img.Write(&good); err != nil {
		t.Fatal(err)
	}
	back, err := ReadImage(bytes.NewReader(good.Bytes()))
	if err != nil || back.Pages() != 3 || back.PID != 7 || back.RuntimeAddr != 0x1000 || back.AsyncioAddr != 0x2000 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	var b [4]byte
	if err := back.Memory().ReadAt(b[:], 0x1ffe); err != nil || b != [4]byte{1, 1, 2, 2} {
		t.Errorf("read across two saved pages: %v %v", err, b)
	}
	// Past the last page, in a hole, at the top of the address space: not in the image.
	for _, addr := range []uint64{0x4ffe, 0x3000, 0x2ffe, ^uint64(0) - 1} {
		if err := back.Memory().ReadAt(b[:], addr); err == nil {
			t.Errorf("read at 0x%x outside the image returned %v", addr, b)
		}
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not gzip":  []byte("hello"),
		"truncated": good.Bytes()[:good.Len()/2],
	} {
		if _, err := ReadImage(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// snapshotDiff describes the first difference between two snapshots, briefly.
func snapshotDiff(a, b *snapshot.Snapshot) string {
	if len(a.Threads) != len(b.Threads) || len(a.Tasks) != len(b.Tasks) {
		return fmt.Sprintf("%d threads, %d tasks vs %d threads, %d tasks", len(a.Threads), len(a.Tasks), len(b.Threads), len(b.Tasks))
	}
	for i := range a.Threads {
		if !reflect.DeepEqual(a.Threads[i], b.Threads[i]) {
			return fmt.Sprintf("thread %d:\n%+v\n%+v", i, a.Threads[i], b.Threads[i])
		}
	}
	for i := range a.Tasks {
		if !reflect.DeepEqual(a.Tasks[i], b.Tasks[i]) {
			return fmt.Sprintf("task %d:\n%+v\n%+v", i, a.Tasks[i], b.Tasks[i])
		}
	}
	return fmt.Sprintf("cycles %v vs %v, or header %d %s vs %d %s", a.Cycles, b.Cycles, a.PID, a.PythonVersion, b.PID, b.PythonVersion)
}

// replayEqual reports whether a walk over pages gives want.
func replayEqual(img *Image, pages map[uint64][]byte, want *snapshot.Snapshot) bool {
	p, err := openImage(img, imageMemory(pages), Options{MainThreadOnly: img.MainThreadOnly})
	if err != nil {
		return false
	}
	got, _, err := p.walk(nil)
	if err != nil {
		return false
	}
	got.CapturedAt = want.CapturedAt
	return reflect.DeepEqual(got, want)
}

// trimImage makes the smallest image it easily can that still replays to want: pages the walk
// does not need are dropped, and stretches of the others that make no difference are zeroed.
// The result is a good fuzzing seed: small to keep in the repository, and nearly every byte of it
// matters, so mutations land on fields the walker reads.
func trimImage(t *testing.T, img *Image, want *snapshot.Snapshot) *Image {
	t.Helper()
	pages := maps.Clone(img.pages)
	if !replayEqual(img, pages, want) {
		t.Fatal("the image does not replay to its snapshot")
	}
	for _, addr := range slices.Sorted(maps.Keys(img.pages)) {
		data := pages[addr]
		delete(pages, addr)
		if !replayEqual(img, pages, want) {
			pages[addr] = data
		}
	}
	// Zero what makes no difference, by bisection down to 16 bytes.
	const grain = 16
	for _, addr := range slices.Sorted(maps.Keys(pages)) {
		page := slices.Clone(pages[addr])
		pages[addr] = page
		var zero func(lo, hi int)
		zero = func(lo, hi int) {
			saved := slices.Clone(page[lo:hi])
			if !slices.ContainsFunc(saved, func(b byte) bool { return b != 0 }) {
				return
			}
			clear(page[lo:hi])
			if replayEqual(img, pages, want) {
				return
			}
			copy(page[lo:hi], saved)
			if hi-lo > grain {
				mid := (lo + hi) / 2
				zero(lo, mid)
				zero(mid, hi)
			}
		}
		zero(0, pageSize)
	}
	out := *img
	out.pages = pages
	return &out
}
