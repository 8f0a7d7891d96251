package live

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
)

// The JSON of watch's lines and check's findings. The shapes are part of aioscope's interface,
// defined by schema/watch.schema.json and schema/check.schema.json: fields are only ever added.

// Frame is a frame as every aioscope JSON document writes it (see ps --json).
type Frame struct {
	Function  string `json:"function"`
	File      string `json:"file"`
	Line      *int   `json:"line"`
	EndLine   *int   `json:"end_line"`
	Column    *int   `json:"column"`
	EndColumn *int   `json:"end_column"`
}

// FrameOf converts a snapshot frame.
func FrameOf(f snapshot.Frame) Frame {
	out := Frame{Function: f.Function, File: f.File}
	if f.HasLine && f.Line >= 0 {
		out.Line = intp(f.Line)
		if f.EndLine >= 0 {
			out.EndLine = intp(f.EndLine)
		}
		if f.Column >= 0 {
			out.Column = intp(f.Column)
		}
		if f.EndColumn >= 0 {
			out.EndColumn = intp(f.EndColumn)
		}
	}
	return out
}

func intp(v int) *int { return &v }

// FramesOf converts a chain of frames; never nil.
func FramesOf(fs []snapshot.Frame) []Frame {
	out := make([]Frame, len(fs))
	for i, f := range fs {
		out[i] = FrameOf(f)
	}
	return out
}

// TaskRef names a task: its id as in ps --json, and its name (null when unknown).
type TaskRef struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

// TaskRefOf names the task with this id; nil for id 0.
func TaskRefOf(id uint64, name string, known bool) *TaskRef {
	if id == 0 {
		return nil
	}
	r := &TaskRef{ID: fmt.Sprintf("0x%x", id)}
	if known {
		r.Name = &name
	}
	return r
}

// WaitJSON is a task's wait.
type WaitJSON struct {
	Task    TaskRef `json:"task"`
	Seconds float64 `json:"seconds"` // how long it has waited, as of the latest snapshot that saw it
	Since   string  `json:"since"`   // when the wait began (RFC 3339)
	// AtLeast is true when the wait began before watching did: Seconds is then a lower bound.
	AtLeast bool `json:"at_least"`
	// PrecisionSeconds is how much earlier the wait may have begun (0 when read from memory);
	// null with at_least.
	PrecisionSeconds *float64 `json:"precision_seconds"`
	Exact            bool     `json:"exact"` // the start was read from memory (a sleep's)
	Frames           []Frame  `json:"frames"`
}

// WaitJSONOf converts a wait.
func WaitJSONOf(w *tracking.Wait) WaitJSON {
	name := w.Task.Name
	out := WaitJSON{
		Task:    TaskRef{ID: fmt.Sprintf("0x%x", w.Task.ID), Name: &name},
		Seconds: round3(w.Age().Seconds()),
		Since:   stamp(w.Since),
		Exact:   w.Exact,
		Frames:  FramesOf(w.Frames),
	}
	if p := w.Precision(); p < 0 {
		out.AtLeast = true
	} else {
		v := round3(p.Seconds())
		out.PrecisionSeconds = &v
	}
	return out
}

// BlockJSON is a blocked loop.
type BlockJSON struct {
	TID          uint64   `json:"tid"`
	Milliseconds float64  `json:"milliseconds"`
	PrecisionMS  float64  `json:"precision_ms"` // the most Milliseconds may be off by
	StartedAt    string   `json:"started_at"`
	Ongoing      bool     `json:"ongoing"`
	Task         *TaskRef `json:"task"` // the task whose step blocked the loop; null for a plain callback
	Site         *Frame   `json:"site"` // innermost frame of the program itself; null when none
	Frames       []Frame  `json:"frames"`
}

