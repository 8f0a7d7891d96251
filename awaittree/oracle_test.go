package awaittree

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// graphGen makes random task lists shaped like what a snapshot can hold, including the cases
// tools.py treats specially: cycles, awaiters that are not tasks, duplicate task ids, repeated
// awaiters and frames that format identically.
type graphGen struct {
	r *rand.Rand
	// made holds the frame lists made so far: like a snapshot, which shares the frames of
	// identical chains, later tasks often get one of them, or part of one, again.
	made *[][]snapshot.Frame
}

// pyHashModulus is 2**61-1, the modulus of CPython's numeric hash on 64-bit builds.
const pyHashModulus = (uint64(1) << 61) - 1

func (g graphGen) pick(options ...string) string { return options[g.r.IntN(len(options))] }

func (g graphGen) frame() snapshot.Frame {
	f := snapshot.Frame{
		Function: g.pick("main", "TaskGroup._aexit", "TaskGroup.__aexit__", "worker", "sleep", "gather",
			"<unreadable frame>", "<unknown function>", "main.<locals>.inner", "función", "処理"),
		File:    g.pick("", "~", "app.py", "/srv/app/main.py", "/usr/lib/python3.14/asyncio/taskgroups.py", "<stdin>", "путь.py"),
		EndLine: -1, Column: -1, EndColumn: -1,
	}
	switch g.r.IntN(6) {
	case 0: // no line
	case 1:
		f.HasLine = true // line 0
	case 2:
		f.Line, f.HasLine = -1, true
	default:
		f.Line, f.HasLine = 1+g.r.IntN(3), true // few distinct lines, so labels repeat
	}
	return f
}

func (g graphGen) frames(maxLen int) []snapshot.Frame {
	if g.made != nil && len(*g.made) > 0 && g.r.IntN(3) == 0 {
		old := (*g.made)[g.r.IntN(len(*g.made))]
		lo := g.r.IntN(len(old) + 1)
		hi := lo + g.r.IntN(min(len(old)-lo, maxLen)+1)
		return old[lo:hi]
	}
	n := g.r.IntN(maxLen + 1)
	out := make([]snapshot.Frame, n)
	for i := range out {
		out[i] = g.frame()
	}
	if g.made != nil && n > 0 {
		*g.made = append(*g.made, out)
	}
	return out
}

func (g graphGen) name(i int) string {
	switch g.r.IntN(12) {
	case 0:
		return ""
	case 1:
		return "tâche-ünïcode-" + strconv.Itoa(i)
	case 2:
		return "emoji-😀"
	case 3:
		return "下载任务" + strconv.Itoa(i)
	case 4:
		return strings.Repeat("long-name-", 30)
	case 5:
		return "nul\x00name"
	case 6:
		return "dup"
	default:
		return "Task-" + strconv.Itoa(i+1)
	}
}

func (g graphGen) ids(n int) []uint64 {
	ids := make([]uint64, n)
	seen := make(map[uint64]bool)
	mode := g.r.IntN(5)
	base := 0x7f0000000000 + 16*g.r.Uint64N(1<<24)
	for i := range ids {
		var id uint64
		for {
			switch mode {
			case 0:
				id = uint64(1 + g.r.IntN(4*n+1))
			case 1:
				id = base + 16*g.r.Uint64N(uint64(4*n+1))
			case 2:
				id = g.r.Uint64()
			case 3: // pairs of ids with the same hash
				id = g.r.Uint64N(64) + pyHashModulus*g.r.Uint64N(8) // ids with equal hashes exercise set collisions
			default:
				id = base + 112*uint64(i)
			}
			if !seen[id] || g.r.IntN(30) == 0 { // an occasional duplicate task id
				break
			}
		}
		seen[id] = true
		ids[i] = id
	}
	return ids
}

