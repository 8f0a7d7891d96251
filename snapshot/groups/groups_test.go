package groups

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
)

func frames(names ...string) []snapshot.Frame {
	out := make([]snapshot.Frame, len(names))
	for i, n := range names {
		out[i] = snapshot.Frame{Function: n, File: "app.py", Line: 10 + i, HasLine: true}
	}
	return out
}

func task(id uint64, fr []snapshot.Frame, awaiters ...uint64) snapshot.Task {
	t := snapshot.Task{ID: id, Name: fmt.Sprintf("Task-%d", id), Frames: fr}
	for _, a := range awaiters {
		t.AwaitedBy = append(t.AwaitedBy, snapshot.Awaiter{ID: a, IsTask: true})
	}
	return t
}

func groupTasks(gs []Group, s *snapshot.Snapshot) [][]uint64 {
	var out [][]uint64
	for _, g := range gs {
		var ids []uint64
		for _, i := range g.Tasks {
			ids = append(ids, s.Tasks[i].ID)
		}
		out = append(out, ids)
	}
	return out
}

func TestGroups(t *testing.T) {
	get := frames("get", "worker")
	put := frames("put", "producer")
	main := frames("gather", "main")
	s := &snapshot.Snapshot{Tasks: []snapshot.Task{
		task(1, main),
		// Two pools, each awaited by its own supervisor waiting at the same place: workers of
		// both pools wait at the same place for the same reason.
		task(2, frames("wait", "supervisor"), 1),
		task(3, frames("wait", "supervisor"), 1),
		task(10, get, 2), task(11, get, 2), task(12, get, 3),
		// Same frames, different awaiter chain: another group.
		task(20, get, 1),
		// Different frames.
		task(30, put, 2),
		// Awaited by a future that is not a task: its frames count.
		{ID: 40, Frames: get, AwaitedBy: []snapshot.Awaiter{{ID: 99, Frames: frames("f")}}},
		{ID: 41, Frames: get, AwaitedBy: []snapshot.Awaiter{{ID: 98, Frames: frames("f")}}},
		{ID: 42, Frames: get, AwaitedBy: []snapshot.Awaiter{{ID: 97, Frames: frames("g")}}},
	}}
	gs := Of(s)
	want := [][]uint64{{10, 11, 12}, {2, 3}, {40, 41}, {1}, {20}, {30}, {42}}
	if got := groupTasks(gs, s); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	// The workers' group is awaited by the supervisors' group, which the main group awaits.
	if !slices.Equal(gs[0].Awaiters, []int{1}) || !slices.Equal(gs[1].Awaiters, []int{3}) || len(gs[3].Awaiters) != 0 {
		t.Errorf("awaiters: workers %v, supervisors %v, main %v", gs[0].Awaiters, gs[1].Awaiters, gs[3].Awaiters)
	}
	if !slices.Equal(gs[0].Frames, get) {
		t.Errorf("frames of the first group: %v", gs[0].Frames)
	}
}

// TestGroupsCycle: tasks on an await cycle get groups, and grouping ends.
func TestGroupsCycle(t *testing.T) {
	f := frames("wait")
	s := &snapshot.Snapshot{Tasks: []snapshot.Task{task(1, f, 2), task(2, f, 1), task(3, f, 3), task(4, frames("x"), 1)}}
	gs := Of(s)
	n := 0
	for _, g := range gs {
		n += len(g.Tasks)
	}
	if n != 4 {
		t.Fatalf("groups %v hold %d tasks, want 4", groupTasks(gs, s), n)
	}
}

func BenchmarkGroups(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := &snapshot.Snapshot{Tasks: []snapshot.Task{task(1, frames("main"))}}
			shapes := [][]snapshot.Frame{frames("sleep", "worker"), frames("get", "consumer"), frames("acquire", "handler")}
			for i := 0; i < 100; i++ {
				s.Tasks = append(s.Tasks, task(uint64(2+i), frames("wait", "supervisor"), 1))
			}
			for i := 0; len(s.Tasks) < n; i++ {
				s.Tasks = append(s.Tasks, task(uint64(1000+i), shapes[i%3], uint64(2+i%100)))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if gs := Of(s); len(gs) != 5 {
					b.Fatalf("%d groups", len(gs))
				}
			}
		})
	}
}
