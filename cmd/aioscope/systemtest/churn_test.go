package systemtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// churnRuns is how many times the CLI reads the churn target, one run after the other.
const churnRuns = 500

// psDoc is the part of the `ps --json` document the churn test checks.
type psDoc struct {
	PID     int `json:"pid"`
	Threads []struct {
		RunningTask *string `json:"running_task"`
	} `json:"threads"`
	Tasks []struct {
		ID        string            `json:"id"`
		Name      string            `json:"name"`
		Frames    []json.RawMessage `json:"frames"`
		AwaitedBy []struct {
			ID     string  `json:"id"`
			Name   *string `json:"name"`
			IsTask bool    `json:"is_task"`
		} `json:"awaited_by"`
	} `json:"tasks"`
}

// TestCLIChurn runs `aioscope ps --json` 500 times against a target that creates and finishes
// thousands of tasks a second. Every run must end in bounded time with either a consistent
// document (exit 0, nothing on stderr) or the one-line "changed too fast" error (exit 1, nothing
// on stdout), and at least 95% must succeed.
func TestCLIChurn(t *testing.T) {
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		for _, load := range testtarget.ChurnLoads {
			t.Run(version+"/"+load.Name, func(t *testing.T) {
				testCLIChurn(t, bin, version, load.Pause, load.MinSuccess)
			})
		}
	}
}

func testCLIChurn(t *testing.T, bin, version, pause string, minSuccess float64) {
	tg := testtarget.Start(t, version, "churn.py", pause)
	pid := strconv.Itoa(tg.PID)
	ok := 0
	var lastFailure string
	start := time.Now()
	for i := 0; i < churnRuns; i++ {
		stdout, stderr, code := runBounded(t, bin, "ps", "--json", pid)
		if bytes.Contains(stderr, []byte("goroutine ")) || bytes.Contains(stderr, []byte("panic")) {
			t.Fatalf("run %d crashed:\n%s", i, stderr)
		}
		switch code {
		case exitOK:
			if len(stderr) != 0 {
				t.Fatalf("run %d succeeded but wrote to stderr: %q", i, stderr)
			}
			if problems := churnDocProblems(stdout, tg.PID); len(problems) > 0 {
				t.Errorf("run %d printed an inconsistent snapshot: %s", i, strings.Join(problems, "; "))
			}
			ok++
		case exitError:
			line := string(stderr)
			if len(stdout) != 0 || strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") ||
				!strings.Contains(line, "changed too fast") || !strings.Contains(line, "--retries") {
				t.Fatalf("run %d failed without the one-line \"changed too fast\" error:\nstdout: %q\nstderr: %q", i, stdout, stderr)
			}
			lastFailure = strings.TrimSpace(line)
		default:
			t.Fatalf("run %d: exit code %d\nstderr: %s", i, code, stderr)
		}
	}
	// The target reports its rate once a second; a fast run waits for the first report.
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(tg.Stdout(), "RATE") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	rate := float64(ok) / churnRuns
	t.Logf("Python %s: %d/%d runs succeeded (%.1f%%) in %v with the default retries; target %s; last failure: %s",
		version, ok, churnRuns, 100*rate, time.Since(start).Round(time.Millisecond), testtarget.ChurnRate(tg.Stdout()), lastFailure)
	if rate < minSuccess {
		t.Errorf("only %.1f%% of runs succeeded, want at least %.0f%%", 100*rate, 100*minSuccess)
	}
}

// churnDocProblems lists what is wrong with a `ps --json` document of churn.py. In any single
// moment of the target:
//   - the document parses and is about the target; no task is listed twice; every task has a
//     name churn.py gives (a name read from memory that changed under the read would not be);
//   - an awaiter has a name only if it is listed. (A task that has finished can stay among the
//     awaiters of a task it awaited — shield() keeps a cancelled waiter until the shielded task
//     ends — and is then reported by id alone. The document cannot tell a finished awaiter from
//     a pending one that is missing; the inspector's own churn test, which sees frames, does.);
//   - an awaiter listed as a task is reported as a task;
//   - a waiting task has frames: churn.py's hubs and leaves sleep. The exception is the task being
//     completed right now, which is the thread's running task.
func churnDocProblems(doc []byte, pid int) []string {
	var d psDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return []string{fmt.Sprintf("the document does not parse: %v", err)}
	}
	var problems []string
	if d.PID != pid {
		problems = append(problems, fmt.Sprintf("pid %d, want %d", d.PID, pid))
	}
	running := map[string]bool{}
	for _, th := range d.Threads {
		if th.RunningTask != nil {
			running[*th.RunningTask] = true
		}
	}
	listed := map[string]bool{}
	for _, task := range d.Tasks {
		if listed[task.ID] {
			problems = append(problems, fmt.Sprintf("task %s listed twice", task.ID))
		}
		listed[task.ID] = true
	}
	for _, task := range d.Tasks {
		if !testtarget.ChurnTaskName.MatchString(task.Name) {
			problems = append(problems, fmt.Sprintf("task %s has a name churn.py never gives: %q", task.ID, task.Name))
		}
		sleeper := strings.HasPrefix(task.Name, "hub-") || strings.HasPrefix(task.Name, "leaf-")
		if sleeper && len(task.Frames) == 0 && !running[task.ID] {
			problems = append(problems, fmt.Sprintf("sleeping task %s (%s) has no frames", task.Name, task.ID))
		}
		for _, a := range task.AwaitedBy {
			switch {
			case !listed[a.ID] && a.Name != nil:
				problems = append(problems, fmt.Sprintf("task %s is awaited by %s, named %q but not listed", task.Name, a.ID, *a.Name))
			case listed[a.ID] && (!a.IsTask || a.Name == nil):
				problems = append(problems, fmt.Sprintf("task %s is awaited by %s, listed as a task but reported as a future", task.Name, a.ID))
			}
		}
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return problems
}