// tasks returns a random task list. Acyclic graphs are made by letting a task be awaited only by
// tasks created before it; cyclic ones let any task await any other.
func (g graphGen) tasks() []snapshot.Task {
	n := g.r.IntN(25)
	switch g.r.IntN(8) {
	case 0:
		n = g.r.IntN(120)
	case 1:
		n = g.r.IntN(4)
	}
	ids := g.ids(n)
	cyclic := g.r.IntN(3) == 0
	multi := g.r.IntN(3) // how eager tasks are to have several awaiters
	tids := []uint64{uint64(1000 + g.r.IntN(5000)), uint64(1000 + g.r.IntN(5000)), 0}
	tasks := make([]snapshot.Task, n)
	for i := range tasks {
		t := snapshot.Task{ID: ids[i], Name: g.name(i), TID: tids[min(g.r.IntN(4), 2)], Frames: g.frames(4)}
		if i > 0 || cyclic {
			awaiters := 0
			if g.r.IntN(4) != 0 {
				awaiters = 1
				for awaiters < 4 && g.r.IntN(6) < multi {
					awaiters++
				}
			}
			for range awaiters {
				var a snapshot.Awaiter
				switch {
				case g.r.IntN(12) == 0: // a future or a task of another interpreter
					a.ID = 0x7fff00000000 + 16*g.r.Uint64N(1000)
				case cyclic:
					a.ID, a.IsTask = ids[g.r.IntN(n)], true
				default:
					a.ID, a.IsTask = ids[g.r.IntN(i)], true
				}
				if a.IsTask {
					a.Frames = g.frames(3)
				}
				t.AwaitedBy = append(t.AwaitedBy, a)
				if g.r.IntN(10) == 0 { // the same awaiter twice
					t.AwaitedBy = append(t.AwaitedBy, a)
				}
			}
		}
		tasks[i] = t
	}
	if g.r.IntN(3) == 0 {
		g.r.Shuffle(len(tasks), func(i, j int) { tasks[i], tasks[j] = tasks[j], tasks[i] })
	}
	return tasks
}

// renderedLines counts the lines Render would print, without rendering: a task awaited from
// several places is printed once per place, which can make the output exponential.
func renderedLines(roots []*Node) int {
	memo := make(map[*Node]int)
	// Post-order with an explicit stack.
	type item struct {
		n    *Node
		done bool
	}
	var stack []item
	for _, r := range roots {
		stack = append(stack, item{n: r})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := memo[it.n]; ok {
			continue
		}
		if it.done {
			total := 1
			for _, c := range it.n.Children {
				total += memo[c]
				if total > 1<<30 {
					total = 1 << 30
				}
			}
			memo[it.n] = total
			continue
		}
		stack = append(stack, item{n: it.n, done: true})
		for _, c := range it.n.Children {
			stack = append(stack, item{n: c})
		}
	}
	total := 0
	for _, r := range roots {
		total += memo[r]
	}
	return total
}

// TestRandomGraphsAgainstPython compares Table, FormatTable, FindCycles, Build, Render and the
// cycle error text with CPython's tools on random task graphs.
func TestRandomGraphsAgainstPython(t *testing.T) {
	cases := 600
	if s := os.Getenv("AWAITTREE_RANDOM_CASES"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			cases = n
		}
	}
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			python := testtarget.Python(t, version)
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			g := graphGen{r: rand.New(rand.NewPCG(seed, 0xa10)), made: new([][]snapshot.Frame)}

			var inputs [][]snapshot.Task
			for len(inputs) < cases {
				tasks := g.tasks()
				if roots, err := Build(tasks); err == nil && renderedLines(roots) > 20000 {
					continue // too big to print, for CPython as well
				}
				inputs = append(inputs, tasks)
			}
			req := struct {
				Cases [][]jsonTask `json:"cases"`
			}{}
			for _, tasks := range inputs {
				req.Cases = append(req.Cases, tasksToJSON(tasks))
			}
			var results []toolsResult
			runPython(t, python, "oracle", req, &results)
			if len(results) != len(inputs) {
				t.Fatalf("%d results for %d cases", len(results), len(inputs))
			}
			withCycles, severalCycles, recursion := 0, 0, 0
			for i, tasks := range inputs {
				res := &results[i]
				if res.RecursionError {
					recursion++
					continue
				}
				if len(res.Cycles) > 0 {
					withCycles++
				}
				if len(res.Cycles) > 1 {
					severalCycles++
				}
				compareWithTools(t, fmt.Sprintf("case %d (seed %d)", i, seed), tasks, res)
				if t.Failed() {
					t.Fatalf("stopping at the first failing case, %d tasks", len(tasks))
				}
			}
			t.Logf("%d cases, %d with cycles (%d with several), %d skipped for CPython's RecursionError",
				len(inputs), withCycles, severalCycles, recursion)
			if withCycles < len(inputs)/10 || len(inputs)-withCycles < len(inputs)/3 {
				t.Errorf("unbalanced cases: %d of %d with cycles", withCycles, len(inputs))
			}
		})
	}
}
