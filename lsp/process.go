package lsp

import (
	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking/live"
)

// liveProcess is the Target of a live process: an *inspector.Process, which also reads the
// arguments of a task's frame for hovers (ArgumentReader) and the timers of sleeping tasks
// (live.FrameReader), and whose threads can be sampled for blocked event loops (threadSampler).
type liveProcess struct {
	*inspector.Process
	opts inspector.Options
}

// newSampler attaches to the process a second time, for thread samples.
func (p liveProcess) newSampler() (live.ThreadSampler, error) {
	return inspector.Attach(p.PID(), p.opts)
}

// Arguments reads the arguments of frame i of task as they are now, if the task is still in that
// frame; an *inspector.FrameLeftError otherwise.
func (p liveProcess) Arguments(task *snapshot.Task, i int) ([]snapshot.Variable, error) {
	var out []snapshot.Variable
	err := p.InTaskFrame(task, i, func(r *values.Reader, frame uint64) error {
		vars, err := r.Arguments(frame)
		if err != nil {
			return err
		}
		for _, v := range vars {
			sv := snapshot.Variable{Name: v.Name, Kind: v.Kind, Type: v.Type, Repr: v.Repr}
			if v.Err != nil {
				sv = snapshot.Variable{Name: v.Name, Kind: v.Kind, Err: v.Err.Error()}
			}
			out = append(out, sv)
		}
		return nil
	})
	return out, err
}
