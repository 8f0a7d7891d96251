package inspector

import (
	"slices"

	"github.com/aioscope/aioscope/snapshot"
)

// How the tasks of a target that keeps changing are read so that what is reported holds.
//
// Nothing stops the target: it creates, runs and frees tasks while they are read, and a copy of
// a page may predate an object later made there or outlive one since freed. Two rules and three
// steps deal with that.
//
// Every object reached through a reference is read from a copy at least as new as the one the
// reference was read from (snapmem.Reader.Object): an older copy may predate the object. Objects
// that span pages are read from copies taken together (the cache sees to both).
//
//  1. The task lists alone (tasklist.go): quick, so each is read close to one moment. Every link
//     is checked both ways; a list that changed under the walk is mended from fresh copies.
//  2. Each listed task in full (stableTask): name, coroutine chain, awaiters. What does not hang
//     together — an object that is not what its reference says, a coroutine that has returned
//     although its task is not running — is read again from fresh copies of exactly what it
//     read. The tasks are read in batches: first the objects a batch's tasks lead to are copied
//     in a few vectored reads, level by level (referents.go), so that reading the tasks finds
//     them cached; after the batch, those copies are dropped (tasksPerBatch).
//  3. All of them again, from one fresh copy of their list nodes taken together, after all were
//     read (listcheck.go). A task stays in its list until it finishes and holds its coroutine
//     and name all that time, so a task still where it was, with the fields it was read
//     through, lived throughout the read, and what was read through it was true when it was
//     read. Others finished meanwhile and are left out, as from a snapshot taken a moment later.
//
// What is reported is thus each task as it was at some moment during the read, never a mixture
// of a task and whatever took its memory.

// maxTaskReads bounds how often one task is read again after it was found to mix moments of a
// target that changed while it was read.
const maxTaskReads = 4

// copiedPerTask is about how much of the target the prefetch and the walk copy per task, beyond
// the task lists: its name, coroutines and frames, what it awaits (PERFORMANCE.md has the
// measurement). It only sizes the memory prepared for the copies.
const copiedPerTask = 1024

// tasksPerBatch is how many tasks are read between dropping page copies: what their objects
// lead to is copied, read and then dropped, so the copies of a large target take a batch's worth
// of memory beyond the task lists instead of growing with it. PERFORMANCE.md has how the size
// was chosen.
const tasksPerBatch = 1024

// taskList is one list of tasks: a thread's, or the interpreter's (tid 0).
type taskList struct {
	head, tid uint64
}

// listedTask is a task found in a task list and what reading it gave.
type listedTask struct {
	addr, node uint64
	tid        uint64 // of the list's thread; 0 for the interpreter's list
	head       uint64 // the list's head
	index      int    // 1 for the first node of its list
	prevNode   uint64 // the node before it when the list was read (the head for the first)
	header     taskHeader
	task       *snapshot.Task // where what was read goes
	// frameAddrs is where the task's frames are, when the walk reads locals: an element of
	// the walk's own slice of them, which only such walks allocate.
	frameAddrs *[]uint64
	ok         bool // read, and still in its list when checked
}

// taskHeader is what a task's own fields said when it was read: the objects everything else
// reported about it was read through.
type taskHeader struct {
	name, coro, awaitedBy uint64
	awaitedBySet          byte
}

