package live_test

import (
	"context"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/tracking/live"
)

// BenchmarkWatch10k watches a 10,000-task target as aioscope watch --json does — a snapshot
// every second, loop samples 100 times a second, a summary line per snapshot (written to
// io.Discard) — for 10 s per op, and reports the CPU it took as a share of one core.
func BenchmarkWatch10k(b *testing.B) {
	for _, version := range versions {
		b.Run(version, func(b *testing.B) {
			tg := testtarget.Start(b, version, "many.py", "10000")
			var cpu, wall time.Duration
			var stats live.Stats
			for i := 0; i < b.N; i++ {
				m, err := live.Attach(tg.PID, live.Config{SummaryWaits: live.LinesTop})
				if err != nil {
					b.Fatal(err)
				}
				lines := live.NewLines(io.Discard)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c0, w0 := testtarget.OwnCPU(b), time.Now()
				err = m.Run(ctx, func(e live.Event) {
					if err := lines.Write(e); err != nil {
						b.Error(err)
					}
				})
				cpu, wall = cpu+testtarget.OwnCPU(b)-c0, wall+time.Since(w0)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				stats = m.Stats()
			}
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu")
			b.ReportMetric(float64(stats.Samples)/10, "samples/s")
			b.ReportMetric(float64(stats.Snapshots)/10, "snapshots/s")
		})
	}
}

// BenchmarkBlockReport measures how long after a 300 ms block of the loop ends (by the target's
// own clock) the Monitor reports it.
func BenchmarkBlockReport(b *testing.B) {
	for _, version := range versions {
		b.Run(version, func(b *testing.B) {
			var lates []time.Duration
			for i := 0; i < b.N; i++ {
				tg := testtarget.Start(b, version, "health.py", "60", "300,300,300,300", "0.5")
				m, err := live.Attach(tg.PID, live.Config{})
				if err != nil {
					b.Fatal(err)
				}
				var reported []time.Time
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
				err = m.Run(ctx, func(e live.Event) {
					if e.Kind == live.LoopBlocked {
						reported = append(reported, time.Now())
					}
				})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				truth := testtarget.Printed(b, tg.Stdout(), "BLOCK")
				if len(truth) != len(reported) {
					b.Fatalf("%d blocks, %d reported", len(truth), len(reported))
				}
				for k := range truth {
					lates = append(lates, reported[k].Sub(testtarget.UnixTime(truth[k][1])))
				}
			}
			sort.Slice(lates, func(i, j int) bool { return lates[i] < lates[j] })
			b.ReportMetric(float64(lates[len(lates)/2].Microseconds())/1000, "ms-median-late")
			b.ReportMetric(float64(lates[len(lates)-1].Microseconds())/1000, "ms-max-late")
		})
	}
}
