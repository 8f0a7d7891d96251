package inspector

import (
	"encoding/binary"
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
// reference was read from (walker.noOlderThan): an older copy may predate the object. Objects
// that span pages are read from copies taken together (pageCache.sameMoment).
//
//  1. The task lists alone (taskList): quick, so each is read close to one moment. Every link is
//     checked both ways; a list that changed under the walk is mended from fresh copies.
//  2. Each listed task in full (stableTask): name, coroutine chain, awaiters. What does not hang
//     together — an object that is not what its reference says, a coroutine that has returned
//     although its task is not running — is read again from fresh copies. The tasks are read
//     in batches: first the objects a batch's tasks lead to are copied in a few vectored reads,
//     level by level (prefetchReferents), so that reading the tasks finds them cached; after
//     the batch, those copies are dropped (tasksPerBatch).
//  3. All of them again, from one fresh copy of their list nodes taken together, after all were
//     read (stillListed). A task stays in its list until it finishes and holds its coroutine and
//     name all that time, so a task still where it was, with the fields it was read through,
//     lived throughout the read, and what was read through it was true when it was read. Others
//     finished meanwhile and are left out, as from a snapshot taken a moment later.
//
// What is reported is thus each task as it was at some moment during the read, never a mixture
// of a task and whatever took its memory.

// maxListRepairs bounds how often the walk of one task list resumes after finding that the list
// changed under it, and maxTaskReads how often one task is read again after it was found to mix
// moments of a target that changed while it was read.
const (
	maxListRepairs = 256
	maxTaskReads   = 4
)

// copiedPerTask is about how much of the target the prefetch and the walk copy per task, beyond
// the task lists: its name, coroutines and frames, what it awaits (measured: 950 bytes in
// batches of 1,024 at 10,000 tasks of a simple program).
const copiedPerTask = 1024

// tasksPerBatch is how many tasks are read between recycleCopies: what their objects lead to is
// copied, read and then dropped, so the copies of a large target take a batch's worth of
// memory beyond the task lists instead of growing with it. Fresh memory is costly, and more so
// on virtual machines whose host takes free memory back (see slabs). Measured at 10,000 tasks,
// where the lists' copies take 2.9 MB: batches of 2,048 peak at 4.5 MB of copies, a third huge
// page, and were 0.17 ms slower than batches of 1,024; batches of 512 were no faster.
const tasksPerBatch = 1024

// listedTask is a task found in a task list and what reading it gave.
type listedTask struct {
	addr, node uint64
	tid        uint64 // of the list's thread; 0 for the interpreter's list
	head       uint64 // the list's head
	index      int    // 1 for the first node of its list
	prevNode   uint64 // the node before it when the list was read (the head for the first)
	header     taskHeader
	task       *snapshot.Task // where what was read goes
	ok         bool           // read, and still in its list when checked
}

// taskHeader is what a task's own fields said when it was read: the objects everything else
// reported about it was read through.
type taskHeader struct {
	name, coro, awaitedBy uint64
	awaitedBySet          byte
}

// readTasks reads every task of the lists at heads (with the thread id each list reports) and
// returns those that were pending throughout, in list order.
func (w *walker) readTasks(heads []uint64, tids []uint64, running map[uint64]bool) ([]snapshot.Task, error) {
	lists := make([][]uint64, len(heads))
	total, nonEmpty := 0, 0
	for i, head := range heads {
		nodes, err := w.taskList(head)
		if err != nil {
			return nil, err
		}
		lists[i] = nodes
		total += len(nodes)
		if len(nodes) > 0 {
			nonEmpty++
		}
	}
	listed := make([]listedTask, 0, total)
	for i, head := range heads {
		prev := head
		for j, n := range lists[i] {
			listed = append(listed, listedTask{addr: n - w.a.TaskObject.TaskNode, node: n, tid: tids[i],
				head: head, index: j + 1, prevNode: prev})
			prev = n
		}
	}
	if nonEmpty > 1 {
		// A task moves to the interpreter's list when its thread exits; one that moved while
		// the lists were read is reported once, where it was first seen.
		seen := make(map[uint64]bool, len(listed))
		listed = slices.DeleteFunc(listed, func(lt listedTask) bool {
			dup := seen[lt.addr]
			seen[lt.addr] = true
			return dup
		})
	}
	// Every batch must know every awaiter. knownAwaiters only looks at the task objects, which
	// the list walk copied whole (a fetch covers a pool of them), so it can run before any.
	w.awaiters = w.knownAwaiters(listed)
	w.coros, w.lastCoro = make(map[uint64]*coroInfo, len(w.awaiters)+16), nil
	tasks := make([]snapshot.Task, len(listed))
	size := max(w.p.batchSize, 1)
	w.mem.expect(copiedPerTask * min(len(listed), size))
	for b := 0; b < len(listed); b += size {
		batch := listed[b:min(b+size, len(listed))]
		w.mem.markCopies()
		if err := w.prefetchReferents(batch); err != nil {
			return nil, err
		}
		for i := range batch {
			batch[i].task = &tasks[b+i]
			if err := w.stableTask(&batch[i], running); err != nil {
				return nil, err
			}
		}
		w.mem.recycleCopies()
	}
	if err := w.stillListed(listed, heads, running); err != nil {
		return nil, err
	}
	left := map[uint64]bool{} // tasks that finished while the snapshot was taken
	kept := tasks[:0]
	for i := range listed {
		if listed[i].ok {
			kept = append(kept, tasks[i])
		} else {
			left[listed[i].addr] = true
		}
	}
	clear(tasks[len(kept):])
	dropAwaiters(kept, left, !w.p.opts.MainThreadOnly)
	if w.reread {
		sameAwaiterFrames(kept)
	}
	return kept, nil
}

// knownAwaiters returns the tasks and futures that listed tasks are awaited by, as far as the
// cached copies of the tasks tell without reading anything: an awaiter held alone, not one in
// a set. It only decides which chains are kept for sharing (walker.coros), so a wrong or missing
// entry costs a chain read twice at most.
func (w *walker) knownAwaiters(listed []listedTask) map[uint64]bool {
	to := &w.a.TaskObject
	known := map[uint64]bool{}
	last := uint64(0)
	var buf [512]byte // for a task object spanning two pages
	for i := range listed {
		tb, ok := w.mem.peek(listed[i].addr, int(to.Size), buf[:])
		if !ok || tb[to.TaskIsTask] == 0 || tb[to.TaskAwaitedByIsSet] != 0 {
			continue
		}
		if by := le64(tb, to.TaskAwaitedBy) &^ w.l.TagBits; by != 0 && by != last {
			known[by], last = true, by
		}
	}
	return known
}

// taskList returns the nodes of one circular task list (a thread's or the interpreter's) in
// creation order. Each step checks that the node reached points back at the node it was reached
// from. When it does not, the list changed while it was walked: the two nodes are copied again and
// the walk resumes from the last node that is still in the list, so that a list that changes all
// the time is still read whole, each link as it was when it was checked.
func (w *walker) taskList(head uint64) ([]uint64, error) {
	ln := &w.o.LListNode
	next, err := w.ptr(head + ln.Next)
	if err != nil {
		return nil, err
	}
	var nodes []uint64
	prev := head
	repairs := 0
	for next != head {
		if len(nodes) >= maxTasksPerList {
			return nil, inconsistent("more than %d tasks in one list: task list appears corrupted", maxTasksPerList)
		}
		if next != 0 {
			nb, err := w.mem.view(next, 16)
			if err != nil && !retryable(err) {
				return nil, err
			}
			if err == nil && le64(nb, ln.Prev) == prev {
				nodes = append(nodes, next)
				prev, next = next, le64(nb, ln.Next)
				continue
			}
		}
		if prev, next, err = w.resumeList(head, &nodes, prev, next, &repairs); err != nil {
			return nil, err
		}
	}
	if repairs > 0 {
		nodes = dropEarlierCopies(nodes)
	}
	return nodes, nil
}

// dropEarlierCopies keeps the last of the entries of a node that a mended list walk met twice:
// the task it met first left the list, and a new task made at the same address was added at
// the end before the walk got there.
func dropEarlierCopies(nodes []uint64) []uint64 {
	last := make(map[uint64]int, len(nodes))
	for i, n := range nodes {
		last[n] = i
	}
	if len(last) == len(nodes) {
		return nodes
	}
	kept := nodes[:0]
	for i, n := range nodes {
		if last[n] == i {
			kept = append(kept, n)
		}
	}
	return kept
}

// resumeList finds where a list walk continues after the link from prev to next failed its
// check: fresh copies of both nodes are taken, and nodes that have left the list since they were
// accepted are given up, back to the last one still in it (or the head).
func (w *walker) resumeList(head uint64, nodes *[]uint64, prev, next uint64, repairs *int) (uint64, uint64, error) {
	ln := &w.o.LListNode
	if next != 0 {
		if err := w.mem.refresh(next, 16); err != nil {
			return 0, 0, err
		}
	}
	for {
		if *repairs++; *repairs > maxListRepairs {
			return 0, 0, inconsistent("task list changed while reading (node 0x%x)", next)
		}
		if err := w.mem.refresh(prev, 16); err != nil {
			return 0, 0, err
		}
		pb, err := w.mem.view(prev, 16)
		if err != nil && !retryable(err) {
			return 0, 0, err
		}
		if err == nil && (prev == head || (le64(pb, ln.Next) != 0 && le64(pb, ln.Prev) != 0)) {
			return prev, le64(pb, ln.Next), nil
		}
		if prev == head {
			return 0, 0, err
		}
		// prev has left the list (asyncio clears a removed node's links): back up.
		*nodes = (*nodes)[:len(*nodes)-1]
		prev = head
		if n := len(*nodes); n > 0 {
			prev = (*nodes)[n-1]
		}
	}
}

// stableTask reads one listed task into lt. When what it finds does not hang together — the
// task, its coroutines and its awaiters were copied at different moments of a target that
// changed in between — the memory it touched is copied again and the task read again. A task
// that has left its list by then finished while the snapshot was taken: lt.ok is false.
func (w *walker) stableTask(lt *listedTask, running map[uint64]bool) error {
	for try := 1; ; try++ {
		last := try == maxTaskReads
		w.mem.startLog()
		mark := len(w.coroLog)
		t, h, err := w.task(lt.addr, lt.tid)
		*lt.task, lt.header = t, h
		if err == nil {
			var finishing bool
			if finishing, err = w.doubtful(&t, running); err != nil && last {
				w.mem.logging = false
				// Seen every time, so this is how the target is, not a torn read: a
				// coroutine that has returned means the task is being completed and leaves
				// its list within microseconds; anything else is reported as it is.
				lt.ok = !finishing
				return nil
			}
		}
		if err == nil || !retryable(err) || last {
			w.mem.logging = false
			lt.ok = err == nil
			return err
		}
		// Chains read in this attempt may come from the stale copies: forget them, and the
		// task's own and its awaiters' even if they were read before, while reading another
		// task that this one awaits.
		for _, obj := range w.coroLog[mark:] {
			w.forgetCoro(obj)
		}
		w.coroLog = w.coroLog[:mark]
		w.forget(&t)
		w.reread = true
		if err := w.mem.refreshLogged(); err != nil {
			return err
		}
		if linked, err := w.linked(lt.addr); err != nil || !linked {
			lt.ok = false
			return err
		}
	}
}

// forget drops the coroutine chains read for a task and its awaiters.
func (w *walker) forget(t *snapshot.Task) {
	w.forgetCoro(t.ID)
	for _, a := range t.AwaitedBy {
		w.forgetCoro(a.ID)
	}
}

// doubtful reports what makes a task read without error unlikely to be a true picture: a
// coroutine that has returned (or was let go) although the task is not the one its thread is
// running — only a running task's coroutine can return — or a coroutine reference that leads to
// an object that cannot be a coroutine (memory freed and reused while it was read). finishing
// tells the first kind.
func (w *walker) doubtful(t *snapshot.Task, running map[uint64]bool) (finishing bool, err error) {
	c := w.lastOwn
	if c == nil {
		return false, nil
	}
	if c.finished && !running[t.ID] {
		return true, inconsistent("task 0x%x finished while it was being read", t.ID)
	}
	if c.notCoroutine != "" {
		return false, inconsistent("task 0x%x runs a %s, not a coroutine", t.ID, c.notCoroutine)
	}
	return false, nil
}

// linked reports whether a task is still in a task list, from fresh reads: its node's neighbours
// point back at it. asyncio unlinks a task (clearing its node's links) when it finishes, after
// which its memory may be freed and reused.
func (w *walker) linked(task uint64) (bool, error) {
	ln := &w.o.LListNode
	node := task + w.a.TaskObject.TaskNode
	var nb, xb [16]byte
	if err := w.p.mem.ReadAt(nb[:], node); err != nil {
		return false, ignoreTorn(err)
	}
	next, prev := binary.LittleEndian.Uint64(nb[ln.Next:]), binary.LittleEndian.Uint64(nb[ln.Prev:])
	if next == 0 || prev == 0 {
		return false, nil
	}
	if err := w.p.mem.ReadAt(xb[:], next); err != nil {
		return false, ignoreTorn(err)
	}
	if binary.LittleEndian.Uint64(xb[ln.Prev:]) != node {
		return false, nil
	}
	if err := w.p.mem.ReadAt(xb[:], prev); err != nil {
		return false, ignoreTorn(err)
	}
	return binary.LittleEndian.Uint64(xb[ln.Next:]) == node, nil
}

// ignoreTorn passes on errors that end the snapshot and drops those of a target that changed.
func ignoreTorn(err error) error {
	if retryable(err) {
		return nil
	}
	return err
}

// stillListed checks every task read (step 3 above) against one fresh copy of the list nodes and
// heads, taken together after all tasks were read. A task whose fields changed is read once more;
// one that left its list is marked as not ok.
func (w *walker) stillListed(listed []listedTask, heads []uint64, running map[uint64]bool) error {
	var pages []uint64
	addPages := func(addr uint64, n uint64) {
		for p := addr &^ (pageSize - 1); p < addr+n; p += pageSize {
			// Nodes of consecutive tasks mostly share pages: one entry each, not one a node.
			if len(pages) == 0 || pages[len(pages)-1] != p {
				pages = append(pages, p)
			}
		}
	}
	for i := range listed {
		lt := &listed[i]
		if !lt.ok {
			continue
		}
		addPages(lt.node, 16)
	}
	for _, h := range heads {
		addPages(h, 16)
	}
	slices.Sort(pages)
	if err := w.mem.copyPages(slices.Compact(pages), overwriteCopies); err != nil {
		return err
	}
	w.mem.lastAddr = ^uint64(0)
	var positions map[uint64]listPos // built if a node moved (see linkedInCache)
	for i := range listed {
		lt := &listed[i]
		if !lt.ok {
			continue
		}
		ok, err := w.linkedInCache(lt, &positions, listed)
		if err == nil && ok {
			// The same task, or another one since created at its address? The fields read
			// through must still be there; a task whose fields changed is read once more.
			var same bool
			if same, err = w.sameHeader(lt); err == nil && !same {
				ok, err = w.rereadTask(lt, running)
			}

		}
		if err != nil {
			return err
		}
		lt.ok = ok
	}
	return nil
}

// listPos is where a node was in the task lists as they were read: the list (by its head) and
// the index (0 for the head).
type listPos struct {
	head  uint64
	index int
}

// linkedInCache reports whether the cached copy of a task's node shows it in its list: its
// neighbours point back at it, and the node before it is one that preceded it when the lists
// were read. (Tasks are only ever added at the end of a list, so a task that stayed in its list
// is preceded by its list's head or by a node that preceded it then; a node anywhere else is a
// new task, made at the address of one that finished.) A neighbour whose page was copied earlier
// than the node's is copied again before it is judged.
func (w *walker) linkedInCache(lt *listedTask, positions *map[uint64]listPos, listed []listedTask) (bool, error) {
	ln := &w.o.LListNode
	node := lt.node
	nb, err := w.mem.view(node, 16)
	if err != nil {
		return false, ignoreTorn(err)
	}
	next, prev := le64(nb, ln.Next), le64(nb, ln.Prev)
	if next == 0 || prev == 0 {
		return false, nil
	}
	if prev != lt.prevNode {
		if *positions == nil {
			*positions = make(map[uint64]listPos, len(listed))
			for _, o := range listed {
				(*positions)[o.head] = listPos{head: o.head}
				(*positions)[o.node] = listPos{head: o.head, index: o.index}
			}
		}
		if pp, ok := (*positions)[prev]; !ok || pp.head != lt.head || pp.index >= lt.index {
			return false, nil
		}
	}
	for _, nbr := range [2]struct{ addr, field uint64 }{{next, ln.Prev}, {prev, ln.Next}} {
		points := func() (bool, error) {
			b, err := w.mem.view(nbr.addr, 16)
			if err != nil {
				return false, ignoreTorn(err)
			}
			return le64(b, nbr.field) == node, nil
		}
		ok, err := points()
		if err == nil && !ok {
			if err = w.mem.refresh(nbr.addr, 16); err == nil {
				ok, err = points()
			}
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// sameHeader reports whether the cached copy of a task shows the fields it was read through.
func (w *walker) sameHeader(lt *listedTask) (bool, error) {
	to := &w.a.TaskObject
	tb, err := w.mem.view(lt.addr, int(to.Size))
	if err != nil {
		return false, ignoreTorn(err)
	}
	h := &lt.header
	if tb[to.TaskIsTask] == 0 || le64(tb, to.TaskName)&^w.l.TagBits != h.name ||
		le64(tb, to.TaskCoro)&^w.l.TagBits != h.coro || le64(tb, to.TaskAwaitedBy)&^w.l.TagBits != h.awaitedBy ||
		tb[to.TaskAwaitedByIsSet] != h.awaitedBySet {
		return false, nil
	}
	return true, nil
}

// rereadTask reads a task again whose fields changed while the snapshot was taken, from fresh
// copies, and keeps it if a fresh copy taken right after shows the same fields again and it is
// still in its list.
func (w *walker) rereadTask(lt *listedTask, running map[uint64]bool) (bool, error) {
	if err := w.mem.refresh(lt.addr, int(w.a.TaskObject.Size)); err != nil {
		return false, err
	}
	if coro := lt.header.coro; coro != 0 {
		if err := w.mem.refresh(coro, int(w.o.GenObject.Size+w.o.InterpreterFrame.Size)); err != nil {
			return false, err
		}
	}
	w.forget(lt.task)
	w.reread = true
	if err := w.stableTask(lt, running); err != nil || !lt.ok {
		return false, err
	}
	if err := w.mem.refresh(lt.addr, int(w.a.TaskObject.Size)); err != nil {
		return false, err
	}
	if same, err := w.sameHeader(lt); err != nil || !same {
		return false, err
	}
	return w.linked(lt.addr)
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
