package adapter

import (
	"os"
	"strconv"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
)

// graphBenchSnapshot is a snapshot like that of testdata/scenarios/many.py with n sleepers, the
// sleepers sharing one frames slice as the inspector makes them.
func graphBenchSnapshot(n int) *snapshot.Snapshot {
	mainChain := []snapshot.Frame{fr("main", appMain, 13, 10)}
	sleeper := []snapshot.Frame{fr("sleep", stdlibTasks, 725, 15), fr("sleeper", appMain, 7, 10)}
	tasks := make([]snapshot.Task, 0, n+1)
	tasks = append(tasks, task(0x7f0000000000, "Task-1", mainChain))
	for i := range n {
		tasks = append(tasks, task(0x7f0000001000+uint64(i)*0x200, "Task-"+strconv.Itoa(i+2), sleeper,
			awaiter(0x7f0000000000, true, mainChain...)))
	}
	return fakeSnapshot(tasks...)
}

// BenchmarkAwaitGraph10k measures the encoding of the awaitGraph body alone, without the view.
func BenchmarkAwaitGraph10k(b *testing.B) {
	v := newView(graphBenchSnapshot(10_000), &idAllocator{})
	src := newSourceResolver(os.Getpid())
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAwaitGraph(buf[:0], v, src)
	}
	b.SetBytes(int64(len(buf)))
}
