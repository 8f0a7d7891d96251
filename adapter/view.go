package adapter

import (
	"strconv"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
	"github.com/aioscope/aioscope/tracking"
)

// threadKey identifies what a DAP thread stands for: an asyncio task or an OS thread.
//
// A task is its address together with its name. Python reuses the memory of a finished task for
// the next one, often at once, so between two snapshots a new task can appear at the address of
// one that has just finished; the name tells them apart in practice (names asyncio makes up,
// Task-N, are never repeated), so a new task does not inherit the thread id of the finished one.
// The price is that a task renamed with set_name() between two snapshots is shown as a new
// thread. An OS thread is its kernel thread id together with its pthread id, both of which the
// system recycles, though rarely both at once.
type threadKey struct {
	osThread bool
	id       uint64
	id2      uint64 // an OS thread's pthread id
	name     string // a task's name
}

func taskKey(t *snapshot.Task) threadKey { return threadKey{id: t.ID, name: t.Name} }

func osThreadKey(t *snapshot.Thread) threadKey {
	return threadKey{osThread: true, id: t.TID, id2: t.ThreadID}
}

// idAllocator hands out the DAP thread ids of one session. An id stays with its task for as long
// as the task is in consecutive snapshots; ids are never handed out twice. A task that is missing
// from a snapshot has finished (pending tasks do not leave the task lists and come back), so when
// its address shows up again later it is a new task and gets a new id; the same goes for kernel
// thread ids, which the kernel recycles.
type idAllocator struct {
	last  int
	ids   map[threadKey]int
	spare map[threadKey]int // the map before last, cleared and reused for the next snapshot
}

// assign returns the DAP ids of the snapshot's OS threads and tasks, index for index.
func (a *idAllocator) assign(s *snapshot.Snapshot) (osIDs, taskIDs []int) {
	next := a.spare
	if next == nil {
		next = make(map[threadKey]int, len(s.Threads)+len(s.Tasks))
	}
	clear(next)
	get := func(k threadKey) int {
		if id, ok := next[k]; ok {
			return id // the same task listed twice in one snapshot
		}
		id, ok := a.ids[k]
		if !ok {
			a.last++
			id = a.last
		}
		next[k] = id
		return id
	}
	osIDs = make([]int, len(s.Threads))
	for i := range s.Threads {
		osIDs[i] = get(osThreadKey(&s.Threads[i]))
	}
	taskIDs = make([]int, len(s.Tasks))
	for i := range s.Tasks {
		taskIDs[i] = get(taskKey(&s.Tasks[i]))
	}
	a.ids, a.spare = next, a.ids
	return osIDs, taskIDs
}

type entryKind uint8

const (
	osThreadEntry entryKind = iota + 1
	taskEntry
)

// entry is one DAP thread of a view.
type entry struct {
	id    int
	kind  entryKind
	index int // into Snapshot.Threads or Snapshot.Tasks
}

// view is a snapshot as the client sees it: DAP threads, composed stacks and the references
// handed out for frames and variables. References are only valid for the view they came from.
// A view is built once and then read; its lazily filled caches (stacks, handles, awaiting) are
// guarded by the session's lock.
type view struct {
	snap *snapshot.Snapshot

	entries   []entry        // OS threads (main thread first), then tasks in snapshot order
	byID      map[int]int    // DAP thread id -> index in entries
	taskIndex map[uint64]int // task id -> index of its first listing in Snapshot.Tasks
	taskDAP   []int          // task index -> DAP thread id
	osDAP     []int          // OS thread index -> DAP thread id
	running   map[uint64]int // task id -> index of the OS thread running it right now
	taskEntry []int          // task index -> index in entries, -1 for a task listed twice

	awaiting [][]int // task index -> indices of the tasks it awaits; built on first use
	groups   []groups.Group
	// waits is each task's wait, by index, as the session's tracker knew it at this snapshot
	// (nil for a view made otherwise); loops is the event loops' states from the samples up to
	// it, nil when no sampling went on.
	waits   []taskWait
	loops   []tracking.LoopInfo
	groupOf []int           // task index -> index in groups
	inCycle map[uint64]bool // tasks on an await cycle; built on first use
	// telling is the thread a first stop shows (tellingThread), once tellingKnown.
	telling      int
	tellingKnown bool
	stacks       map[int][]stackItem
	handles      map[int]handle
	handleOf     map[handle]int
	nodes        valueNodes // the values shown so far, as paths from their frames
}

