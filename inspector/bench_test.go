package inspector_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// BenchmarkSnapshot measures one full snapshot (threads, every task with its coroutine frames and
// awaiters, cycles) of targets with 10,000 and 100,000 pending tasks. `make bench` compares the
// same work with CPython's own reader; this benchmark isolates aioscope's part of it.
func BenchmarkSnapshot(b *testing.B) {
	for _, version := range []string{"3.14", "3.15"} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%dtasks", version, n), func(b *testing.B) {
				benchmarkSnapshot(b, version, n, inspector.Options{Retries: inspector.DefaultRetries})
			})
		}
	}
}

// BenchmarkSnapshotLocals is BenchmarkSnapshot at 10,000 tasks with every frame's variables read
// too (ps --json --locals).
func BenchmarkSnapshotLocals(b *testing.B) {
	for _, version := range []string{"3.14", "3.15"} {
		b.Run(fmt.Sprintf("%s/10000tasks", version), func(b *testing.B) {
			benchmarkSnapshot(b, version, 10_000, inspector.Options{Retries: inspector.DefaultRetries, Locals: true})
		})
	}
}

func benchmarkSnapshot(b *testing.B, version string, n int, opts inspector.Options) {
	tg := testtarget.Start(b, version, "many.py", fmt.Sprint(n))
	p, err := inspector.Attach(tg.PID, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := testtarget.OwnCPU(b)
	for i := 0; i < b.N; i++ {
		s, err := p.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Tasks) != n+1 {
			b.Fatalf("snapshot has %d tasks, want %d", len(s.Tasks), n+1)
		}
	}
	// The CPU of every goroutine the snapshots ran on, helpers on a second processor included.
	b.ReportMetric(float64(testtarget.OwnCPU(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkAttach measures locating the runtime: reading /proc/PID/maps and the ELF headers of
// the mapped interpreter files, and validating the debug tables.
func BenchmarkAttach(b *testing.B) {
	tg := testtarget.Start(b, "3.15", "tree.py")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := inspector.Attach(tg.PID, inspector.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSampleThreads measures one thread sample (the threads and their current frames only)
// of a 10,000-task target: what watching an event loop costs per look.
func BenchmarkSampleThreads(b *testing.B) {
	tg := testtarget.Start(b, "3.15", "many.py", "10000")
	p, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.SampleThreads(); err != nil {
			b.Fatal(err)
		}
	}
}
