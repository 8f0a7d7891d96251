package inspector_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// TestLocals reads the variables of tasks' frames with a snapshot and on demand, and checks
// them against the values testdata/scenarios/locals.py gives them.
func TestLocals(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "locals.py")
			p, s := attachSnapshot(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries, Locals: true})
			tasks := tasksByName(s)
			want := map[string]map[string]string{
				"fetch-a": {"url": "'https://example.com/a'", "attempt": "2", "timeout": "2.5",
					"item": "{'id': 42, 'name': 'Ada'}", "tags": "('a', 'b')"},
				"fetch-b": {"url": "'https://example.com/b'", "attempt": "1", "timeout": "2.5",
					"item": "{'id': 42, 'name': 'Ada'}", "tags": "('a', 'b')"},
				"mover": {"step": "0"},
			}
			kinds := map[string]string{"url": "argument", "attempt": "argument", "timeout": "argument",
				"item": "local", "tags": "local", "step": "argument"}
			for name, vars := range want {
				task := tasks[name]
				if task == nil {
					t.Fatalf("no task %s", name)
				}
				if len(task.LocalsOf()) != len(task.Frames) || len(task.Frames) < 2 {
					t.Fatalf("task %s: %d frames, locals of %d", name, len(task.Frames), len(task.LocalsOf()))
				}
				got := map[string]snapshot.Variable{}
				for _, v := range task.LocalsOf()[1].Vars {
					got[v.Name] = v
				}
				if task.LocalsOf()[1].Err != "" {
					t.Errorf("task %s: %s", name, task.LocalsOf()[1].Err)
				}
				for n, repr := range vars {
					if v := got[n]; v.Repr != repr || v.Kind != kinds[n] || v.Err != "" {
						t.Errorf("task %s, %s: %+v, want %s %s", name, n, v, kinds[n], repr)
					}
				}
				if len(task.LocalsOf()[0].Vars) == 0 {
					t.Errorf("task %s: no variables in %s", name, task.Frames[0].Function)
				}
			}
			for _, th := range s.Threads {
				if len(th.Locals) != len(th.Frames) {
					t.Errorf("thread %d: %d frames, locals of %d", th.TID, len(th.Frames), len(th.Locals))
				}
			}

			// On demand: the same values, read now.
			var url values.Variable
			var err error
			err = p.InTaskFrame(tasks["fetch-a"], 1, func(r *values.Reader, frame uint64) error {
				url, err = r.Lookup(frame, "url")
				return err
			})
			if err != nil || url.Repr != "'https://example.com/a'" {
				t.Errorf("InTaskFrame: url = %+v, %v", url, err)
			}
			// mover leaves its first sleep a second after READY: its frame is no longer the one
			// the snapshot showed.
			time.Sleep(1500 * time.Millisecond)
			err = p.InTaskFrame(tasks["mover"], 1, func(*values.Reader, uint64) error { return nil })
			var left *inspector.FrameLeftError
			if !errors.As(err, &left) {
				t.Errorf("InTaskFrame of a frame the task has left: %v", err)
			} else {
				t.Log(err)
			}
		})
	}
}

// TestLocalsMany reads the variables of thousands of tasks, half of them on a helper goroutine
// with copies of its own: every task has its frames' variables and its deadline.
func TestLocalsMany(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "many.py", "3000")
			s := snap(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries, Locals: true})
			if len(s.Tasks) != 3001 {
				t.Fatalf("%d tasks", len(s.Tasks))
			}
			loops := map[string]bool{}
			for _, task := range s.Tasks[1:] {
				if len(task.LocalsOf()) != 2 || task.LocalsOf()[0].Err != "" || len(task.LocalsOf()[0].Vars) != 5 {
					t.Fatalf("task %s: %+v", task.Name, task.LocalsOf())
				}
				vars := map[string]string{}
				for _, v := range task.LocalsOf()[0].Vars {
					vars[v.Name] = v.Repr
				}
				if vars["delay"] != "10000" || vars["future"] != "<Future pending cb=[Task.task_wakeup()]>" ||
					!strings.HasPrefix(vars["h"], "<TimerHandle when=") {
					t.Fatalf("task %s: %v", task.Name, vars)
				}
				loops[vars["loop"]] = true
				if w := task.WakeOf(); !w.Known || w.By != snapshot.WakeSleep || w.In < 9000 || w.In > 10000 {
					t.Fatalf("task %s: wake %+v", task.Name, w)
				}
			}
			if len(loops) != 1 {
				t.Errorf("%d loops: %v", len(loops), loops)
			}
		})
	}
}
