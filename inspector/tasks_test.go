package inspector

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aioscope/aioscope/snapshot"
)

func TestDropEarlierCopies(t *testing.T) {
	for _, tc := range []struct{ in, want []uint64 }{
		{nil, nil},
		{[]uint64{1, 2, 3}, []uint64{1, 2, 3}},
		// 2 left its list and a new task made at its address was added at the end.
		{[]uint64{1, 2, 3, 2}, []uint64{1, 3, 2}},
		{[]uint64{5, 5, 5}, []uint64{5}},
	} {
		got := dropEarlierCopies(append([]uint64(nil), tc.in...))
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("dropEarlierCopies(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestDropAwaiters(t *testing.T) {
	frame := []snapshot.Frame{{Function: "f"}}
	tasks := []snapshot.Task{
		{ID: 1, AwaitedBy: []snapshot.Awaiter{
			{ID: 2, IsTask: true, Frames: frame}, // listed
			{ID: 3, IsTask: true, Frames: frame}, // finished while read: left
			{ID: 4, IsTask: true, Frames: frame}, // pending, in no list: newer than the lists
			{ID: 5, IsTask: true},                // finished long ago, kept by shield()
			{ID: 6},                              // a plain future
		}},
		{ID: 2, AwaitedBy: []snapshot.Awaiter{{ID: 3, IsTask: true}}},
	}
	left := map[uint64]bool{3: true}
	all := clone(tasks)
	dropAwaiters(all, left, true)
	if got := ids(all[0].AwaitedBy); !reflect.DeepEqual(got, []uint64{2, 5, 6}) {
		t.Errorf("every list read: awaiters %v, want [2 5 6]", got)
	}
	if all[1].AwaitedBy != nil {
		t.Errorf("an awaiter list left empty is nil, got %v", all[1].AwaitedBy)
	}
	some := clone(tasks)
	dropAwaiters(some, left, false)
	if got := ids(some[0].AwaitedBy); !reflect.DeepEqual(got, []uint64{2, 4, 5, 6}) {
		t.Errorf("main thread only: awaiters %v, want [2 4 5 6] (4 may be in a list not read)", got)
	}
}

func TestSameAwaiterFrames(t *testing.T) {
	fresh := []snapshot.Frame{{Function: "fresh"}}
	tasks := []snapshot.Task{
		{ID: 1, Frames: fresh},
		{ID: 2, AwaitedBy: []snapshot.Awaiter{
			{ID: 1, IsTask: false, Frames: []snapshot.Frame{{Function: "stale"}}},
			{ID: 9, Frames: nil},
		}},
	}
	sameAwaiterFrames(tasks)
	a := tasks[1].AwaitedBy
	if !a[0].IsTask || !reflect.DeepEqual(a[0].Frames, fresh) {
		t.Errorf("awaiter that is a listed task: %+v, want it as reported as that task", a[0])
	}
	if a[1].IsTask || a[1].Frames != nil {
		t.Errorf("awaiter not listed changed: %+v", a[1])
	}
}

func clone(tasks []snapshot.Task) []snapshot.Task {
	out := make([]snapshot.Task, len(tasks))
	for i, t := range tasks {
		t.AwaitedBy = append([]snapshot.Awaiter(nil), t.AwaitedBy...)
		out[i] = t
	}
	return out
}

func ids(as []snapshot.Awaiter) []uint64 {
	var out []uint64
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// TestAwaiterFramesMatchTasks checks, on the checked-in images, that every awaiter that is a
// listed task carries the frames its task is reported with: a task's own chain is not always
// kept for its awaited tasks to share (walker.coros), and where it was read twice the two
// readings must agree. Some image must have a task awaited through a set, where the walk cannot
// know the awaiter in advance.
func TestAwaiterFramesMatchTasks(t *testing.T) {
	sets := 0
	for _, img := range loadSeedImages(t) {
		p, s := replaySeedImage(t, img)
		frames := map[uint64][]snapshot.Frame{}
		for _, task := range s.Tasks {
			frames[task.ID] = task.Frames
		}
		for _, task := range s.Tasks {
			if len(task.AwaitedBy) > 1 {
				sets++
			}
			for _, a := range task.AwaitedBy {
				want, ok := frames[a.ID]
				if !ok {
					continue
				}
				if !a.IsTask || !slices.Equal(a.Frames, want) {
					t.Errorf("Python %s: task %#x awaited by task %#x with frames %v; the task has %v",
						p.PythonVersion(), task.ID, a.ID, a.Frames, want)
				}
			}
		}
	}
	if sets == 0 {
		t.Fatal("no image has a task with several awaiters")
	}
}

// TestBatchesGiveTheSameSnapshot checks, on the checked-in images, that reading the tasks in
// batches, with the page copies of each batch dropped before the next, gives the snapshot that
// reading them all at once gives, whatever the batch size.
func TestBatchesGiveTheSameSnapshot(t *testing.T) {
	for _, img := range loadSeedImages(t) {
		p, whole := replaySeedImage(t, img)
		for _, size := range []int{1, 2, 3, 5} {
			p.batchSize = size
			s, _, err := p.walk(nil)
			if err != nil {
				t.Fatalf("Python %s, batches of %d: %v", p.PythonVersion(), size, err)
			}
			a, b := *whole, *s
			a.CapturedAt, b.CapturedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("Python %s, batches of %d: the snapshot differs from one read at once:\n%s",
					p.PythonVersion(), size, snapshotDiff(&a, &b))
			}
		}
	}
}

// TestAwaiterLists checks that lists carved from one block cannot run into each other.
func TestAwaiterLists(t *testing.T) {
	var bl blocks
	a, b := bl.awaiterList(2), bl.awaiterList(1)
	a = append(a, snapshot.Awaiter{ID: 1}, snapshot.Awaiter{ID: 2})
	b = append(b, snapshot.Awaiter{ID: 3})
	a = append(a, snapshot.Awaiter{ID: 4}) // past its room: must move, not overwrite b
	if b[0].ID != 3 || !slices.Equal(ids(a), []uint64{1, 2, 4}) {
		t.Errorf("lists overlap: a=%v b=%v", ids(a), ids(b))
	}
	if big := bl.awaiterList(1000); cap(big) != 1000 {
		t.Errorf("a long list has room for %d, want 1000", cap(big))
	}
}