// BlockJSONOf converts a block.
func BlockJSONOf(b *tracking.Block, taskName string, nameKnown bool) BlockJSON {
	out := BlockJSON{
		TID:          b.TID,
		Milliseconds: round3(float64(b.Duration) / float64(time.Millisecond)),
		PrecisionMS:  round3(float64(b.Precision) / float64(time.Millisecond)),
		StartedAt:    stamp(b.Start),
		Ongoing:      b.Ongoing,
		Task:         TaskRefOf(b.Task, taskName, nameKnown),
		Frames:       FramesOf(b.Frames),
	}
	if b.Site.Function != "" || b.Site.File != "" {
		f := FrameOf(b.Site)
		out.Site = &f
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Lines writes events as JSON Lines: one object per line, each with an "event" field.
type Lines struct {
	enc *json.Encoder
	top int
}

// LinesTop is how many groups and waits a snapshot line lists.
const LinesTop = 10

// NewLines returns a writer of events to w.
func NewLines(w io.Writer) *Lines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Lines{enc: enc, top: LinesTop}
}

type snapshotLine struct {
	Event         string      `json:"event"`
	At            string      `json:"at"`
	PID           int         `json:"pid"`
	PythonVersion string      `json:"python_version"`
	Tasks         int         `json:"tasks"`
	Threads       int         `json:"threads"`
	Loops         []loopJSON  `json:"loops"`
	Groups        []groupJSON `json:"groups"`
	Longest       []WaitJSON  `json:"longest"`
	Reads         readsJSON   `json:"reads"`
}

type loopJSON struct {
	TID       uint64   `json:"tid"`
	State     string   `json:"state"`
	Busy      float64  `json:"busy"`
	LagMS     float64  `json:"lag_ms"`
	BlockedMS *float64 `json:"blocked_ms"`
}

type groupJSON struct {
	Count          int           `json:"count"`
	TrendPerMinute float64       `json:"trend_per_minute"`
	Growing        bool          `json:"growing"`
	Frames         []Frame       `json:"frames"`
	Awaiters       []awaiterJSON `json:"awaiters"`
}

type awaiterJSON struct {
	Name   *string `json:"name"`
	Frames []Frame `json:"frames"`
}

type readsJSON struct {
	Snapshots       int `json:"snapshots"`
	SnapshotsFailed int `json:"snapshots_failed"`
	Samples         int `json:"samples"`
	SamplesFailed   int `json:"samples_failed"`
}

type stuckLine struct {
	Event string `json:"event"`
	At    string `json:"at"`
	WaitJSON
}

type blockedLine struct {
	Event string `json:"event"`
	At    string `json:"at"`
	BlockJSON
}

// Write writes one event as one line.
func (l *Lines) Write(e Event) error {
	switch e.Kind {
	case SnapshotTaken:
		if e.Summary == nil {
			return nil
		}
		return l.enc.Encode(l.snapshotLine(e.Summary))
	case TaskStuck:
		return l.enc.Encode(stuckLine{Event: "stuck", At: stamp(e.At), WaitJSON: WaitJSONOf(e.Wait)})
	case LoopBlocked:
		return l.enc.Encode(blockedLine{Event: "loop_blocked", At: stamp(e.At), BlockJSON: BlockJSONOf(e.Block, e.TaskName, e.TaskName != "")})
	}
	return nil
}

// WriteOngoing writes a block still going on (when the watch ends) as a loop_blocked line.
func (l *Lines) WriteOngoing(b *tracking.Block, name string, known bool) error {
	return l.enc.Encode(blockedLine{Event: "loop_blocked", At: stamp(b.End), BlockJSON: BlockJSONOf(b, name, known)})
}

func (l *Lines) snapshotLine(s *Summary) snapshotLine {
	out := snapshotLine{
		Event: "snapshot", At: stamp(s.At), PID: s.PID, PythonVersion: s.PythonVersion,
		Tasks: s.Tasks, Threads: s.Threads,
		Loops: []loopJSON{}, Groups: []groupJSON{}, Longest: []WaitJSON{},
		Reads: readsJSON{s.Stats.Snapshots, s.Stats.SnapshotsFailed, s.Stats.Samples, s.Stats.SamplesFailed},
	}
	for _, lp := range s.Loops {
		lj := loopJSON{TID: lp.TID, State: lp.State.String(), Busy: round3(lp.Busy), LagMS: round3(float64(lp.Lag) / float64(time.Millisecond))}
		if lp.Blocked != nil {
			v := round3(float64(lp.Blocked.Duration) / float64(time.Millisecond))
			lj.BlockedMS = &v
		}
		out.Loops = append(out.Loops, lj)
	}
	for _, g := range s.Groups[:min(l.top, len(s.Groups))] {
		gj := groupJSON{Count: g.Count, TrendPerMinute: round3(g.Trend.PerMinute), Growing: g.Trend.Growing,
			Frames: FramesOf(g.Frames), Awaiters: []awaiterJSON{}}
		for _, a := range g.Awaiters {
			aj := awaiterJSON{Frames: FramesOf(a.Frames)}
			if a.IsTask {
				name := a.Name
				aj.Name = &name
			}
			gj.Awaiters = append(gj.Awaiters, aj)
		}
		out.Groups = append(out.Groups, gj)
	}
	for i := range s.Waits[:min(l.top, len(s.Waits))] {
		out.Longest = append(out.Longest, WaitJSONOf(&s.Waits[i]))
	}
	return out
}
