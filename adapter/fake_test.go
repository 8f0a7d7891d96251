package adapter

import (
	"os"
	"sync"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// fakeTarget serves snapshots made up by a test. Its PID is the test process's own, which is
// alive for as long as the test runs.
type fakeTarget struct {
	mu    sync.Mutex
	snaps []*snapshot.Snapshot // served in order; the last one over and over
	err   error                // returned instead of a snapshot when set
	panic any                  // Snapshot panics with it when set
	calls int
}

func (f *fakeTarget) PID() int              { return os.Getpid() }
func (f *fakeTarget) PythonVersion() string { return "3.15.2" }
func (f *fakeTarget) Snapshot() (*snapshot.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.panic != nil {
		f.calls++
		panic(f.panic)
	}
	s := f.snaps[min(f.calls, len(f.snaps)-1)]
	f.calls++
	return s, nil
}

func fakeServer(f *fakeTarget, cfg Config) *Server {
	cfg.Attach = func(pid int, opts inspector.Options) (Target, error) { return f, nil }
	return NewServer(cfg)
}

func fr(function, file string, line, col int) snapshot.Frame {
	return snapshot.Frame{Function: function, File: file, Line: line, HasLine: line != 0, EndLine: -1, Column: col, EndColumn: -1}
}

func task(id uint64, name string, frames []snapshot.Frame, awaitedBy ...snapshot.Awaiter) snapshot.Task {
	return snapshot.Task{ID: id, Name: name, TID: uint64(os.Getpid()), Frames: frames, AwaitedBy: awaitedBy}
}

func awaiter(id uint64, isTask bool, frames ...snapshot.Frame) snapshot.Awaiter {
	return snapshot.Awaiter{ID: id, IsTask: isTask, Frames: frames}
}

func fakeSnapshot(tasks ...snapshot.Task) *snapshot.Snapshot {
	return &snapshot.Snapshot{
		PID:           os.Getpid(),
		PythonVersion: "3.15.2",
		CapturedAt:    time.Now(),
		Threads: []snapshot.Thread{{TID: uint64(os.Getpid()), ThreadID: 1234, Main: true, HasLoop: true,
			Frames: []snapshot.Frame{fr("EpollSelector.select", "/usr/lib/python3.15/selectors.py", 452, 32)}}},
		Tasks:  tasks,
		Cycles: cycles.Find(tasks),
	}
}

const (
	stdlibTasks = "/usr/lib/python3.15/asyncio/tasks.py"
	appMain     = "/srv/app/main.py"
)