func newView(s *snapshot.Snapshot, alloc *idAllocator) *view {
	osIDs, taskIDs := alloc.assign(s)
	v := &view{
		snap:      s,
		entries:   make([]entry, 0, len(s.Threads)+len(s.Tasks)),
		byID:      make(map[int]int, len(s.Threads)+len(s.Tasks)),
		taskIndex: make(map[uint64]int, len(s.Tasks)),
		taskDAP:   taskIDs,
		osDAP:     osIDs,
		running:   make(map[uint64]int),
		taskEntry: make([]int, len(s.Tasks)),
	}
	add := func(e entry) int {
		if _, dup := v.byID[e.id]; dup {
			return -1
		}
		v.byID[e.id] = len(v.entries)
		v.entries = append(v.entries, e)
		return len(v.entries) - 1
	}
	for i := range s.Threads {
		if s.Threads[i].Main {
			add(entry{id: osIDs[i], kind: osThreadEntry, index: i})
		}
	}
	for i := range s.Threads {
		if !s.Threads[i].Main {
			add(entry{id: osIDs[i], kind: osThreadEntry, index: i})
		}
		if rt := s.Threads[i].RunningTask; rt != 0 {
			v.running[rt] = i
		}
	}
	for i := range s.Tasks {
		if _, seen := v.taskIndex[s.Tasks[i].ID]; !seen {
			v.taskIndex[s.Tasks[i].ID] = i
		}
		v.taskEntry[i] = add(entry{id: taskIDs[i], kind: taskEntry, index: i})
	}
	return v
}

// taskName is the task's own name, which users chose or asyncio made up (Task-7); a task with
// an empty name is shown by its id.
func taskName(t *snapshot.Task) string {
	if t.Name != "" {
		return t.Name
	}
	return "Task " + hexID(t.ID)
}

func hexID(id uint64) string { return "0x" + strconv.FormatUint(id, 16) }

// stackItem is one frame of a composed stack: a Python frame or a label between the frames of
// a task and those of the task awaiting it.
type stackItem struct {
	frame *snapshot.Frame // nil for a label
	label string
	// place is where a label points: the frame of the awaiter where it awaits, or the last
	// frame before the label when the awaiter has none; nil when there is neither.
	place *snapshot.Frame
	// task is the index of the task the frame belongs to (for a label: the awaiting task), -1
	// for an OS thread's frames and for awaiters that are not tasks of the snapshot.
	task int
	// thread is the OS thread index for an OS thread's frames, -1 otherwise.
	thread int
	// at says where a frame's values are read: frame index of the chain of a task (the
	// snapshot's, or one made for an awaiter from what the snapshot has of it) or of an OS
	// thread. Labels have none.
	at frameAt
}

// frameAt is a frame of a snapshot as the target reader finds it again: frame index of task's
// coroutine chain, or of thread's stack when task is nil.
type frameAt struct {
	task   *snapshot.Task
	thread *snapshot.Thread
	index  int
}

// stack returns the composed stack of a DAP thread: an OS thread's current frames, or a task's
// coroutine frames followed, awaiter after awaiter, by the frames of the tasks awaiting it up to
// one that nothing awaits, so that one stack shows the whole logical call chain.
func (v *view) stack(threadID int) ([]stackItem, bool) {
	if st, ok := v.stacks[threadID]; ok {
		return st, true
	}
	i, ok := v.byID[threadID]
	if !ok {
		return nil, false
	}
	e := v.entries[i]
	var st []stackItem
	if e.kind == osThreadEntry {
		frames := v.snap.Threads[e.index].Frames
		st = make([]stackItem, len(frames))
		for k := range frames {
			st[k] = stackItem{frame: &frames[k], task: -1, thread: e.index,
				at: frameAt{thread: &v.snap.Threads[e.index], index: k}}
		}
	} else {
		st = v.taskStack(e.index)
	}
	if v.stacks == nil {
		v.stacks = make(map[int][]stackItem)
	}
	v.stacks[threadID] = st
	return st, true
}

