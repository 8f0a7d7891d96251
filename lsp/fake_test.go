package lsp

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// fakeServer is a server whose every attach opens f.
func fakeServer(f *faketarget.Target) *Server {
	return NewServer(Config{Attach: f.Attach})
}

// fakeSession starts a client of a fakeServer whose target serves snap, initialized to attach to
// it and refresh every refreshMs milliseconds (0: only when asked).
func fakeSession(t *testing.T, snap *snapshot.Snapshot, refreshMs int) (*faketarget.Target, *testClient) {
	t.Helper()
	f := faketarget.New(snap)
	c := startClient(t, fakeServer(f))
	c.initialize(map[string]any{"processId": 5, "refreshInterval": refreshMs}, nil)
	return f, c
}

func fr(function, file string, line, col, endCol int) snapshot.Frame {
	return snapshot.Frame{Function: function, File: file, Line: line, HasLine: line != 0, EndLine: line, Column: col, EndColumn: endCol}
}

func task(id uint64, name string, frames []snapshot.Frame, awaitedBy ...snapshot.Awaiter) snapshot.Task {
	return snapshot.Task{ID: id, Name: name, TID: uint64(os.Getpid()), Frames: frames, AwaitedBy: awaitedBy}
}

func awaitedBy(id uint64) snapshot.Awaiter { return snapshot.Awaiter{ID: id, IsTask: true} }

func fakeSnapshot(tasks ...snapshot.Task) *snapshot.Snapshot {
	return &snapshot.Snapshot{PID: os.Getpid(), PythonVersion: faketarget.PythonVersion, CapturedAt: time.Now(), Tasks: tasks, Cycles: cycles.Find(tasks)}
}

const stdlibTasks = "/usr/lib/python3.15/asyncio/tasks.py"

// sourceFile writes a Python file for fake frames to point at, so that columns convert.
func sourceFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.py")
	src := "import asyncio\n" + // 1
		"async def worker(n):\n" + // 2
		"    await asyncio.sleep(n)\n" + // 3
		"async def stuck(ż):\n" + // 4
		"    ż = 'ż'; await fut\n" + // 5
		"async def main():\n" + // 6
		"    await asyncio.gather(*ws)\n" // 7
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// workers is a snapshot of n workers at line 3 of file, awaited by main at line 7.
func workers(file string, n int) *snapshot.Snapshot {
	mainFrames := []snapshot.Frame{fr("main", file, 7, 4, 29)}
	wf := []snapshot.Frame{fr("sleep", stdlibTasks, 718, 8, 20), fr("worker", file, 3, 4, 26)}
	tasks := []snapshot.Task{task(1, "main", mainFrames)}
	for i := 0; i < n; i++ {
		tasks = append(tasks, task(uint64(0x100+i), "worker-"+itoa(i), wf, awaitedBy(1)))
	}
	return fakeSnapshot(tasks...)
}

// cycleSnapshot has tasks A and B awaiting each other at line 5 of file, and a worker.
func cycleSnapshot(file string) *snapshot.Snapshot {
	sf := []snapshot.Frame{fr("stuck", file, 5, 14, 23)}
	return fakeSnapshot(
		task(0xa, "A", sf, awaitedBy(0xb)),
		task(0xb, "B", []snapshot.Frame{fr("stuck", file, 5, 14, 23)}, awaitedBy(0xa)),
		task(0xc, "w", []snapshot.Frame{fr("worker", file, 3, 4, 26)}),
	)
}

func itoa(i int) string { return string(rune('0'+i/10%10)) + string(rune('0'+i%10)) }