// readTasks reads every task of the lists and returns those that were pending throughout, in
// list order, and, when the walk reads locals, where their frames are and what the walk saw of
// each (frameMarks). running holds the tasks the threads run right now.
func (w *walker) readTasks(lists []taskList, running map[uint64]bool) ([]snapshot.Task, error) {
	listed, err := w.listTasks(lists)
	if err != nil {
		return nil, err
	}
	// Every batch must know every awaiter. knownAwaiters only looks at the task objects, which
	// the list walk copied whole (a fetch covers a pool of them), so it can run before any.
	w.chains.reset(w.knownAwaiters(listed))
	tasks := make([]snapshot.Task, len(listed))
	var marks [][]frameMark
	if w.keepFrames {
		addrs := make([][]uint64, len(listed))
		for i := range listed {
			listed[i].frameAddrs = &addrs[i]
		}
		marks = make([][]frameMark, len(listed))
		if w.locals != nil {
			w.locals.begin(len(listed), addrs, marks)
		}
	}
	size := max(w.p.batchSize, 1)
	w.mem.Expect(copiedPerTask * min(len(listed), size))
	for b := 0; b < len(listed); b += size {
		batch := listed[b:min(b+size, len(listed))]
		w.mem.BeginBatch()
		if err := w.mem.Prefetch(w.taskRoots(batch), w.referents); err != nil {
			return nil, err
		}
		for i := range batch {
			batch[i].task = &tasks[b+i]
			if err := w.stableTask(&batch[i], running); err != nil {
				return nil, err
			}
		}
		if w.keepFrames {
			// Where the frames were, from the copies the tasks were read from, before they are
			// dropped; the batch's marks in one allocation.
			n := 0
			for i := range batch {
				n += len(*batch[i].frameAddrs)
			}
			block := make([]frameMark, 0, n)
			for i := range batch {
				start := len(block)
				block = w.appendFrameMarks(block, *batch[i].frameAddrs)
				marks[b+i] = block[start:len(block):len(block)]
			}
			if w.locals != nil {
				w.locals.publish(b, tasks[b:b+len(batch)])
			}
		}
		w.mem.EndBatch()
	}
	if err := w.stillListed(listed, lists, running); err != nil {
		return nil, err
	}
	left := map[uint64]bool{} // tasks that finished while the snapshot was taken
	kept := tasks[:0]
	for i := range listed {
		if listed[i].ok {
			kept = append(kept, tasks[i])
			if w.locals != nil {
				w.locals.kept = append(w.locals.kept, i)
			}
		} else {
			left[listed[i].addr] = true
		}
	}
	clear(tasks[len(kept):])
	dropAwaiters(kept, left, !w.p.opts.MainThreadOnly)
	if w.chains.mixed {
		sameAwaiterFrames(kept)
	}
	return kept, nil
}

// knownAwaiters returns the tasks and futures that listed tasks are awaited by, as far as the
// cached copies of the tasks tell without reading anything: an awaiter held alone, not one in
// a set. It only decides which chains are kept for sharing (chainCache), so a wrong or missing
// entry costs a chain read twice at most.
func (w *walker) knownAwaiters(listed []listedTask) map[uint64]bool {
	to := &w.a.TaskObject
	known := map[uint64]bool{}
	last := uint64(0)
	var buf [512]byte // for a task object spanning two pages
	for i := range listed {
		tb, ok := w.mem.Peek(listed[i].addr, int(to.Size), buf[:])
		if !ok || tb[to.TaskIsTask] == 0 || tb[to.TaskAwaitedByIsSet] != 0 {
			continue
		}
		if by := le64(tb, to.TaskAwaitedBy) &^ w.l.TagBits; by != 0 && by != last {
			known[by], last = true, by
		}
	}
	return known
}

// stableTask reads one listed task into lt. When what it finds does not hang together — the
// task, its coroutines and its awaiters were copied at different moments of a target that
// changed in between — the memory it touched is copied again and the task read again. A task
// that has left its list by then finished while the snapshot was taken: lt.ok is false.
func (w *walker) stableTask(lt *listedTask, running map[uint64]bool) error {
	for try := 1; ; try++ {
		last := try == maxTaskReads
		w.mem.Record()
		mark := len(w.chains.log)
		read, err := w.task(lt.addr, lt.tid)
		*lt.task, lt.header = read.task, read.header
		if w.keepFrames && read.own != nil {
			*lt.frameAddrs = slices.Clone(read.own.frameAddrs)
		}
		if err == nil {
			var finishing bool
			if finishing, err = read.doubtful(running); err != nil && last {
				w.mem.StopRecording()
				// Seen every time, so this is how the target is, not a torn read: a
				// coroutine that has returned means the task is being completed and leaves
				// its list within microseconds; anything else is reported as it is.
				lt.ok = !finishing
				return nil
			}
		}
		if err == nil || !retryable(err) || last {
			w.mem.StopRecording()
			lt.ok = err == nil
			return err
		}
		// Chains read in this attempt may come from the stale copies: forget them, and the
		// task's own and its awaiters' even if they were read before, while reading another
		// task that this one awaits.
		w.chains.forgetSince(mark)
		w.forget(&read.task)
		w.chains.mixed = true
		if err := w.mem.RefreshRecorded(); err != nil {
			return err
		}
		if linked, err := w.linked(lt.addr); err != nil || !linked {
			lt.ok = false
			return err
		}
	}
}

// taskRead is what reading one task gave.
type taskRead struct {
	task   snapshot.Task
	header taskHeader // the task's fields the rest was read through
	own    *chain     // the task's own chain; nil when reading stopped before it
}

