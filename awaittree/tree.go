package awaittree

import (
	"io"
	"strings"

	"github.com/aioscope/aioscope/snapshot"
)

// NodeKind tells a task node from a coroutine-frame node.
type NodeKind uint8

const (
	// Coroutine is a node for one coroutine frame of an awaiter chain or of a task's own stack.
	Coroutine NodeKind = iota + 1
	// Task is a node for an asyncio task.
	Task
)

// Node is a node of the `pstree` tree. A task awaited by several tasks (or from several places)
// hangs below each of them; all those places share the same *Node, so the roots describe a
// directed acyclic graph that Render unfolds into a tree, exactly as CPython does.
type Node struct {
	Kind   NodeKind
	TaskID uint64 // the task id, for Task nodes
	// Label is the task name for Task nodes and the formatted frame (FormatFrame) for Coroutine
	// nodes.
	Label string
	// Frame is the frame of a Coroutine node (the first of the identical-looking frames merged
	// into it), for consumers that want its parts rather than Label.
	Frame    snapshot.Frame
	Children []*Node
}

// Build builds the `pstree` forest of the tasks the way tools.py's build_async_tree does and
// returns its roots: the tasks nobody awaits, in snapshot order. When the await graph has a cycle
// it returns no roots and a *CycleError, as CPython checks for cycles before building anything.
func Build(tasks []snapshot.Task) (roots []*Node, err error) {
	id2name := indexNames(tasks)
	awaits := indexAwaits(tasks)
	if cycles := findCycles(awaits); len(cycles) > 0 {
		return nil, &CycleError{Cycles: cycles, Names: id2name.name}
	}
	return buildTree(tasks, id2name, awaits), nil
}

// treeBuilder holds the state of tools.py's _build_tree.
type treeBuilder struct {
	taskNodes map[uint64]*Node
	// corNodes is cor_nodes: the coroutine children of a node by label, so that the same formatted
	// frame under the same parent is one node.
	corNodes map[*Node]map[string]*Node
	// taskEdges records which task children a node already has, the "not in children[cur]" test.
	taskEdges map[taskEdge]struct{}
	// isChild marks the tasks that are anyone's child; those are not roots, even when their only
	// parent is not a task of the snapshot and is therefore never printed.
	isChild map[uint64]bool
}

type taskEdge struct {
	parent *Node
	child  uint64
}

func (b *treeBuilder) taskNode(id uint64) *Node {
	n := b.taskNodes[id]
	if n == nil {
		n = &Node{Kind: Task, TaskID: id}
		b.taskNodes[id] = n
	}
	return n
}

// corNode is get_or_create_cor_node.
func (b *treeBuilder) corNode(parent *Node, frame snapshot.Frame) *Node {
	label := FormatFrame(frame)
	byLabel := b.corNodes[parent]
	if byLabel == nil {
		byLabel = make(map[string]*Node)
		b.corNodes[parent] = byLabel
	}
	if n := byLabel[label]; n != nil {
		return n
	}
	n := &Node{Kind: Coroutine, Label: label, Frame: frame}
	parent.Children = append(parent.Children, n)
	byLabel[label] = n
	return n
}

func buildTree(tasks []snapshot.Task, id2name names, awaits []await) []*Node {
	b := &treeBuilder{
		taskNodes: make(map[uint64]*Node, len(id2name.order)),
		corNodes:  make(map[*Node]map[string]*Node),
		taskEdges: make(map[taskEdge]struct{}),
		isChild:   make(map[uint64]bool),
	}
	// id2label lists the tasks first, in id2name order; the coroutine nodes come after them and
	// are all somebody's children, so only tasks can be roots.
	for _, id := range id2name.order {
		b.taskNode(id).Label = id2name.name[id]
	}

	awaiting := make(map[uint64]bool)
	for _, a := range awaits {
		awaiting[a.parent] = true
		cur := b.taskNode(a.parent)
		for k := len(a.frames) - 1; k >= 0; k-- { // outermost frame first
			cur = b.corNode(cur, a.frames[k])
		}
		e := taskEdge{parent: cur, child: a.child}
		if _, dup := b.taskEdges[e]; !dup {
			b.taskEdges[e] = struct{}{}
			cur.Children = append(cur.Children, b.taskNode(a.child))
		}
		b.isChild[a.child] = true
	}

	// task_stacks keeps the stack of the last task listed under an id.
	stacks := make(map[uint64][]snapshot.Frame, len(id2name.order))
	for i := range tasks {
		stacks[tasks[i].ID] = tasks[i].Frames
	}
	// Only tasks that await no other task show their own coroutine stack.
	for _, id := range id2name.order {
		if awaiting[id] {
			continue
		}
		frames := stacks[id]
		cur := b.taskNodes[id]
		for k := len(frames) - 1; k >= 0; k-- {
			cur = b.corNode(cur, frames[k])
		}
	}

	var roots []*Node
	for _, id := range id2name.order {
		if !b.isChild[id] {
			roots = append(roots, b.taskNodes[id])
		}
	}
	return roots
}

// Render returns the roots printed as `python -m asyncio pstree` prints them: each tree one after
// another, with "└── " / "├── " connectors, "(T) name" for tasks and " func file:line" for
// frames; every line ends with "\n".
func Render(roots []*Node) string {
	var b strings.Builder
	_ = writeTree(&b, roots, "(T)", "") // a strings.Builder never fails
	return b.String()
}

// WriteTree writes what Render returns to w, a line at a time. The output of a tree whose tasks
// are awaited from many places can be much larger than the tree itself.
func WriteTree(w io.Writer, roots []*Node) error {
	return writeTree(w, roots, "(T)", "")
}

// renderItem is one pending call of tools.py's recursive render(node, prefix, last).
type renderItem struct {
	node   *Node
	prefix string
	last   bool
}

// writeTree is build_async_tree's render with its task_emoji and cor_emoji parameters, done with
// an explicit stack in the same pre-order.
func writeTree(w io.Writer, roots []*Node, taskFlag, corFlag string) error {
	var line []byte
	var stack []renderItem
	for _, root := range roots {
		stack = append(stack[:0], renderItem{node: root, last: true})
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n := it.node

			line = append(line[:0], it.prefix...)
			childPrefix := it.prefix
			if it.last {
				line = append(line, "└── "...)
				childPrefix += "    "
			} else {
				line = append(line, "├── "...)
				childPrefix += "│   "
			}
			if n.Kind == Task {
				line = append(line, taskFlag...)
			} else {
				line = append(line, corFlag...)
			}
			line = append(line, ' ')
			line = append(line, n.Label...)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}

			// Pushed last child first so that the first child is printed next.
			for k := len(n.Children) - 1; k >= 0; k-- {
				stack = append(stack, renderItem{node: n.Children[k], prefix: childPrefix, last: k == len(n.Children)-1})
			}
		}
	}
	return nil
}