// awaitGraph is the part of the aioscope/snapshot response body the churn test checks.
type awaitGraph struct {
	PID   int `json:"pid"`
	Tasks []struct {
		ThreadID  int    `json:"threadId"`
		TaskID    string `json:"taskId"`
		Name      string `json:"name"`
		AwaitedBy []int  `json:"awaitedBy"`
		Frames    []struct {
			Name string `json:"name"`
		} `json:"frames"`
	} `json:"tasks"`
	Threads []struct {
		RunningThreadID int `json:"runningThreadId"`
	} `json:"threads"`
}

// graphProblems lists what is wrong with an awaitGraph body of churn.py (see churnDocProblems).
func graphProblems(body []byte, pid int) []string {
	var g awaitGraph
	if err := json.Unmarshal(body, &g); err != nil {
		return []string{fmt.Sprintf("the body does not parse: %v", err)}
	}
	var problems []string
	if g.PID != pid {
		problems = append(problems, fmt.Sprintf("pid %d, want %d", g.PID, pid))
	}
	running := map[int]bool{}
	for _, th := range g.Threads {
		running[th.RunningThreadID] = true
	}
	ids, tasks := map[int]bool{}, map[string]bool{}
	for _, task := range g.Tasks {
		if ids[task.ThreadID] || tasks[task.TaskID] {
			problems = append(problems, fmt.Sprintf("task %s (thread %d) listed twice", task.TaskID, task.ThreadID))
		}
		ids[task.ThreadID], tasks[task.TaskID] = true, true
	}
	for _, task := range g.Tasks {
		sleeper := strings.HasPrefix(task.Name, "hub-") || strings.HasPrefix(task.Name, "leaf-")
		if sleeper && len(task.Frames) == 0 && !running[task.ThreadID] {
			problems = append(problems, fmt.Sprintf("sleeping task %s has no frames", task.Name))
		}
		for _, a := range task.AwaitedBy {
			if !ids[a] {
				problems = append(problems, fmt.Sprintf("task %s is awaited by thread %d, which is not a task", task.Name, a))
			}
		}
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return problems
}

// TestDAPChurn takes 500 snapshots through one `aioscope dap` session (the aioscope/snapshot
// request) of a target that creates and finishes thousands of tasks a second: each must be
// answered in bounded time with a consistent graph or a "changed too fast" error.
func TestDAPChurn(t *testing.T) {
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		for _, load := range testtarget.ChurnLoads {
			t.Run(version+"/"+load.Name, func(t *testing.T) {
				tg := testtarget.Start(t, version, "churn.py", load.Pause)
				c := startDAP(t, bin, "dap")
				c.attach(tg.PID, nil)
				ok := 0
				var lastFailure string
				start := time.Now()
				for i := 0; i < churnRuns; i++ {
					m := c.request("aioscope/snapshot", nil)
					if !m.Success {
						if !strings.Contains(m.Message, "changed too fast") || strings.Contains(m.Message, "\n") {
							t.Fatalf("snapshot %d failed without the one-line \"changed too fast\" error: %q", i, m.Message)
						}
						lastFailure = m.Message
						continue
					}
					if problems := graphProblems(m.Body, tg.PID); len(problems) > 0 {
						t.Errorf("snapshot %d is inconsistent: %s", i, strings.Join(problems, "; "))
					}
					ok++
				}
				c.close()
				for deadline := time.Now().Add(3 * time.Second); !strings.Contains(tg.Stdout(), "RATE") && time.Now().Before(deadline); {
					time.Sleep(50 * time.Millisecond)
				}
				rate := float64(ok) / churnRuns
				t.Logf("Python %s: %d/%d DAP snapshots succeeded (%.1f%%) in %v; target %s; last failure: %s",
					version, ok, churnRuns, 100*rate, time.Since(start).Round(time.Millisecond), testtarget.ChurnRate(tg.Stdout()), lastFailure)
				if rate < load.MinSuccess {
					t.Errorf("only %.1f%% of snapshots succeeded, want at least %.0f%%", 100*rate, 100*load.MinSuccess)
				}
			})
		}
	}
}
