package adapter

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// The benchmarks read a live many.py process with 10,000 sleeping tasks (plus the main task).
// `go test -bench . -run '^$' ./adapter/` runs them.

const benchTasks = 10000

func benchTarget(b *testing.B, version string) *testtarget.Target {
	b.Helper()
	return testtarget.Start(b, version, "many.py", strconv.Itoa(benchTasks))
}

// BenchmarkThreadsStackTrace10k: what an editor asks for after a stop, a threads request and the
// stack of one task, over the protocol (a different task each time, so no stack is cached).
func BenchmarkThreadsStackTrace10k(b *testing.B) {
	for _, version := range versions {
		tg := benchTarget(b, version)
		for _, maxThreads := range []int{DefaultMaxThreads, 0} {
			b.Run(version+"/maxThreads="+strconv.Itoa(maxThreads), func(b *testing.B) {
				c := startSession(b, NewServer(Config{}))
				_, g := c.attachAndStop(map[string]any{"processId": tg.PID, "maxThreads": maxThreads})
				if len(g.Tasks) != benchTasks+1 {
					b.Fatalf("%d tasks, want %d", len(g.Tasks), benchTasks+1)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					threads := c.Threads()
					if len(threads) == 0 {
						b.Fatal("no threads")
					}
					st := c.StackTrace(g.Tasks[i%len(g.Tasks)].ThreadID, 0, 20)
					if len(st.StackFrames) == 0 {
						b.Fatal("empty stack")
					}
				}
				b.StopTimer()
				c.OK("disconnect", nil, nil)
			})
		}
	}
}

// BenchmarkRefresh10k: one refresh cycle as the refresh loop does it, a snapshot mapped to a view
// and published as the awaitGraph event, against BenchmarkSnapshot10k, the bare snapshot the CLI
// takes.
func BenchmarkRefresh10k(b *testing.B) {
	for _, version := range versions {
		tg := benchTarget(b, version)
		b.Run(version, func(b *testing.B) {
			s, out := benchSession(b, tg)
			var graph []byte
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v, err := s.takeSnapshot()
				if err != nil {
					b.Fatal(err)
				}
				graph = s.encodeGraph(v, graph[:0])
				s.publish(v, graph)
			}
			b.StopTimer()
			b.ReportMetric(float64(out.n)/float64(b.N), "event-bytes/op")
		})
	}
}

// BenchmarkPublish10k: the adapter's own share of a refresh cycle, without reading the target:
// mapping one snapshot to a view (thread ids, indexes) and encoding and writing the awaitGraph
// event.
func BenchmarkPublish10k(b *testing.B) {
	for _, version := range versions {
		tg := benchTarget(b, version)
		b.Run(version, func(b *testing.B) {
			s, _ := benchSession(b, tg)
			snap, err := s.target.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			var graph []byte
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.mu.Lock()
				v := newView(snap, &s.alloc)
				s.mu.Unlock()
				graph = s.encodeGraph(v, graph[:0])
				s.publish(v, graph)
			}
		})
	}
}

