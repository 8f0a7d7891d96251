package awaittree

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// serviceTasks: a root awaiting three identical workers, two identical supervisors that each
// await one identical child, and a task waiting somewhere else.
func serviceTasks() []snapshot.Task {
	mainF := fr("main", "/srv/app.py", 10)
	sleep := fr("sleep", "/usr/lib/python3.14/asyncio/tasks.py", 716)
	work := fr("worker", "/srv/app.py", 20)
	sup := fr("supervise", "/srv/app.py", 30)
	child := fr("child", "/srv/app.py", 40)
	root := snapshot.Awaiter{ID: 0x1, IsTask: true, Frames: []snapshot.Frame{mainF}}
	by := func(id uint64, f snapshot.Frame) []snapshot.Awaiter {
		return []snapshot.Awaiter{{ID: id, IsTask: true, Frames: []snapshot.Frame{f}}}
	}
	return []snapshot.Task{
		{ID: 0x1, Name: "Task-1", TID: 7, Frames: []snapshot.Frame{mainF}},
		{ID: 0x2, Name: "Task-2", TID: 7, Frames: []snapshot.Frame{sleep, work}, AwaitedBy: []snapshot.Awaiter{root}},
		{ID: 0x3, Name: "Task-3", TID: 7, Frames: []snapshot.Frame{sleep, work}, AwaitedBy: []snapshot.Awaiter{root}},
		{ID: 0x4, Name: "sup", TID: 7, Frames: []snapshot.Frame{sup}, AwaitedBy: []snapshot.Awaiter{root}},
		{ID: 0x5, Name: "Task-4", TID: 7, Frames: []snapshot.Frame{sleep, work}, AwaitedBy: []snapshot.Awaiter{root}},
		{ID: 0x6, Name: "sup", TID: 7, Frames: []snapshot.Frame{sup}, AwaitedBy: []snapshot.Awaiter{root}},
		{ID: 0x7, Name: "kid-a", TID: 7, Frames: []snapshot.Frame{sleep, child}, AwaitedBy: by(0x4, sup)},
		{ID: 0x8, Name: "kid-b", TID: 7, Frames: []snapshot.Frame{sleep, child}, AwaitedBy: by(0x6, sup)},
		{ID: 0x9, Name: "odd", TID: 7, Frames: []snapshot.Frame{fr("odd", "/srv/other.py", 5)}, AwaitedBy: []snapshot.Awaiter{root}},
	}
}

func render(t *testing.T, tasks []snapshot.Task, shape func([]*Node) []*Node) string {
	t.Helper()
	roots, err := Build(tasks)
	if err != nil {
		t.Fatal(err)
	}
	before := Render(roots)
	out := Render(shape(roots))
	if again := Render(roots); again != before {
		t.Errorf("shaping changed the tree it was given:\n%s\nwas\n%s", again, before)
	}
	return out
}

func TestGroupMergesIdenticalSiblings(t *testing.T) {
	got := render(t, serviceTasks(), Group)
	want := `└── (T) Task-1
    └──  main /srv/app.py:10
        ├── (T) Task-2 … Task-4 [3 tasks]
        │   └──  worker /srv/app.py:20
        │       └──  sleep /usr/lib/python3.14/asyncio/tasks.py:716
        ├── (T) sup [2 tasks]
        │   └──  supervise /srv/app.py:30
        │       └── (T) kid-a
        │           └──  child /srv/app.py:40
        │               └──  sleep /usr/lib/python3.14/asyncio/tasks.py:716
        └── (T) odd
            └──  odd /srv/other.py:5
`
	if got != want {
		t.Errorf("grouped:\n%s\nwant:\n%s", got, want)
	}
	// Without grouping the tree is pstree's, whatever the new fields.
	roots, _ := Build(serviceTasks())
	if plain := Render(roots); strings.Contains(plain, "[") || strings.Count(plain, "(T) sup") != 2 {
		t.Errorf("plain tree:\n%s", plain)
	}
	// The merged node knows its tasks.
	grouped := Group(roots)
	var sup *Node
	for _, n := range grouped[0].Children[0].Children {
		if n.Label == "sup" {
			sup = n
		}
	}
	if sup == nil || !slices.Equal(sup.Members, []Member{{0x4, "sup"}, {0x6, "sup"}}) {
		t.Errorf("sup's members: %+v", sup)
	}
}

// Siblings whose subtrees differ below them are not merged.
func TestGroupKeepsDifferentSubtrees(t *testing.T) {
	tasks := serviceTasks()
	tasks[7].Frames = []snapshot.Frame{fr("other_child", "/srv/app.py", 41)}
	got := render(t, tasks, Group)
	if strings.Contains(got, "(T) sup [2 tasks]") || strings.Count(got, "(T) sup\n") != 2 {
		t.Errorf("supervisors with different children were merged:\n%s", got)
	}
}

