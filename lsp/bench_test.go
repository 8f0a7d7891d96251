package lsp

import (
	"strconv"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
)

const benchTasks = 10000

// recompute is what the server does with a new snapshot before answering requests: tracking
// it (waits, stuck tasks, blocked loops), the view, the diagnostics, the lenses of an open
// document and their sum to tell whether they changed.
func recompute(snap *snapshot.Snapshot, paths *srcpath.Resolver, w *watch, doc string) int {
	v := buildView(snap, paths, w.observe(snap, nil))
	r := renderer{}
	r.diagnostics(v, true)
	lensHash(v, map[string]string{fileURI(doc): doc})
	return len(r.codeLenses(v, doc))
}

// BenchmarkRecompute10k: lenses and diagnostics after a snapshot of 10,000 tasks — many.py's,
// all waiting on one line, and a made-up one spread over 200 lines of 20 files with a cycle.
func BenchmarkRecompute10k(b *testing.B) {
	for _, version := range versions {
		b.Run("many.py/"+version, func(b *testing.B) {
			tg := testtarget.Start(b, version, "many.py", strconv.Itoa(benchTasks))
			proc, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			if err != nil {
				b.Fatal(err)
			}
			snap, err := proc.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			paths, waits, doc := srcpath.New(tg.PID), newWatch(DefaultStuckThreshold, tracking.DefaultBlockThreshold, true), testtarget.ScenarioPath("many.py")
			if recompute(snap, paths, waits, doc) != 2 {
				b.Fatal("no lens on many.py")
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				recompute(snap, paths, waits, doc)
			}
		})
	}
	b.Run("stuck", func(b *testing.B) {
		// Every task stuck: 200 warnings, each naming a few of 50 tasks.
		snap := spreadSnapshot(benchTasks)
		for i := range snap.Tasks {
			snap.Tasks[i].Frames = snap.Tasks[i].Frames[1:]
		}
		paths, w := srcpath.New(0), newWatch(time.Second, tracking.DefaultBlockThreshold, true)
		at := snap.CapturedAt
		next := func() *snapshot.Snapshot {
			s := *snap
			at = at.Add(DefaultRefreshInterval)
			s.CapturedAt = at
			return &s
		}
		recompute(next(), paths, w, "/srv/app/mod3.py")
		if v := buildView(next(), paths, w.observe(next(), nil)); len(v.problems) != 201 {
			b.Fatalf("%d problems, want 200 stuck places and a cycle", len(v.problems))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			recompute(next(), paths, w, "/srv/app/mod3.py")
		}
	})
	b.Run("spread", func(b *testing.B) {
		snap := spreadSnapshot(benchTasks)
		paths, waits := srcpath.New(0), newWatch(DefaultStuckThreshold, tracking.DefaultBlockThreshold, true)
		if recompute(snap, paths, waits, "/srv/app/mod3.py") < 10 {
			b.Fatal("no lenses")
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			recompute(snap, paths, waits, "/srv/app/mod3.py")
		}
	})
}

// spreadSnapshot makes n tasks waiting in 200 places (chains of three frames in 20 files), the
// first two in an await cycle. As the inspector does, tasks at the same places share a chain.
func spreadSnapshot(n int) *snapshot.Snapshot {
	chains := make([][]snapshot.Frame, 200)
	for i := range chains {
		file := "/srv/app/mod" + strconv.Itoa(i%20) + ".py"
		chains[i] = []snapshot.Frame{
			fr("sleep", stdlibTasks, 718, 8, 20),
			fr("leaf"+strconv.Itoa(i), file, 10+i, 4, 30),
			fr("handler", file, 5, 8, 40),
		}
	}
	tasks := make([]snapshot.Task, n)
	for i := range tasks {
		tasks[i] = task(uint64(0x1000+i), "Task-"+strconv.Itoa(i), chains[i%len(chains)], awaitedBy(0x1000))
	}
	tasks[0].AwaitedBy = []snapshot.Awaiter{awaitedBy(0x1001)}
	tasks[1].AwaitedBy = []snapshot.Awaiter{awaitedBy(0x1000)}
	return fakeSnapshot(tasks...)
}

// BenchmarkRefresh10k: one refresh of a session attached to many.py with 10,000 tasks, as its
// refresh loop does it — snapshot, recompute, publish — with a document open.
func BenchmarkRefresh10k(b *testing.B) {
	for _, version := range versions {
		b.Run(version, func(b *testing.B) {
			tg := testtarget.Start(b, version, "many.py", strconv.Itoa(benchTasks))
			c := startClient(b, NewServer(Config{}))
			c.initialize(map[string]any{"processId": tg.PID, "refreshInterval": 0}, nil)
			uri := c.open(testtarget.ScenarioPath("many.py"))
			c.WaitNote("window/logMessage", nil) // attached
			if err := c.Call("workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}, nil); err != nil {
				b.Fatal(err)
			}
			if len(c.lenses(uri)) != 2 {
				b.Fatal("lenses of many.py")
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Call("workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIdleCPU10k reports the CPU time a session uses, as a share of one core, while it
// refreshes at the default interval with a document open: run with -benchtime=5x (10 s). The
// target is many.py with 10,000 tasks, its loop idle; "loops-sampled" samples its threads for
// blocked loops as the server does by default, "unsampled" has blockedThreshold 0; "busy-loop"
// samples a small program whose loop is always busy.
func BenchmarkIdleCPU10k(b *testing.B) {
	for _, bc := range []struct {
		name     string
		scenario []string
		opts     map[string]any
	}{
		{"loops-sampled", []string{"many.py", strconv.Itoa(benchTasks)}, map[string]any{}},
		{"unsampled", []string{"many.py", strconv.Itoa(benchTasks)}, map[string]any{"blockedThreshold": 0}},
		// health.py's loop is never idle (a task creates tasks every 2 ms): samples come at the
		// busy rate all the time.
		{"busy-loop", []string{"health.py", "1", ""}, map[string]any{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tg := testtarget.Start(b, "3.14", bc.scenario[0], bc.scenario[1:]...)
			c := startClient(b, NewServer(Config{}))
			bc.opts["processId"] = tg.PID
			c.initialize(bc.opts, nil)
			uri := c.open(testtarget.ScenarioPath(bc.scenario[0]))
			c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) >= 2 })
			start, cpu0 := time.Now(), testtarget.OwnCPU(b)
			for i := 0; i < b.N; i++ {
				time.Sleep(DefaultRefreshInterval)
				c.lenses(uri) // as an editor asks again after each refresh
			}
			wall, cpu := time.Since(start), testtarget.OwnCPU(b)-cpu0
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu")
		})
	}
}
