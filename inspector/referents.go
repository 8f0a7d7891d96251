package inspector

import (
	"github.com/aioscope/aioscope/inspector/internal/snapmem"
)

// What a batch of tasks leads to, for the prefetch (snapmem.Cache.Prefetch): first the names,
// coroutines and awaiters the task objects point at, then what each suspended coroutine awaits,
// then that object's coroutine, and so on — the objects the walk of the tasks will read, in the
// order it reads them. Nothing is checked beyond what makes the reads safe: the walk checks.

// Kinds of objects queued for prefetching, and so what each leads to (snapmem.Leaf: nothing).
const (
	taskObject      uint8 = iota + 1 // a task: its name, coroutine and awaiters
	coroutineObject                  // a coroutine with its frame: what it awaits
	awaitSlot                        // a suspended frame's stack slot holding what it awaits
	awaitedObject                    // something awaited: a coroutine leads on, a future ends
)

// taskRoots returns the prefetch roots for a batch of listed tasks.
// The slice is the walker's, used again for every batch.
func (w *walker) taskRoots(batch []listedTask) []snapmem.Object {
	w.roots = w.roots[:0]
	for i := range batch {
		w.roots = append(w.roots, snapmem.Object{Addr: batch[i].addr, Size: uint32(w.a.TaskObject.Size), Kind: taskObject})
	}
	return w.roots
}

// referents implements snapmem.Referents for the kinds above.
func (w *walker) referents(refs []snapmem.Object, o snapmem.Object, b []byte) []snapmem.Object {
	switch o.Kind {
	case taskObject:
		to := &w.a.TaskObject
		if b[to.TaskIsTask] == 0 {
			return refs
		}
		if name := le64(b, to.TaskName) &^ w.l.TagBits; name != 0 {
			refs = append(refs, snapmem.Object{Addr: name, Size: w.nameSpan(), Kind: snapmem.Leaf})
		}
		if coro := le64(b, to.TaskCoro) &^ w.l.TagBits; coro != 0 {
			refs = append(refs, snapmem.Object{Addr: coro, Size: w.coroSpan(), Kind: coroutineObject})
		}
		if by := le64(b, to.TaskAwaitedBy) &^ w.l.TagBits; by != 0 {
			// A single awaiter is a task or future, read as one; a set is read from its
			// table, which the walk fetches.
			refs = append(refs, snapmem.Object{Addr: by, Size: uint32(max(to.Size, w.o.SetObject.Size)), Kind: snapmem.Leaf})
		}
	case coroutineObject:
		g, fo := &w.o.GenObject, &w.o.InterpreterFrame
		if int8(b[g.GiFrameState]) != w.l.FrameStateSuspendedYieldFrom ||
			int(b[g.GiIframe+fo.Owner]) != w.l.FrameOwnerGenerator {
			return refs
		}
		if slot, ok := w.awaitSlot(b[g.GiIframe:]); ok {
			refs = append(refs, snapmem.Object{Addr: slot, Size: 8, Kind: awaitSlot})
		}
	case awaitSlot:
		if obj := le64(b, 0) &^ w.l.TagBits; obj != 0 {
			// The type comes first in every object; an async generator's asend/athrow
			// wrapper holds the generator right after its header.
			refs = append(refs, snapmem.Object{Addr: obj, Size: uint32(w.l.AsyncGenWrappedOffset) + 8, Kind: awaitedObject})
		}
	case awaitedObject:
		if c, err := w.coroLike(w.any, o.Addr); err == nil && c != 0 {
			refs = append(refs, snapmem.Object{Addr: c, Size: w.coroSpan(), Kind: coroutineObject})
		}
	}
	return refs
}

// nameSpan is how much of a task's name the walk usually reads: a str header and a short
// name, or an int.
func (w *walker) nameSpan() uint32 {
	uo := &w.o.UnicodeObject
	return uint32(max(uo.ASCIIObjectSize, uo.Length+8, uo.State+4)) + 32
}
