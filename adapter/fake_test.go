package adapter

import (
	"os"
	"time"

	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// fakeServer is a server whose every attach opens f.
func fakeServer(f *faketarget.Target, cfg Config) *Server {
	cfg.Attach = f.Attach
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
		PythonVersion: faketarget.PythonVersion,
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
