package inspector

import (
	"encoding/binary"

	"github.com/aioscope/aioscope/inspector/internal/snapmem"
)

// stillListed checks every task read (step 3 of tasks.go) against one fresh copy of the list nodes
// and heads, taken together after all tasks were read. A task whose fields changed is read once
// more; one that left its list is marked as not ok.
func (w *walker) stillListed(listed []listedTask, lists []taskList, running map[uint64]bool) error {
	spans := func(yield func(snapmem.Span) bool) {
		for i := range listed {
			if listed[i].ok && !yield(snapmem.Span{Addr: listed[i].node, N: 16}) {
				return
			}
		}
		for _, l := range lists {
			if !yield(snapmem.Span{Addr: l.head, N: 16}) {
				return
			}
		}
	}
	if err := w.mem.RefreshEach(spans); err != nil {
		return err
	}
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

// maxLinkChecks bounds how often the check that a task is in its list looks again at its node
// and the node before it after that one did not point back: the task before it may have
// finished meanwhile, and the copies of both must be taken together to show them linked.
const maxLinkChecks = 4

// linkedInCache reports whether the cached copy of a task's node shows it in its list: its links
// are set (asyncio clears a node's links when its task finishes), the node before it is one that
// preceded it when the lists were read, and that node points back at it. (Tasks are only ever
// added at the end of a list, so a task that stayed in its list is preceded by its list's head or
// by a node that preceded it then; a node anywhere else is a new task, made at the address of one
// that finished.) The node after it is not asked: a task next to a stream of short-lived ones
// gets a new one there between any two reads. When the node before does not point back, both
// are copied again, together, and judged again.
func (w *walker) linkedInCache(lt *listedTask, positions *map[uint64]listPos, listed []listedTask) (bool, error) {
	ln := &w.o.LListNode
	node := lt.node
	for try := 1; ; try++ {
		nb, err := w.any.Read(node, 16)
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
		pb, err := w.any.Read(prev, 16)
		if err != nil {
			return false, ignoreTorn(err)
		}
		if le64(pb, ln.Next) == node {
			return true, nil
		}
		if try == maxLinkChecks {
			return false, nil
		}
		if err := w.mem.RefreshAll([]snapmem.Span{{Addr: node, N: 16}, {Addr: prev, N: 16}}); err != nil {
			return false, err
		}
	}
}

// sameHeader reports whether the cached copy of a task shows the fields it was read through.
func (w *walker) sameHeader(lt *listedTask) (bool, error) {
	to := &w.a.TaskObject
	tb, err := w.any.Read(lt.addr, int(to.Size))
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
	if err := w.mem.Refresh(lt.addr, int(w.a.TaskObject.Size)); err != nil {
		return false, err
	}
	if coro := lt.header.coro; coro != 0 {
		if err := w.mem.Refresh(coro, int(w.o.GenObject.Size+w.o.InterpreterFrame.Size)); err != nil {
			return false, err
		}
	}
	w.forget(lt.task)
	w.chains.mixed = true
	if err := w.stableTask(lt, running); err != nil || !lt.ok {
		return false, err
	}
	if err := w.mem.Refresh(lt.addr, int(w.a.TaskObject.Size)); err != nil {
		return false, err
	}
	if same, err := w.sameHeader(lt); err != nil || !same {
		return false, err
	}
	return w.linked(lt.addr)
}

// linked reports whether a task is still in a task list, as the target is now: its node's links
// are set and the node before it points back at it (see linkedInCache). asyncio unlinks a task
// (clearing its node's links) when it finishes, after which its memory may be freed and reused.
func (w *walker) linked(task uint64) (bool, error) {
	ln := &w.o.LListNode
	node := task + w.a.TaskObject.TaskNode
	var nb, pb [16]byte
	for try := 1; ; try++ {
		if err := w.mem.ReadNow(nb[:], node); err != nil {
			return false, ignoreTorn(err)
		}
		next, prev := binary.LittleEndian.Uint64(nb[ln.Next:]), binary.LittleEndian.Uint64(nb[ln.Prev:])
		if next == 0 || prev == 0 {
			return false, nil
		}
		if err := w.mem.ReadNow(pb[:], prev); err != nil {
			return false, ignoreTorn(err)
		}
		if binary.LittleEndian.Uint64(pb[ln.Next:]) == node {
			return true, nil
		}
		if try == maxLinkChecks {
			return false, nil
		}
	}
}
