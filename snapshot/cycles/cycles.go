// Package cycles finds the await cycles of a snapshot's tasks, in the order CPython's asyncio
// tools report them (Lib/asyncio/tools.py: _task_graph and _find_cycles): the first cycle found
// is the one their error text names, so the order is part of the result.
package cycles

import "github.com/aioscope/aioscope/snapshot"

// await is one edge of the await graph: parent awaits child.
type await struct {
	parent, child uint64
}

// Find returns the await cycles of the tasks in the order tools.py's
// _find_cycles(_task_graph(awaits)) returns them, or nil when there are none.
func Find(tasks []snapshot.Task) [][]uint64 {
	// Almost every snapshot is acyclic; proving that with plain slices is much cheaper than
	// replaying CPython's set order, which is only needed to report cycles in CPython's order.
	if !hasCycle(mayCycle(tasks)) {
		return nil
	}
	return findCycles(edges(tasks))
}

// hasCycle reports whether the await graph has a cycle, by repeatedly removing nodes that
// await nothing (Kahn's algorithm): a cycle is what remains.
func hasCycle(awaits []await) bool {
	if len(awaits) == 0 {
		return false
	}
	index := make(map[uint64]int32, len(awaits))
	id := func(v uint64) int32 {
		i, ok := index[v]
		if !ok {
			i = int32(len(index))
			index[v] = i
		}
		return i
	}
	// Edges child -> parent, in CSR form: an awaiter can only finish after what it awaits.
	from := make([]int32, len(awaits))
	to := make([]int32, len(awaits))
	for i, a := range awaits {
		from[i], to[i] = id(a.child), id(a.parent)
	}
	n := len(index)
	start := make([]int32, n+1)
	indeg := make([]int32, n)
	for i := range from {
		start[from[i]+1]++
		indeg[to[i]]++
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	adj := make([]int32, len(from))
	fill := append([]int32(nil), start[:n]...)
	for i := range from {
		adj[fill[from[i]]] = to[i]
		fill[from[i]]++
	}
	queue := make([]int32, 0, n)
	for v := int32(0); v < int32(n); v++ {
		if indeg[v] == 0 {
			queue = append(queue, v)
		}
	}
	for k := 0; k < len(queue); k++ {
		v := queue[k]
		for _, w := range adj[start[v]:start[v+1]] {
			if indeg[w]--; indeg[w] == 0 {
				queue = append(queue, w)
			}
		}
	}
	return len(queue) < n
}

// mayCycle returns the await entries (without their frames) that can be on a cycle: those whose
// child awaits something too. A task that awaits nothing ends every path through it. Most tasks
// are such leaves — thousands awaited by the same few — so what is left is usually tiny, or
// nothing.
func mayCycle(tasks []snapshot.Task) []await {
	parents := snapshot.AwaiterIndex(tasks) // the tasks that await something
	var inner []await
	for i := range tasks {
		t := &tasks[i]
		if _, ok := parents[t.ID]; !ok {
			continue
		}
		for _, a := range t.AwaitedBy {
			inner = append(inner, await{parent: a.ID, child: t.ID})
		}
	}
	return inner
}

const (
	white uint8 = iota
	grey
	black
)

// dfsFrame is one pending call of the recursive dfs(v) in _find_cycles.
type dfsFrame struct {
	v         uint64
	neighbors []uint64
	next      int
}

func findCycles(awaits []await) [][]uint64 {
	// _task_graph: a dict of sets in first-insertion order of the parents. The sets' iteration
	// order decides which cycles are reported and in what order, so it is CPython's slot order.
	sets := make(map[uint64]*pyIntSet)
	var parents []uint64
	for _, a := range awaits {
		s := sets[a.parent]
		if s == nil {
			s = newPyIntSet()
			sets[a.parent] = s
			parents = append(parents, a.parent)
		}
		s.add(a.child)
	}
	neighbors := func(v uint64) []uint64 {
		if s := sets[v]; s != nil {
			return s.items()
		}
		return nil
	}

	color := make(map[uint64]uint8)
	var path []uint64
	pathIndex := make(map[uint64]int) // position of each grey node in path, for path.index(w)
	var cycles [][]uint64
	var stack []dfsFrame

	enter := func(v uint64) {
		color[v] = grey
		pathIndex[v] = len(path)
		path = append(path, v)
		stack = append(stack, dfsFrame{v: v, neighbors: neighbors(v)})
	}

	for _, root := range parents {
		if color[root] != white {
			continue
		}
		enter(root)
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(top.neighbors) {
				color[top.v] = black
				delete(pathIndex, top.v)
				path = path[:len(path)-1]
				stack = stack[:len(stack)-1]
				continue
			}
			w := top.neighbors[top.next]
			top.next++
			switch color[w] {
			case white:
				enter(w)
			case grey: // a back edge closes a cycle
				i := pathIndex[w]
				c := make([]uint64, 0, len(path)-i+1)
				c = append(c, path[i:]...)
				cycles = append(cycles, append(c, w))
			}
		}
	}
	return cycles
}

// edges lists every await of the tasks, in task order and each task's awaiters in order, as
// tools.py's _index does.
func edges(tasks []snapshot.Task) []await {
	n := 0
	for i := range tasks {
		n += len(tasks[i].AwaitedBy)
	}
	out := make([]await, 0, n)
	for i := range tasks {
		for _, a := range tasks[i].AwaitedBy {
			out = append(out, await{parent: a.ID, child: tasks[i].ID})
		}
	}
	return out
}
