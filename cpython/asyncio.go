package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AsyncioOffsetsSize is sizeof(_Py_AsyncioModuleDebugOffsets), the .AsyncioDebug section:
// 13 uint64 values, the same list in 3.14 and 3.15.
const AsyncioOffsetsSize = 104

// MaxTaskObjectSize caps the reported sizeof(TaskObj); CPython's reader copies a task into a
// buffer of this size.
const MaxTaskObjectSize = 4096

// ErrInvalidAsyncioOffsets is wrapped by every validation error of ParseAsyncioOffsets.
var ErrInvalidAsyncioOffsets = errors.New("invalid asyncio debug offsets")

// TaskObjectOffsets locates fields of _asyncio's TaskObj. TaskIsTask and TaskAwaitedByIsSet
// are chars; TaskNode is the struct llist_node linking the task into its thread's list.
type TaskObjectOffsets struct {
	Size, TaskName, TaskAwaitedBy, TaskIsTask, TaskAwaitedByIsSet, TaskCoro, TaskNode uint64
}

// AsyncioInterpreterStateOffsets locates the interpreter's list of tasks whose thread exited.
type AsyncioInterpreterStateOffsets struct {
	Size, AsyncioTasksHead uint64
}

// AsyncioThreadStateOffsets locates fields of _PyThreadStateImpl, relative to the PyThreadState
// address (the impl struct starts with the public one). Size is sizeof(_PyThreadStateImpl).
type AsyncioThreadStateOffsets struct {
	Size, AsyncioRunningLoop, AsyncioRunningTask, AsyncioTasksHead uint64
}

// AsyncioOffsets is a decoded and validated .AsyncioDebug table.
type AsyncioOffsets struct {
	TaskObject       TaskObjectOffsets
	InterpreterState AsyncioInterpreterStateOffsets
	ThreadState      AsyncioThreadStateOffsets
}

// asyncioSection is one C sub-struct of the table: its size entry, then its offsets.
type asyncioSection struct {
	name    string
	size    *uint64
	maxSize uint64
	fields  []asyncioField
}

// asyncioSections describes the table in order, pointing into a.
func asyncioSections(a *AsyncioOffsets) []asyncioSection {
	return []asyncioSection{
		{"asyncio_task_object", &a.TaskObject.Size, MaxTaskObjectSize, []asyncioField{
			{"task_name", &a.TaskObject.TaskName, ctPtr},
			{"task_awaited_by", &a.TaskObject.TaskAwaitedBy, ctPtr},
			{"task_is_task", &a.TaskObject.TaskIsTask, ctChar},
			{"task_awaited_by_is_set", &a.TaskObject.TaskAwaitedByIsSet, ctChar},
			{"task_coro", &a.TaskObject.TaskCoro, ctPtr},
			{"task_node", &a.TaskObject.TaskNode, ctPair},
		}},
		{"asyncio_interpreter_state", &a.InterpreterState.Size, MaxStateSize, []asyncioField{
			{"asyncio_tasks_head", &a.InterpreterState.AsyncioTasksHead, ctPair},
		}},
		{"asyncio_thread_state", &a.ThreadState.Size, MaxThreadStateSize, []asyncioField{
			{"asyncio_running_loop", &a.ThreadState.AsyncioRunningLoop, ctPtr},
			{"asyncio_running_task", &a.ThreadState.AsyncioRunningTask, ctPtr},
			{"asyncio_tasks_head", &a.ThreadState.AsyncioTasksHead, ctPair},
		}},
	}
}

// asyncioField is one offset of the table; ctPair stands for a 16-byte, 8-aligned llist_node.
type asyncioField struct {
	name string
	ptr  *uint64
	ct   cType
}

// ParseAsyncioOffsets decodes the .AsyncioDebug table (b holds at least AsyncioOffsetsSize
// bytes of it) and validates it against itself and against the interpreter's own table d, as
// CPython's reader does: sizes are non-zero and capped, every offset is aligned and fits with
// its width inside its struct, and the interpreter-state size must equal d's, since a mismatch
// means the table was found in a module built for another interpreter.
func ParseAsyncioOffsets(b []byte, d *DebugOffsets) (*AsyncioOffsets, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: no interpreter debug offsets to check them against", ErrInvalidAsyncioOffsets)
	}
	if len(b) < AsyncioOffsetsSize {
		return nil, fmt.Errorf("%w: table is %d bytes, need %d", ErrInvalidAsyncioOffsets, len(b), AsyncioOffsetsSize)
	}
	a := &AsyncioOffsets{}
	secs := asyncioSections(a)
	i := 0
	for _, s := range secs {
		*s.size = binary.LittleEndian.Uint64(b[8*i:])
		i++
		for _, f := range s.fields {
			*f.ptr = binary.LittleEndian.Uint64(b[8*i:])
			i++
		}
	}
	for _, s := range secs {
		if err := checkSize(ErrInvalidAsyncioOffsets, s.name, *s.size, s.maxSize); err != nil {
			return nil, err
		}
		for _, f := range s.fields {
			width, align := f.ct.widthAlign(d)
			if err := checkField(ErrInvalidAsyncioOffsets, s.name+"."+f.name, *f.ptr, width, align, *s.size, s.name+".size"); err != nil {
				return nil, err
			}
		}
	}
	if a.InterpreterState.Size != d.InterpreterState.Size {
		return nil, fmt.Errorf("%w: asyncio_interpreter_state.size=%d differs from interpreter_state.size=%d of Python %s (the table belongs to another interpreter build)",
			ErrInvalidAsyncioOffsets, a.InterpreterState.Size, d.InterpreterState.Size, d.Version)
	}
	if a.ThreadState.Size < d.ThreadState.Size {
		return nil, fmt.Errorf("%w: asyncio_thread_state.size=%d is smaller than thread_state.size=%d of Python %s (the table belongs to another interpreter build)",
			ErrInvalidAsyncioOffsets, a.ThreadState.Size, d.ThreadState.Size, d.Version)
	}
	return a, nil
}
