package values_test

import (
	"testing"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// The benchmarks read a live CPython process: each iteration is one request of a client.

func BenchmarkFrame30Locals(b *testing.B) {
	for _, v := range versions {
		b.Run(v, func(b *testing.B) {
			var doc struct{ Frames []frameCase }
			tgt := startTarget(b, v, "values_frames.py", values.Limits{}, &doc)
			var addr uint64
			for _, c := range doc.Frames {
				if c.What == "thirty" {
					addr = tgt.frameAddr(c)
				}
			}
			b.ReportAllocs()
			mem := tgt.mem.(*procMemory)
			before := mem.reads
			for b.Loop() {
				vars, err := tgt.reader.Frame(addr)
				if err != nil || len(vars) != 30 {
					b.Fatalf("%d variables, %v", len(vars), err)
				}
			}
			b.ReportMetric(float64(mem.reads-before)/float64(b.N), "reads/op")
		})
	}
}

func BenchmarkList10000FirstPage(b *testing.B) {
	for _, v := range versions {
		b.Run(v, func(b *testing.B) {
			var doc struct {
				LongList uint64 `json:"long_list"`
			}
			tgt := startTarget(b, v, "values_frames.py", values.Limits{}, &doc)
			b.Run("Children", func(b *testing.B) {
				b.ReportAllocs()
				mem := tgt.mem.(*procMemory)
				before := mem.reads
				defer func() { b.ReportMetric(float64(mem.reads-before)/float64(b.N), "reads/op") }()
				for b.Loop() {
					kids, err := tgt.reader.Children(values.Ref(doc.LongList), 0, 100)
					if err != nil || len(kids) != 100 {
						b.Fatalf("%d children, %v", len(kids), err)
					}
				}
			})
			b.Run("Value", func(b *testing.B) {
				b.ReportAllocs()
				mem := tgt.mem.(*procMemory)
				before := mem.reads
				defer func() { b.ReportMetric(float64(mem.reads-before)/float64(b.N), "reads/op") }()
				for b.Loop() {
					val, err := tgt.reader.Value(doc.LongList)
					if err != nil || val.Len != 10000 || !val.Truncated {
						b.Fatalf("%+v, %v", val, err)
					}
				}
			})
		})
	}
}

// BenchmarkSleepingTask measures what a snapshot with locals spends on each sleeping task: the
// variables of its asyncio.sleep frame (a Future, a TimerHandle, the loop) and of the coroutine
// that awaits it, with the deadline, read by one moment's reader from memory copied beforehand
// (as a snapshot's reads come from its copies).
func BenchmarkSleepingTask(b *testing.B) {
	for _, v := range versions {
		b.Run(v, func(b *testing.B) {
			tg := testtarget.Start(b, v, "locals.py")
			p, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			if err != nil {
				b.Fatal(err)
			}
			s, err := p.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			var task *snapshot.Task
			for i := range s.Tasks {
				if s.Tasks[i].Name == "fetch-a" {
					task = &s.Tasks[i]
				}
			}
			if task == nil || len(task.Frames) != 2 {
				b.Fatalf("fetch-a: %+v", task)
			}
			var frames []uint64
			for i := range task.Frames {
				if err := p.InTaskFrame(task, i, func(_ *values.Reader, addr uint64) error {
					frames = append(frames, addr)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			rec := &recorder{src: &procMemory{m: inspector.NewProcessMemory(tg.PID)}, pages: map[uint64][]byte{}, served: map[uint64][]byte{}}
			r, err := values.New(rec, values.Config{Offsets: p.Offsets(), RuntimeAddr: p.RuntimeAddr(),
				Clock: func() (float64, error) { return 1000, nil }})
			if err != nil {
				b.Fatal(err)
			}
			var vars []values.Variable
			read := func(r *values.Reader) {
				for _, f := range frames {
					var err error
					if vars, _, err = r.FrameWithDeadline(f, vars[:0]); err != nil {
						b.Fatal(err)
					}
				}
			}
			read(r.Moment()) // copies every page the reads need
			mem := &pageMemory{pages: rec.pages}
			m := r.On(mem, nil).Moment()
			b.ReportAllocs()
			before := mem.reads
			for b.Loop() {
				read(m)
			}
			b.ReportMetric(float64(mem.reads-before)/float64(b.N), "reads/op")
		})
	}
}
