package cpython

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestParseAsyncioOffsetsReal(t *testing.T) {
	tests := []struct {
		version string
		want    AsyncioOffsets
	}{
		{"3.14.10", AsyncioOffsets{
			TaskObject:       TaskObjectOffsets{Size: 168, TaskName: 136, TaskAwaitedBy: 96, TaskIsTask: 108, TaskAwaitedByIsSet: 109, TaskCoro: 128, TaskNode: 152},
			InterpreterState: AsyncioInterpreterStateOffsets{Size: 225864, AsyncioTasksHead: 10880},
			ThreadState:      AsyncioThreadStateOffsets{Size: 936, AsyncioRunningLoop: 864, AsyncioRunningTask: 872, AsyncioTasksHead: 880},
		}},
		{"3.15.2", AsyncioOffsets{
			TaskObject:       TaskObjectOffsets{Size: 168, TaskName: 136, TaskAwaitedBy: 96, TaskIsTask: 108, TaskAwaitedByIsSet: 109, TaskCoro: 128, TaskNode: 152},
			InterpreterState: AsyncioInterpreterStateOffsets{Size: 226240, AsyncioTasksHead: 10856},
			ThreadState:      AsyncioThreadStateOffsets{Size: 1104, AsyncioRunningLoop: 1024, AsyncioRunningTask: 1032, AsyncioTasksHead: 1048},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			a, err := ParseAsyncioOffsets(asyncioDebugBytes(t, tt.version), realOffsets(t, tt.version))
			if err != nil {
				t.Fatal(err)
			}
			if *a != tt.want {
				t.Errorf("got  %+v\nwant %+v", *a, tt.want)
			}
		})
	}
}

// withAsyncioEntry returns a copy of the 104-byte table with entry i (0..12) replaced.
func withAsyncioEntry(b []byte, i int, v uint64) []byte {
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(out[8*i:], v)
	return out
}

func TestParseAsyncioOffsetsErrors(t *testing.T) {
	d14 := realOffsets(t, "3.14.10")
	d15 := realOffsets(t, "3.15.2")
	a14 := asyncioDebugBytes(t, "3.14.10")
	a15 := asyncioDebugBytes(t, "3.15.2")
	tests := []struct {
		name    string
		b       []byte
		d       *DebugOffsets
		errText string
	}{
		{"nil interpreter table", a15, nil, "no interpreter debug offsets"},
		{"short", a15[:103], d15, "table is 103 bytes, need 104"},
		{"empty", nil, d15, "table is 0 bytes"},
		{"all zero", make([]byte, 104), d15, "asyncio_task_object.size must be greater than zero"},
		{"3.14 module in a 3.15 interpreter", a14, d15, "asyncio_interpreter_state.size=225864 differs from interpreter_state.size=226240 of Python 3.15.2"},
		{"3.15 table in a 3.14 interpreter", a15, d14, "differs from interpreter_state.size=225864 of Python 3.14.10"},
		{"task too big", withAsyncioEntry(a15, 0, 4097), d15, "asyncio_task_object.size=4097 exceeds the 4096-byte limit"},
		{"task name misaligned", withAsyncioEntry(a15, 1, 137), d15, "asyncio_task_object.task_name=137 is not aligned to 8 bytes"},
		{"task name past the task", withAsyncioEntry(a15, 1, 168), d15, "asyncio_task_object.task_name=168 with width 8 exceeds asyncio_task_object.size 168"},
		{"awaited_by past the task", withAsyncioEntry(a15, 2, 4096), d15, "asyncio_task_object.task_awaited_by=4096"},
		{"is_task past the task", withAsyncioEntry(a14, 3, 168), d14, "asyncio_task_object.task_is_task=168 with width 1"},
		{"is_set past the task", withAsyncioEntry(a14, 4, 1<<40), d14, "asyncio_task_object.task_awaited_by_is_set="},
		{"coro misaligned", withAsyncioEntry(a14, 5, 130), d14, "asyncio_task_object.task_coro=130 is not aligned"},
		{"node overflows the task", withAsyncioEntry(a15, 6, 160), d15, "asyncio_task_object.task_node=160 with width 16 exceeds asyncio_task_object.size 168"},
		{"interpreter size zero", withAsyncioEntry(a15, 7, 0), d15, "asyncio_interpreter_state.size must be greater than zero"},
		{"interpreter head past the end", withAsyncioEntry(a15, 8, 226232), d15, "asyncio_interpreter_state.asyncio_tasks_head=226232 with width 16"},
		{"interpreter head misaligned", withAsyncioEntry(a15, 8, 10860), d15, "asyncio_interpreter_state.asyncio_tasks_head=10860 is not aligned"},
		{"thread state too big", withAsyncioEntry(a15, 9, 1<<17), d15, "asyncio_thread_state.size=131072 exceeds"},
		{"thread state smaller than PyThreadState", withAsyncioEntry(withAsyncioEntry(withAsyncioEntry(withAsyncioEntry(a15, 9, 800), 10, 0), 11, 8), 12, 16), d15,
			"asyncio_thread_state.size=800 is smaller than thread_state.size=888"},
		{"running loop past the thread", withAsyncioEntry(a15, 10, 1104), d15, "asyncio_thread_state.asyncio_running_loop=1104"},
		{"running task misaligned", withAsyncioEntry(a14, 11, 873), d14, "asyncio_thread_state.asyncio_running_task=873 is not aligned"},
		{"thread head overflows", withAsyncioEntry(a14, 12, 928), d14, "asyncio_thread_state.asyncio_tasks_head=928 with width 16 exceeds asyncio_thread_state.size 936"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAsyncioOffsets(tt.b, tt.d)
			if a != nil || !errors.Is(err, ErrInvalidAsyncioOffsets) {
				t.Fatalf("= %+v, %v; want ErrInvalidAsyncioOffsets", a, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid asyncio debug offsets: ") || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.errText)
			}
		})
	}
}

func TestParseAsyncioOffsetsIgnoresTrailingBytes(t *testing.T) {
	b := append(asyncioDebugBytes(t, "3.15.2"), 0xff, 0xff, 0xff)
	if _, err := ParseAsyncioOffsets(b, realOffsets(t, "3.15.2")); err != nil {
		t.Fatal(err)
	}
}
