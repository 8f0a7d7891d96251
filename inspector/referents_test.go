package inspector

import (
	"fmt"
	"testing"

	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// TestPrefetchBatchesReads reads a target whose tasks, names, coroutines and futures lie on
// thousands of pages: the prefetch must copy them in a few vectored reads, level by level, so
// that the walk of the tasks themselves finds nearly everything cached. Without it, the walk
// makes a read for every block of pages it reaches (about one per ten tasks here).
func TestPrefetchBatchesReads(t *testing.T) {
	const n = 5000
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "many.py", fmt.Sprint(n))
			p, err := Attach(tg.PID, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, mem := walkCounted(t, p)
			if len(s.Tasks) != n+1 {
				t.Fatalf("snapshot has %d tasks, want %d", len(s.Tasks), n+1)
			}
			for _, task := range s.Tasks[1:] {
				if len(task.Frames) != 2 || task.Frames[0].Function != "sleep" || len(task.AwaitedBy) != 1 {
					t.Fatalf("task %s: frames %v, awaited by %d", task.Name, task.Frames, len(task.AwaitedBy))
				}
			}
			// The task lists take a read per block of task objects (about 40 tasks each); the
			// rest — thousands of pages of names, coroutines and futures — must take a few dozen.
			listReads := n / 40
			if limit := listReads + 100; mem.calls > limit {
				t.Errorf("snapshot of %d tasks made %d reads, want at most %d", n, mem.calls, limit)
			}
			t.Logf("%d tasks: %d reads", n, mem.calls)
		})
	}
}

// walkCounted takes one snapshot through a fresh page cache over counted reads. The target is
// live — right after READY its main thread is still returning from the callback that printed
// it — so, as Snapshot does, an attempt that met a change is taken again; the reads counted
// are those of the attempt that succeeded.
func walkCounted(t *testing.T, p *Process) (*snapshot.Snapshot, *countingMemory) {
	t.Helper()
	const attempts = 5
	var last error
	for range attempts {
		mem := &countingMemory{mem: p.mem}
		cache := snapmem.New(mem)
		s, err := p.walkCache(cache)
		cache.Release()
		if err == nil {
			return s, mem
		}
		if !retryable(err) {
			t.Fatal(err)
		}
		t.Logf("attempt met a change, taken again: %v", err)
		last = err
	}
	t.Fatalf("no consistent snapshot in %d attempts; last: %v", attempts, last)
	return nil, nil
}

// countingMemory counts the reads that reach mem. It offers the page cache the same vectored
// reads a live process does, served by mem's or page by page.
type countingMemory struct {
	mem   Memory
	calls int
	bytes int64 // asked for
}

func (c *countingMemory) ReadAt(p []byte, addr uint64) error {
	c.calls++
	c.bytes += int64(len(p))
	return c.mem.ReadAt(p, addr)
}

func (c *countingMemory) ReadPrefix(p []byte, addr uint64) (int, error) {
	c.calls++
	c.bytes += int64(len(p))
	return snapmem.ReadPrefix(c.mem, p, addr)
}

func (c *countingMemory) ReadPages(dsts [][]byte, addrs []uint64) (int, error) {
	c.calls++
	c.bytes += int64(len(addrs)) * pageSize
	return snapmem.ReadPages(c.mem, dsts, addrs)
}
