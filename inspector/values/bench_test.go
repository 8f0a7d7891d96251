package values_test

import (
	"testing"

	"github.com/aioscope/aioscope/inspector/values"
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
