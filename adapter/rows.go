package adapter

import (
	"path"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/internal/waittext"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// The thread list as a client shows it: the name of each row, the task a stop shows first, and
// which tasks a capped list keeps.

// Marks at the start of a task's row.
const (
	cycleMark   = "⚠ " // the task is on an await cycle: it can never finish
	runningMark = "▶ " // an event loop is running the task right now
	stuckMark   = "⏳ " // the task is stuck: it awaits no other task and has not moved for long
)

// threadName is the name a DAP thread is listed under.
func (v *view) threadName(e entry) string {
	if e.kind == osThreadEntry {
		return osThreadName(&v.snap.Threads[e.index])
	}
	return v.taskRowName(e.index)
}

// osThreadName names an OS thread as py-spy does, by its kernel id and its threading.Thread
// name: `Thread 4242 "MainThread" · event loop`.
func osThreadName(t *snapshot.Thread) string {
	s := "Thread " + strconv.FormatUint(t.TID, 10)
	switch {
	case t.Name != "":
		s += " " + strconv.Quote(t.Name)
	case t.Main:
		s += " (main)"
	}
	if t.HasLoop {
		s += " · event loop"
	}
	return s
}

// taskRowName is a task's row: its marks, its name, where it waits and for how long, so that
// tasks asyncio named Task-2 … Task-7 can be told apart at a glance:
// `Task-2 · fetch_url crawler.py:6 · waiting 41 s`, `⏳ Task-3 · get crawler.py:9 · stuck 2 min 5 s`.
func (v *view) taskRowName(ti int) string {
	t := &v.snap.Tasks[ti]
	var b strings.Builder
	if v.onCycle(t.ID) {
		b.WriteString(cycleMark)
	}
	_, running := v.running[t.ID]
	if running {
		b.WriteString(runningMark)
	}
	w := v.waitOf(ti)
	if w.stuck && !running {
		b.WriteString(stuckMark)
	}
	b.WriteString(taskName(t))
	if f := currentFrame(t.Frames); f != nil {
		b.WriteString(" · ")
		b.WriteString(frameLocation(f))
	}
	if text := waittext.Wait(w.age, w.atLeast); text != "" && !running {
		if w.stuck {
			b.WriteString(" · stuck ")
		} else {
			b.WriteString(" · waiting ")
		}
		b.WriteString(text)
	}
	return b.String()
}

// waitOf is task ti's wait, the zero taskWait when it is not known.
func (v *view) waitOf(ti int) taskWait {
	if ti < 0 || ti >= len(v.waits) {
		return taskWait{}
	}
	return v.waits[ti]
}

// currentFrame is the frame that best says where a task is: the innermost one outside asyncio's
// own machinery, as the Await Tree shows it; nil for a task without frames.
func currentFrame(frames []snapshot.Frame) *snapshot.Frame {
	for i := range frames {
		if !snapshot.IsStdlibAsyncio(frames[i].File) {
			return &frames[i]
		}
	}
	if len(frames) > 0 {
		return &frames[0]
	}
	return nil
}

// frameLocation is "function file.py:line", the file by its base name.
func frameLocation(f *snapshot.Frame) string {
	name := f.Function
	if name == "" {
		name = "<unknown function>"
	}
	file := f.File
	if strings.HasPrefix(file, "/") {
		file = path.Base(file)
	}
	if file == "" {
		return name
	}
	if f.HasLine && f.Line > 0 {
		return name + " " + file + ":" + strconv.Itoa(f.Line)
	}
	return name + " " + file
}

// onCycle reports whether the task is on an await cycle.
func (v *view) onCycle(taskID uint64) bool {
	if len(v.snap.Cycles) == 0 {
		return false
	}
	if v.inCycle == nil {
		v.inCycle = make(map[uint64]bool)
		for _, c := range v.snap.Cycles {
			for _, id := range c {
				v.inCycle[id] = true
			}
		}
	}
	return v.inCycle[taskID]
}

// isUserCode reports whether a frame is the program's own, not the standard library's or an
// installed package's.
func isUserCode(f *snapshot.Frame) bool {
	return strings.HasPrefix(f.File, "/") && !snapshot.IsLibrary(f.File)
}

// tellingThread is the DAP thread a first stop shows, the one that says most about what the
// program is doing: the task an event loop is running right now; else the first task that waits
// in the program's own code; else the first task nothing awaits; else the main thread. The main
// thread's tasks come first.
func (v *view) tellingThread() int {
	if !v.tellingKnown {
		v.telling, v.tellingKnown = v.findTellingThread(), true
	}
	return v.telling
}

func (v *view) findTellingThread() int {
	s := v.snap
	mainTID := uint64(0)
	for i := range s.Threads {
		if s.Threads[i].Main {
			mainTID = s.Threads[i].TID
			if id := v.taskThreadID(s.Threads[i].RunningTask); id != 0 {
				return id
			}
		}
	}
	for i := range s.Threads {
		if id := v.taskThreadID(s.Threads[i].RunningTask); id != 0 {
			return id
		}
	}
	// The main thread's tasks, then the others.
	find := func(ok func(t *snapshot.Task) bool) int {
		for pass := 0; pass < 2; pass++ {
			for i := range s.Tasks {
				t := &s.Tasks[i]
				if (t.TID == mainTID) == (pass == 0) && ok(t) {
					return v.taskDAP[i]
				}
			}
		}
		return 0
	}
	// Tasks that wait at the same place share their frames: each chain is looked at once.
	userChain := map[snapshot.FramesKey]bool{}
	waitsInUserCode := func(t *snapshot.Task) bool {
		if len(t.Frames) == 0 {
			return false
		}
		k := snapshot.KeyOf(t.Frames)
		user, ok := userChain[k]
		if !ok {
			user = isUserCode(&t.Frames[0])
			userChain[k] = user
		}
		return user
	}
	if id := find(waitsInUserCode); id != 0 {
		return id
	}
	if id := find(func(t *snapshot.Task) bool { return len(t.AwaitedBy) == 0 }); id != 0 {
		return id
	}
	if len(v.entries) > 0 {
		return v.entries[0].id // the main thread comes first
	}
	return 0
}

// taskGroups returns the snapshot's tasks grouped by where they wait (package groups), computed
// once per view.
func (v *view) taskGroups() []groups.Group {
	if v.groups == nil {
		v.groups = groups.Of(v.snap)
	}
	return v.groups
}

// groupOfTask returns the group (an index into taskGroups) of every task, by index in
// Snapshot.Tasks.
func (v *view) groupOfTask() []int {
	if v.groupOf == nil {
		gs := v.taskGroups()
		v.groupOf = make([]int, len(v.snap.Tasks))
		for gi := range gs {
			for _, ti := range gs[gi].Tasks {
				v.groupOf[ti] = gi
			}
		}
	}
	return v.groupOf
}

// unlisted is what a capped thread list leaves out.
type unlisted struct {
	tasks, groups int
}

// threadList returns the entries to list and what it leaves out: all of them when limit is 0 or
// they are no more than limit, else limit-1 of them, leaving a row for saying what is left out.
// It always lists the OS threads and the entries with the ids in keep (the task the user
// looks at). Tasks are taken from each place tasks wait (package groups), largest groups first:
// one task of every group, then a second one of every group that has one, and so on, so that the
// few tasks doing the work are listed however many identical ones wait beside them. The list
// keeps the snapshot's order.
func (v *view) threadList(limit int, keep ...int) ([]entry, unlisted) {
	if limit <= 0 || len(v.entries) <= limit {
		return v.entries, unlisted{}
	}
	limit-- // the row that says what is left out
	pick := make([]bool, len(v.entries))
	n := 0
	for i, e := range v.entries {
		if e.kind == osThreadEntry {
			pick[i] = true
			n++
		}
	}
	for _, id := range keep {
		if i, ok := v.byID[id]; ok && !pick[i] {
			pick[i] = true
			n++
		}
	}
	gs := v.taskGroups()
	// Groups are sorted largest first, so those with more than round tasks are a prefix.
	for round := 0; n < limit && len(gs) > 0 && round < len(gs[0].Tasks); round++ {
		for gi := 0; gi < len(gs) && round < len(gs[gi].Tasks) && n < limit; gi++ {
			if ei := v.taskEntry[gs[gi].Tasks[round]]; ei >= 0 && !pick[ei] {
				pick[ei] = true
				n++
			}
		}
	}
	out := make([]entry, 0, n)
	for i, e := range v.entries {
		if pick[i] {
			out = append(out, e)
		}
	}
	var left unlisted
	for gi := range gs {
		missing := 0
		for _, ti := range gs[gi].Tasks {
			if ei := v.taskEntry[ti]; ei >= 0 && !pick[ei] {
				missing++
			}
		}
		if missing > 0 {
			left.tasks += missing
			left.groups++
		}
	}
	return out, left
}

// moreRowName is the name of the row that ends a capped list.
func moreRowName(left unlisted) string {
	return "… " + thousands(left.tasks) + " more " + plural(left.tasks, "task", "tasks") + " in " +
		thousands(left.groups) + " " + plural(left.groups, "group", "groups") + " — see the Await Tree"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thousands formats n with thousands separators: 9,758.
func thousands(n int) string { return waittext.Thousands(int64(n)) }