func BenchmarkSnapshot10k(b *testing.B) {
	for _, version := range versions {
		tg := benchTarget(b, version)
		b.Run(version, func(b *testing.B) {
			proc, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := proc.Snapshot(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchSession returns a session attached to tg's process, writing to a counter, as the refresh
// loop sees it.
func benchSession(b *testing.B, tg *testtarget.Target) (*session, *countingWriter) {
	b.Helper()
	proc, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	out := &countingWriter{}
	s := newSession(ctx, NewServer(Config{}), struct {
		io.Reader
		io.Writer
	}{nil, out})
	s.target, s.src = proc, newSourceResolver(tg.PID)
	s.watch = newWatch(DefaultStuckThreshold, DefaultBlockedThreshold)
	s.state.phase = running
	return s, out
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// BenchmarkFirstStop10k: what an editor waits for when it attaches, from initialize to the stack of
// the task the first stop shows, after the threads: attach (which reads the process once),
// configurationDone, the first stop's snapshot and events, the threads and one stack trace.
func BenchmarkFirstStop10k(b *testing.B) {
	for _, version := range versions {
		tg := benchTarget(b, version)
		b.Run(version, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c := startSession(b, NewServer(Config{}))
				stopped, _ := c.attachAndStop(map[string]any{"processId": tg.PID})
				if len(c.Threads()) == 0 {
					b.Fatal("no threads")
				}
				c.StackTrace(stopped.ThreadId, 0, 1)
				b.StopTimer()
				c.OK("disconnect", nil, nil)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkLiveRefreshCPU10k reports the CPU time `aioscope dap` uses, as a share of one core,
// while a client follows service.py's 10,000 tasks with a refresh every second (snapshot,
// awaitGraph, thread events): run with -benchtime=10x (10 s). The adapter is a process of its own,
// so the client's decoding is not counted.
func BenchmarkLiveRefreshCPU10k(b *testing.B) {
	tg := testtarget.Start(b, "3.14", "service.py", "9300", "700")
	cmd := exec.Command(testtarget.Binary(b), "dap")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := newClient(b, daptest.Stdio(stdin, stdout))
	c.attachAndStop(map[string]any{"processId": tg.PID, "refreshInterval": 1000})
	c.Threads()
	c.OK("continue", nil, nil)
	cpu0, start := processCPU(b, cmd.Process.Pid), time.Now()
	for i := 0; i < b.N; i++ {
		c.Drain(time.Second)
	}
	cpu, wall := processCPU(b, cmd.Process.Pid)-cpu0, time.Since(start)
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu")
}

// processCPU is the user and system time process pid has used: fields 14 and 15 of
// /proc/PID/stat, in clock ticks of 1/100 s (USER_HZ).
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	utime, err1 := strconv.ParseUint(fields[14-3], 10, 64)
	stime, err2 := strconv.ParseUint(fields[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %s", pid, data)
	}
	return time.Duration(utime+stime) * time.Second / 100
}

// BenchmarkValues10k: what an editor asks for when a frame is selected and hovered, on a target
// of 10,000 tasks (dapvalues.py with 10,000 sleepers): the variables of a frame of thirty
// arguments and locals (its two scopes, or one of them), and a hover's evaluate.
func BenchmarkValues10k(b *testing.B) {
	for _, version := range versions {
		vt := startValuesTarget(b, version, "--sleepers", strconv.Itoa(benchTasks))
		b.Run(version, func(b *testing.B) {
			c := startSession(b, NewServer(Config{}))
			_, g := c.attachAndStop(map[string]any{"processId": vt.tg.PID})
			if len(g.Tasks) < benchTasks {
				b.Fatalf("%d tasks, want more than %d", len(g.Tasks), benchTasks)
			}
			byName := map[string]int{}
			for _, t := range g.Tasks {
				byName[t.Name] = t.ThreadID
			}
			thirty := frameOf(b, c, byName, "thirty", "thirty")
			handle := frameOf(b, c, byName, "handler", "handle")
			scopes := c.Scopes(thirty.Id)
			if n := len(c.Variables(scopes[0].VariablesReference)) + len(c.Variables(scopes[1].VariablesReference)); n != 30 {
				b.Fatalf("thirty has %d variables", n)
			}
			b.Run("variables=30", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					c.Variables(scopes[0].VariablesReference)
					c.Variables(scopes[1].VariablesReference)
				}
			})
			b.Run("variables=25", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					c.Variables(scopes[1].VariablesReference)
				}
			})
			for _, h := range []struct {
				frame int
				expr  string
			}{{thirty.Id, "l9"}, {handle.Id, "point.tags[1]"}, {handle.Id, "len(big)"}, {handle.Id, "big[99999]"}} {
				b.Run("hover="+h.expr, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						evalOK(b, c, h.expr, h.frame, "hover")
					}
				})
			}
			// The Await Tree asks for the arguments of a task's frames when the task is opened.
			b.Run("frameArguments", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					c.OK("aioscope/frameArguments", map[string]any{"threadId": byName["handler"]}, nil)
				}
			})
			c.OK("disconnect", nil, nil)
		})
	}
}
