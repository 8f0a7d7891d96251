package adapter

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/aioscope/aioscope/inspector"
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
	s.state.phase = running
	return s, out
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
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