func TestPrune(t *testing.T) {
	tasks := serviceTasks()
	match := MatchTasks(tasks, "KID-B")
	ids := map[uint64]bool{}
	for i, m := range match {
		if m {
			ids[tasks[i].ID] = true
		}
	}
	got := render(t, tasks, func(r []*Node) []*Node { return Prune(r, func(id uint64) bool { return ids[id] }) })
	want := `└── (T) Task-1
    └──  main /srv/app.py:10
        └── (T) sup
            └──  supervise /srv/app.py:30
                └── (T) kid-b
                    └──  child /srv/app.py:40
                        └──  sleep /usr/lib/python3.14/asyncio/tasks.py:716
`
	if got != want {
		t.Errorf("pruned to kid-b:\n%s\nwant:\n%s", got, want)
	}
	// A task kept for itself keeps its own frames, not the tasks below it.
	got = render(t, tasks, func(r []*Node) []*Node { return Prune(r, func(id uint64) bool { return id == 0x4 }) })
	want = `└── (T) Task-1
    └──  main /srv/app.py:10
        └── (T) sup
            └──  supervise /srv/app.py:30
`
	if got != want {
		t.Errorf("pruned to the first sup:\n%s\nwant:\n%s", got, want)
	}
	if got := render(t, tasks, func(r []*Node) []*Node { return Prune(r, func(uint64) bool { return false }) }); got != "" {
		t.Errorf("nothing kept: %q", got)
	}
}

func TestCut(t *testing.T) {
	got := render(t, serviceTasks(), func(r []*Node) []*Node { return Group(Cut(r, 2)) })
	want := `└── (T) Task-1
    └──  main /srv/app.py:10
        ├── (T) Task-2 … Task-4 [3 tasks]
        │   └──  worker /srv/app.py:20
        │       └──  sleep /usr/lib/python3.14/asyncio/tasks.py:716
        ├── (T) sup [2 tasks] [+1 task below]
        │   └──  supervise /srv/app.py:30
        └── (T) odd
            └──  odd /srv/other.py:5
`
	if got != want {
		t.Errorf("cut at 2 and grouped:\n%s\nwant:\n%s", got, want)
	}
	got = render(t, serviceTasks(), func(r []*Node) []*Node { return Cut(r, 1) })
	if want := "└── (T) Task-1 [+6 tasks below]\n    └──  main /srv/app.py:10\n"; got != want {
		t.Errorf("cut at 1:\n%s\nwant:\n%s", got, want)
	}
}

func TestMatchTasks(t *testing.T) {
	tasks := serviceTasks()
	for _, tc := range []struct {
		pattern string
		want    []uint64
	}{
		{"task-", []uint64{0x1, 0x2, 0x3, 0x5}},
		{"Worker", []uint64{0x2, 0x3, 0x5}},                        // a function name
		{"other.py", []uint64{0x9}},                                // a file name
		{"/usr/lib/python3.14", []uint64{0x2, 0x3, 0x5, 0x7, 0x8}}, // a directory
		{"nothing", nil},
	} {
		var got []uint64
		for i, m := range MatchTasks(tasks, tc.pattern) {
			if m {
				got = append(got, tasks[i].ID)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("MatchTasks(%q) = %x, want %x", tc.pattern, got, tc.want)
		}
	}
}

func TestDepths(t *testing.T) {
	tasks := serviceTasks()
	// A cycle that only hangs below itself.
	tasks = append(tasks,
		snapshot.Task{ID: 0xa, Name: "A", AwaitedBy: []snapshot.Awaiter{{ID: 0xb, IsTask: true}}},
		snapshot.Task{ID: 0xb, Name: "B", AwaitedBy: []snapshot.Awaiter{{ID: 0xa, IsTask: true}}},
		snapshot.Task{ID: 0xc, Name: "C", AwaitedBy: []snapshot.Awaiter{{ID: 0xf00}}}, // a future: a root
	)
	got := Depths(tasks)
	want := []int{1, 2, 2, 2, 2, 2, 3, 3, 2, 1, 2, 1}
	if !slices.Equal(got, want) {
		t.Errorf("Depths = %v, want %v", got, want)
	}
}

func TestGroupTable(t *testing.T) {
	s := &snapshot.Snapshot{Tasks: serviceTasks()}
	gs := groups.Of(s)
	var b strings.Builder
	if err := WriteGroupTable(&b, GroupTable(s, gs, nil)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	var cells []string
	for _, l := range lines[2:] {
		cells = append(cells, strings.Join(strings.Fields(l), " "))
	}
	want := []string{
		"3 7 Task-2 … Task-4 sleep -> worker main Task-1",
		"2 7 sup supervise main Task-1",
		"2 7 kid-a … kid-b sleep -> child supervise sup … sup (2)",
		"1 7 Task-1 main",
		"1 7 odd odd main Task-1",
	}
	if !slices.Equal(cells, want) || !strings.HasPrefix(lines[0], "tasks  tid        task names") {
		t.Errorf("ps --group:\n%s\nwant rows %q", b.String(), want)
	}
	// Only the tasks kept are counted, and groups without one are left out.
	keep := MatchTasks(s.Tasks, "kid-a")
	rows := GroupTable(s, gs, keep)
	if len(rows) != 1 || rows[0].Tasks != "1" || rows[0].TaskNames != "kid-a" {
		t.Errorf("ps --group --filter kid-a: %+v", rows)
	}
	// ps --filter: the rows of the tasks kept, awaiters named all the same.
	table := TableOf(s.Tasks, keep)
	if len(table) != 1 || table[0].TaskName != "kid-a" || table[0].AwaiterName != "sup" {
		t.Errorf("ps --filter kid-a: %+v", table)
	}
	if fmt.Sprint(TableOf(s.Tasks, nil)) != fmt.Sprint(Table(s.Tasks)) {
		t.Error("TableOf without a selection differs from Table")
	}
}
