package awaittree

import (
	"bufio"
	"fmt"
	"io"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// manyTasks is the snapshot of testdata/scenarios/many.py with n sleepers: one main task that
// gathers n tasks, each sleeping. As in a real snapshot, tasks that wait at the same place share
// one frames slice (the inspector interns chains), unless distinct is set: then every task waits
// at a line of its own, the worst case for merging frames.
func manyTasks(n int, distinct bool) []snapshot.Task {
	const file = "/srv/app/testdata/scenarios/many.py"
	mainChain := []snapshot.Frame{fr("main", file, 13)}
	sleeper := []snapshot.Frame{fr("sleep", "/usr/lib/python3.15/asyncio/tasks.py", 725), fr("sleeper", file, 7)}
	tasks := make([]snapshot.Task, 0, n+1)
	tasks = append(tasks, snapshot.Task{ID: 0x7f0000000000, Name: "Task-1", TID: 1, Frames: mainChain})
	for i := range n {
		own := sleeper
		if distinct {
			own = []snapshot.Frame{sleeper[0], fr("sleeper", file, 1000+i)}
		}
		tasks = append(tasks, snapshot.Task{
			ID: 0x7f0000001000 + uint64(i)*0x200, Name: fmt.Sprintf("Task-%d", i+2), TID: 1, Frames: own,
			AwaitedBy: []snapshot.Awaiter{{ID: 0x7f0000000000, IsTask: true, Frames: mainChain}},
		})
	}
	return tasks
}

// BenchmarkPSTree measures what `aioscope pstree` does after the snapshot: building the tree
// and writing its text.
func BenchmarkPSTree(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, distinct := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dtasks/distinct=%v", n, distinct), func(b *testing.B) {
				tasks := manyTasks(n, distinct)
				b.ReportAllocs()
				for b.Loop() {
					roots, err := Build(tasks)
					if err != nil {
						b.Fatal(err)
					}
					w := bufio.NewWriterSize(io.Discard, 64<<10)
					if err := WriteTree(w, roots); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPS measures what `aioscope ps` does after the snapshot.
func BenchmarkPS(b *testing.B) {
	tasks := manyTasks(10_000, false)
	b.ReportAllocs()
	for b.Loop() {
		w := bufio.NewWriterSize(io.Discard, 64<<10)
		if err := WriteTable(w, Table(tasks)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGroup measures what --group adds to pstree and ps for 100,000 tasks: merging the
// identical sibling subtrees of a built tree (pstree), and the rows of the groups (ps; groups.Of
// has its own benchmark).
func BenchmarkGroup(b *testing.B) {
	const n = 100_000
	for _, distinct := range []bool{false, true} {
		b.Run(fmt.Sprintf("pstree/%dtasks/distinct=%v", n, distinct), func(b *testing.B) {
			roots, err := Build(manyTasks(n, distinct))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				Group(roots)
			}
		})
	}
	b.Run(fmt.Sprintf("ps/%dtasks", n), func(b *testing.B) {
		s := &snapshot.Snapshot{Tasks: manyTasks(n, false)}
		gs := groups.Of(s)
		b.ReportAllocs()
		for b.Loop() {
			GroupTable(s, gs, nil)
		}
	})
}
