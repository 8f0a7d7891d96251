package awaittree

import (
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/snapshot"
)

// What `--filter`, `--depth` and `--group` make of the table and the tree. None of it runs unless
// asked for, so that the output without those options stays CPython's, byte for byte.

// Member is one task a merged tree node stands for.
type Member struct {
	ID   uint64
	Name string
}

// MatchTasks reports, task by task, whether pattern occurs (ignoring case) in the task's name, or
// in the function or file name of one of its coroutine frames.
func MatchTasks(tasks []snapshot.Task, pattern string) []bool {
	needle := strings.ToLower(pattern)
	out := make([]bool, len(tasks))
	// Tasks waiting at the same place share their frames (snapshot.FramesKey): each chain is
	// looked at once.
	chains := map[snapshot.FramesKey]bool{}
	for i := range tasks {
		t := &tasks[i]
		if strings.Contains(strings.ToLower(t.Name), needle) {
			out[i] = true
			continue
		}
		k := snapshot.KeyOf(t.Frames)
		m, ok := chains[k]
		if !ok {
			m = framesMatch(t.Frames, needle)
			chains[k] = m
		}
		out[i] = m
	}
	return out
}

func framesMatch(frames []snapshot.Frame, needle string) bool {
	for i := range frames {
		if strings.Contains(strings.ToLower(frames[i].Function), needle) || strings.Contains(strings.ToLower(frames[i].File), needle) {
			return true
		}
	}
	return false
}

// Depths returns each task's depth in the await graph: 1 for a task that no task of the snapshot
// awaits, otherwise one more than that of its shallowest awaiter. Tasks that only await cycles
// lead to count as 1.
func Depths(tasks []snapshot.Task) []int {
	index := snapshot.AwaiterIndex(tasks)
	awaited := make([][]int, len(tasks)) // task -> the tasks it awaits
	isRoot := make([]bool, len(tasks))
	for i := range tasks {
		isRoot[i] = true
		for _, a := range tasks[i].AwaitedBy {
			if j := index[a.ID]; j >= 0 && a.IsTask {
				awaited[j] = append(awaited[j], i)
				isRoot[i] = false
			}
		}
	}
	depth := make([]int, len(tasks))
	var queue []int
	visit := func(start int) {
		depth[start] = 1
		queue = append(queue[:0], start)
		for q := 0; q < len(queue); q++ {
			t := queue[q]
			for _, c := range awaited[t] {
				if depth[c] == 0 {
					depth[c] = depth[t] + 1
					queue = append(queue, c)
				}
			}
		}
	}
	for i := range tasks {
		if isRoot[i] && depth[i] == 0 {
			visit(i)
		}
	}
	for i := range tasks {
		if depth[i] == 0 {
			visit(i)
		}
	}
	return depth
}

// Prune returns the forest of roots with only the tasks keep accepts and the tasks above them:
// a kept task keeps its own coroutine frames; a task kept only for what is below it keeps just
// the frames that lead there. The roots are not changed.
func Prune(roots []*Node, keep func(id uint64) bool) []*Node {
	p := pruner{keep: keep, memo: map[pruneKey]*Node{}}
	var out []*Node
	for _, r := range roots {
		if n := p.prune(r, false); n != nil {
			out = append(out, n)
		}
	}
	return out
}

type pruneKey struct {
	n     *Node
	owned bool
}

type pruner struct {
	keep func(id uint64) bool
	memo map[pruneKey]*Node
}

// prune returns n's kept copy, nil when nothing of it is kept. owned: n is a frame of a task that
// is kept for itself.
func (p *pruner) prune(n *Node, owned bool) *Node {
	if n.Kind == Task {
		owned = false // a task's own frames depend on the task alone
	}
	k := pruneKey{n, owned}
	if r, ok := p.memo[k]; ok {
		return r
	}
	p.memo[k] = nil // an await graph with cycles has no tree: this only guards the recursion
	matched := n.Kind == Task && p.keep(n.TaskID)
	var kids []*Node
	for _, c := range n.Children {
		if r := p.prune(c, owned || matched); r != nil {
			kids = append(kids, r)
		}
	}
	var r *Node
	if matched || owned || len(kids) > 0 {
		cp := *n
		cp.Children = kids
		cp.firstCor = nil
		r = &cp
	}
	p.memo[k] = r
	return r
}

// Cut returns the forest of roots down to tasks depth levels deep (the roots are level 1): a task
// at the last level keeps its frames, and its Below counts the tasks it awaits that are left out.
// The roots are not changed.
func Cut(roots []*Node, depth int) []*Node {
	c := cutter{limit: depth, memo: map[cutKey]cutResult{}}
	out := make([]*Node, 0, len(roots))
	for _, r := range roots {
		out = append(out, c.cut(r, 1).n)
	}
	return out
}

type cutKey struct {
	n     *Node
	level int
}

// cutResult is a node's copy and, for a frame, the tasks left out below it, which its task
// counts.
type cutResult struct {
	n     *Node
	below int
}

type cutter struct {
	limit int
	memo  map[cutKey]cutResult
}

// cut returns the copy of n, a node at task level level.
func (c *cutter) cut(n *Node, level int) cutResult {
	k := cutKey{n, level}
	if r, ok := c.memo[k]; ok {
		return r
	}
	cp := *n
	cp.firstCor = nil
	cp.Children = nil
	below := 0
	for _, ch := range n.Children {
		switch {
		case ch.Kind != Task:
			sub := c.cut(ch, level)
			below += sub.below
			cp.Children = append(cp.Children, sub.n)
		case level >= c.limit:
			below++
		default:
			cp.Children = append(cp.Children, c.cut(ch, level+1).n)
		}
	}
	r := cutResult{n: &cp}
	if n.Kind == Task {
		cp.Below = below
	} else {
		r.below = below
	}
	c.memo[k] = r
	return r
}