// task reads one listed task: its name, coroutine chain and awaiters.
func (w *walker) task(addr uint64, tid uint64) (taskRead, error) {
	res := taskRead{task: snapshot.Task{ID: addr, TID: tid}}
	t, h := &res.task, &res.header
	to := &w.a.TaskObject
	tb, r, err := w.any.Object(addr, int(to.Size))
	if err != nil {
		return res, err
	}
	if tb[to.TaskIsTask] == 0 {
		return res, inconsistent("object 0x%x in a task list is not a task", addr)
	}
	h.name = le64(tb, to.TaskName) &^ w.l.TagBits
	h.awaitedBy, h.awaitedBySet = le64(tb, to.TaskAwaitedBy)&^w.l.TagBits, tb[to.TaskAwaitedByIsSet]
	if t.Name, err = w.taskName(r, h.name); err != nil {
		return res, err
	}
	if res.own, err = w.chainOf(r, addr, true); err != nil {
		return res, err
	}
	t.Frames, h.coro = res.own.frames, res.own.coro
	if h.awaitedBy == 0 {
		return res, nil
	}
	one, awaiters, ar := [1]uint64{h.awaitedBy}, []uint64(nil), r
	if h.awaitedBySet == 0 {
		awaiters = one[:]
	} else if awaiters, ar, err = w.setMembers(r, h.awaitedBy); err != nil {
		return res, err
	}
	t.AwaitedBy = w.blocks.awaiterList(len(awaiters))
	for _, id := range awaiters {
		c, err := w.chainOf(ar, id, false)
		if err != nil {
			return res, err
		}
		t.AwaitedBy = append(t.AwaitedBy, snapshot.Awaiter{ID: id, IsTask: c.isTask, Frames: c.frames})
	}
	return res, nil
}

// doubtful reports what makes a task read without error unlikely to be a true picture: a
// coroutine that has returned (or was let go) although the task is not the one its thread is
// running — only a running task's coroutine can return — or a coroutine reference that leads to
// an object that cannot be a coroutine (memory freed and reused while it was read). finishing
// tells the first kind.
func (read *taskRead) doubtful(running map[uint64]bool) (finishing bool, err error) {
	c, id := read.own, read.task.ID
	if c == nil {
		return false, nil
	}
	if c.finished && !running[id] {
		return true, inconsistent("task 0x%x finished while it was being read", id)
	}
	if c.notCoroutine != "" {
		return false, inconsistent("task 0x%x runs a %s, not a coroutine", id, c.notCoroutine)
	}
	return false, nil
}

// forget drops the coroutine chains read for a task and its awaiters.
func (w *walker) forget(t *snapshot.Task) {
	w.chains.forget(t.ID)
	for _, a := range t.AwaitedBy {
		w.chains.forget(a.ID)
	}
}

// dropAwaiters removes from each task's awaiters the tasks that do not belong to the moment the
// snapshot shows: those that finished while it was taken (left), and, when every list was read
// (allLists), pending tasks in no list — every pending task is in a list, so such an awaiter was
// created after the lists were read. (A task that finished earlier can linger among the awaiters
// of a task it awaited, as shield() keeps it; it has no frames and stays, as CPython reports it.)
func dropAwaiters(tasks []snapshot.Task, left map[uint64]bool, allLists bool) {
	listed := snapshot.AwaiterIndex(tasks) // each awaiter: its task's index, or -1 if none
	for i := range tasks {
		t := &tasks[i]
		if len(t.AwaitedBy) == 0 {
			continue
		}
		t.AwaitedBy = slices.DeleteFunc(t.AwaitedBy, func(a snapshot.Awaiter) bool {
			return left[a.ID] || (allLists && a.IsTask && len(a.Frames) > 0 && listed[a.ID] < 0)
		})
		if len(t.AwaitedBy) == 0 {
			t.AwaitedBy = nil
		}
	}
}

// sameAwaiterFrames gives each awaiter that is a listed task the frames the task was reported
// with. An awaiter's chain may have been read first while reading the task it awaits, and read
// again, fresher, when that turned out to be stale; the final reading is the one that counts.
func sameAwaiterFrames(tasks []snapshot.Task) {
	frames := make(map[uint64][]snapshot.Frame, len(tasks))
	for i := range tasks {
		frames[tasks[i].ID] = tasks[i].Frames
	}
	for i := range tasks {
		for j := range tasks[i].AwaitedBy {
			a := &tasks[i].AwaitedBy[j]
			if f, ok := frames[a.ID]; ok {
				a.IsTask, a.Frames = true, f
			}
		}
	}
}

// ignoreTorn passes on errors that end the snapshot and drops those of a target that changed.
func ignoreTorn(err error) error {
	if retryable(err) {
		return nil
	}
	return err
}