func (v *view) taskStack(ti int) []stackItem {
	tasks := v.snap.Tasks
	own := tasks[ti].Frames
	st := make([]stackItem, 0, len(own)+8)
	for k := range own {
		st = append(st, stackItem{frame: &own[k], task: ti, thread: -1, at: frameAt{task: &tasks[ti], index: k}})
	}
	visited := map[int]bool{ti: true}
	// labelAt is where a label before the frames of an awaiter points, so that clients can show
	// and open a place for it (screen readers otherwise read "line 0").
	labelAt := func(a *snapshot.Awaiter) *snapshot.Frame {
		if len(a.Frames) > 0 {
			return &a.Frames[0]
		}
		for k := len(st) - 1; k >= 0; k-- {
			if st[k].frame != nil {
				return st[k].frame
			}
		}
		return nil
	}
	for cur := ti; ; {
		t := &tasks[cur]
		if len(t.AwaitedBy) == 0 {
			break
		}
		a := &t.AwaitedBy[0]
		more := ""
		if n := len(t.AwaitedBy) - 1; n > 0 {
			more = " (and " + strconv.Itoa(n) + " more)"
		}
		j, known := v.taskIndex[a.ID]
		if !a.IsTask || !known {
			what := "future " + hexID(a.ID)
			if a.IsTask {
				what = "task " + hexID(a.ID) + " (not in this snapshot)"
			}
			st = append(st, stackItem{label: "awaited by " + what + more, place: labelAt(a), task: -1, thread: -1})
			owner := &snapshot.Task{ID: a.ID, Name: hexID(a.ID), Frames: a.Frames}
			for k := range a.Frames {
				st = append(st, stackItem{frame: &a.Frames[k], task: -1, thread: -1, at: frameAt{task: owner, index: k}})
			}
			break
		}
		if visited[j] {
			st = append(st, stackItem{label: "awaited by " + taskName(&tasks[j]) + " (await cycle)" + more, place: labelAt(a), task: j, thread: -1})
			break
		}
		st = append(st, stackItem{label: "awaited by " + taskName(&tasks[j]) + more, place: labelAt(a), task: j, thread: -1})
		// The awaiter's frames as the awaited task's record has them, which is what this
		// stack shows and what a read of the awaiter's frames checks.
		owner := &snapshot.Task{ID: a.ID, Name: tasks[j].Name, Frames: a.Frames}
		for k := range a.Frames {
			st = append(st, stackItem{frame: &a.Frames[k], task: j, thread: -1, at: frameAt{task: owner, index: k}})
		}
		visited[j] = true
		cur = j
	}
	return st
}

// awaitingOf returns the indices of the tasks that task ti awaits, in snapshot order.
func (v *view) awaitingOf(ti int) []int {
	if v.awaiting == nil {
		v.awaiting = make([][]int, len(v.snap.Tasks))
		for k := range v.snap.Tasks {
			for _, a := range v.snap.Tasks[k].AwaitedBy {
				j, ok := v.taskIndex[a.ID]
				if !ok || !a.IsTask {
					continue
				}
				if l := v.awaiting[j]; len(l) > 0 && l[len(l)-1] == k {
					continue // the same awaiter listed twice
				}
				v.awaiting[j] = append(v.awaiting[j], k)
			}
		}
	}
	return v.awaiting[ti]
}

type handleKind uint8

const (
	frameHandle      handleKind = iota + 1 // a stack entry (a frame id, see frameRefs); a: DAP thread id, b: index in its stack
	taskVarsHandle                         // a: task index
	threadVarsHandle                       // a: OS thread index
	awaitedByHandle                        // a: task index
	awaitingHandle                         // a: task index
	argumentsHandle                        // a: DAP thread id, b: index in its stack
	localsHandle                           // a: DAP thread id, b: index in its stack
	valueHandle                            // a: index in view.nodes
)

// handle is what a variablesReference stands for within one view, or a frame id (a: DAP thread
// id, b: index in its stack) in every view (see frameRefs).
type handle struct {
	kind handleKind
	a, b int
}

// ref returns the reference number for h, the same one each time within this view. Numbers
// come from the session-wide counter next, so a number from an earlier view never means
// something else in this one.
func (v *view) ref(h handle, next *int) int {
	if id, ok := v.handleOf[h]; ok {
		return id
	}
	if v.handles == nil {
		v.handles = make(map[int]handle)
		v.handleOf = make(map[handle]int)
	}
	*next++
	v.handles[*next] = h
	v.handleOf[h] = *next
	return *next
}

func (v *view) lookup(ref int) (handle, bool) {
	h, ok := v.handles[ref]
	return h, ok
}

// frameRefs hands out the frame ids of a session. A frame id stands for a position in a thread's
// stack — the DAP thread id and the index — in whatever snapshot is current, so that a client that
// keeps the frame the user selected across a new snapshot (a stop with preserveFocusHint) gets the
// same position in the new snapshot for it. Positions of threads that are gone are forgotten.
type frameRefs struct {
	byPos map[handle]int
	byRef map[int]handle
}

// ref returns the frame id of a position, taking a new one from the session-wide counter next.
func (f *frameRefs) ref(threadID, index int, next *int) int {
	h := handle{kind: frameHandle, a: threadID, b: index}
	if id, ok := f.byPos[h]; ok {
		return id
	}
	if f.byPos == nil {
		f.byPos = make(map[handle]int)
		f.byRef = make(map[int]handle)
	}
	*next++
	f.byPos[h] = *next
	f.byRef[*next] = h
	return *next
}

func (f *frameRefs) lookup(ref int) (handle, bool) {
	h, ok := f.byRef[ref]
	return h, ok
}

// forget drops the positions of threads for which keep is false.
func (f *frameRefs) forget(keep func(threadID int) bool) {
	for h, id := range f.byPos {
		if !keep(h.a) {
			delete(f.byPos, h)
			delete(f.byRef, id)
		}
	}
}