// Group returns the forest of roots with identical sibling tasks merged into one node, as
// pstree -c does for processes: tasks under the same node whose subtrees are the same — the same
// frames, and below them the same tasks in the same numbers, names aside — become one node whose
// Members are all of them. Nothing the roots show changes (their nodes only note the call, so
// that a node shared by several parents is grouped once); subtrees without a merge are shared
// with them.
func Group(roots []*Node) []*Node {
	g := &grouper{shapes: map[string]int{}}
	out, _, _ := g.siblings(roots)
	return out
}

// shaped is a node's grouped version and its shape: equal shapes, equal subtrees.
type shaped struct {
	n     *Node
	shape int
}

type grouper struct {
	shapes map[string]int // a node's kind, label (for frames) and children's shapes -> shape
	key    []byte
}

// group returns n's grouped version: n itself when nothing below it merges.
func (g *grouper) group(n *Node) shaped {
	if n.groupedBy == g {
		return n.grouped
	}
	// Set first: guards the recursion (trees have no cycles).
	n.groupedBy, n.grouped = g, shaped{n: n, shape: -1}
	var kids []*Node
	var shapes []int
	var changed bool
	var one [1]int
	if len(n.Children) == 1 {
		// Most nodes are links of a chain of frames: nothing to merge, nothing to allocate.
		s := g.group(n.Children[0])
		one[0] = s.shape
		kids, shapes, changed = n.Children, one[:], s.n != n.Children[0]
		if changed {
			kids = []*Node{s.n}
		}
	} else {
		kids, shapes, changed = g.siblings(n.Children)
	}
	// The key: kind, a frame's label (a task's name does not count), and each child's shape
	// with the number of tasks it stands for.
	key := g.key[:0]
	if n.Kind == Task {
		key = append(key, 'T')
	} else {
		key = append(key, 'C')
		key = strconv.AppendInt(key, int64(len(n.Label)), 10)
		key = append(key, ':')
		key = append(key, n.Label...)
	}
	for i, c := range kids {
		key = append(key, ' ')
		key = strconv.AppendInt(key, int64(shapes[i]), 10)
		key = append(key, '*')
		key = strconv.AppendInt(key, int64(max(len(c.Members), 1)), 10)
	}
	g.key = key
	shape, ok := g.shapes[string(key)]
	if !ok {
		shape = len(g.shapes)
		g.shapes[string(key)] = shape
	}
	s := shaped{n: n, shape: shape}
	if changed {
		cp := *n
		cp.firstCor = nil
		cp.Children = kids
		cp.groupedBy = nil
		s.n = &cp
	}
	n.grouped = s
	return s
}

// siblings groups each node of a list and merges the tasks among them that have the same shape
// into the first of them. It returns the list (list itself when nothing in it changed), each
// node's shape, and whether anything changed.
func (g *grouper) siblings(list []*Node) (out []*Node, shapes []int, changed bool) {
	if len(list) == 0 {
		return list, nil, false
	}
	out = make([]*Node, 0, len(list))
	shapes = make([]int, 0, len(list))
	// The first task of each shape: found by looking through the list while it is short.
	var firstOf map[int]int
	find := func(shape int) (int, bool) {
		if firstOf != nil {
			at, ok := firstOf[shape]
			return at, ok
		}
		for i, s := range shapes {
			if s == shape && out[i].Kind == Task {
				return i, true
			}
		}
		return 0, false
	}
	for _, c := range list {
		s := g.group(c)
		if s.n != c {
			changed = true
		}
		if c.Kind == Task {
			if at, ok := find(s.shape); ok {
				changed = true
				m := out[at]
				if len(m.Members) == 0 {
					merged := *m
					merged.Members = []Member{{m.TaskID, m.Label}}
					out[at] = &merged
					m = &merged
				}
				if len(s.n.Members) > 0 {
					m.Members = append(m.Members, s.n.Members...)
				} else {
					m.Members = append(m.Members, Member{s.n.TaskID, s.n.Label})
				}
				continue
			}
			if firstOf == nil && len(out) >= 16 {
				firstOf = make(map[int]int, len(list))
				for i, sh := range shapes {
					if out[i].Kind == Task {
						if _, dup := firstOf[sh]; !dup {
							firstOf[sh] = i
						}
					}
				}
			}
			if firstOf != nil {
				firstOf[s.shape] = len(out)
			}
		}
		out = append(out, s.n)
		shapes = append(shapes, s.shape)
	}
	if !changed {
		return list, shapes, false
	}
	return out, shapes, true
}

// appendLabel appends what a tree line shows for n: its label, and for a node that stands for
// several tasks or leaves tasks out below it, how many.
func appendLabel(dst []byte, n *Node) []byte {
	if len(n.Members) > 1 {
		dst = append(dst, MembersLabel(n.Members)...)
		dst = append(dst, " ["...)
		dst = strconv.AppendInt(dst, int64(len(n.Members)), 10)
		dst = append(dst, " tasks]"...)
	} else {
		dst = append(dst, n.Label...)
	}
	if n.Below > 0 {
		dst = append(dst, " [+"...)
		dst = strconv.AppendInt(dst, int64(n.Below), 10)
		if n.Below == 1 {
			dst = append(dst, " task below]"...)
		} else {
			dst = append(dst, " tasks below]"...)
		}
	}
	return dst
}

// MembersLabel names the tasks of a group: their name when they share it, else the first and
// the last ("Task-5 … Task-16").
func MembersLabel(members []Member) string {
	first, last := members[0].Name, members[len(members)-1].Name
	for _, m := range members {
		if m.Name != first {
			return first + " … " + last
		}
	}
	return first
}
