package awaittree

import (
	"io"
	"slices"
	"strings"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
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
	// into it), for consumers that want its parts rather than Label; nil for Task nodes. It
	// points into the snapshot the tree was built from.
	Frame *snapshot.Frame
	// Locals are the variables of Frame when the tree was built with BuildArgs and they are
	// known (the frame's task is one of the snapshot, read with its locals); nil otherwise.
	Locals   *snapshot.FrameLocals
	Children []*Node
	// Members are the tasks a merge of identical siblings (Group) made this node stand for, its
	// own first; nil for a node of one task.
	Members []Member
	// Below is how many tasks awaited from this node a depth limit (Cut) left out.
	Below int
	// groupedBy and grouped remember, for the Group call that set groupedBy, the node's grouped
	// version: a node shared by several parents is grouped once.
	groupedBy *grouper
	grouped   shaped
	// firstCor is the first coroutine child: most nodes have one at most, and finding it here
	// spares a table lookup (see treeBuilder.corNode).
	firstCor *Node
}

// Build builds the `pstree` forest of the tasks the way tools.py's build_async_tree does and
// returns its roots: the tasks nobody awaits, in snapshot order. When the await graph has a cycle
// it returns no roots and a *CycleError, as CPython checks for cycles before building anything.
func Build(tasks []snapshot.Task) (roots []*Node, err error) {
	return build(tasks, false)
}

// BuildArgs is Build with each coroutine frame labelled with the arguments of its call, from
// the Locals of the snapshot's tasks (FormatFrameArgs): an awaiter's frames are its task's. A
// frame whose task has no locals in the snapshot keeps the plain label.
func BuildArgs(tasks []snapshot.Task) (roots []*Node, err error) {
	return build(tasks, true)
}

func build(tasks []snapshot.Task, args bool) (roots []*Node, err error) {
	id2name := indexNames(tasks)
	if found := cycles.Find(tasks); len(found) > 0 {
		return nil, &CycleError{Cycles: found, Names: id2name.name}
	}
	return buildTree(tasks, id2name, indexAwaits(tasks), args), nil
}

// treeBuilder holds the state of tools.py's _build_tree. A tree of n tasks has a few nodes per
// task, so coroutine nodes come from blocks and every table is keyed by fixed-size values or by
// strings formatted once per distinct frame.
type treeBuilder struct {
	tasks map[uint64]*taskState
	// corNodes is cor_nodes: a node's coroutine children by label, so that the same formatted
	// frame under the same parent is one node.
	corNodes map[corKey]*Node
	// taskEdges records which task children a node already has, the "not in children[cur]" test.
	taskEdges map[taskEdge]struct{}
	// labels holds each frame's formatted text by the frame's address: a snapshot shares the
	// frames of identical chains, so most frames are formatted once for thousands of tasks.
	labels map[*snapshot.Frame]string
	// args: labels show the arguments of calls; argLabels holds them by frame and variables.
	args      bool
	argLabels map[argFrame]string
	nodes     []Node // the rest of the current block of coroutine nodes
	// kids is the rest of a block that first children are taken from: most nodes have one
	// child, and a slice of one each would be an allocation each.
	kids []*Node
}

// taskState is a task id's node and what building learns about the id.
type taskState struct {
	node     Node
	awaiting bool // a parent in some await: the task does not show its own stack
	isChild  bool // a child in some await: not a root, even when its parent is never printed
	// frames is task_stacks' entry: the stack of the last task listed under the id.
	frames []snapshot.Frame
	// locals are the variables of frames (BuildArgs), parallel to them; nil when unknown.
	locals []snapshot.FrameLocals
}

// argFrame is a frame with the variables it had in one task.
type argFrame struct {
	f *snapshot.Frame
	l *snapshot.FrameLocals
}

type corKey struct {
	parent *Node
	label  string
}

type taskEdge struct {
	parent *Node
	child  uint64
}

const nodeBlock = 1024

// task returns the state of an id. The snapshot's tasks have theirs from the start (buildTree);
// only awaiters that are not tasks of the snapshot, which are few, get one here.
func (b *treeBuilder) task(id uint64) *taskState {
	t := b.tasks[id]
	if t == nil {
		t = &taskState{node: Node{Kind: Task, TaskID: id}}
		b.tasks[id] = t
	}
	return t
}

func (b *treeBuilder) label(f *snapshot.Frame, locals *snapshot.FrameLocals) string {
	if b.args && locals != nil {
		k := argFrame{f, locals}
		l, ok := b.argLabels[k]
		if !ok {
			l = FormatFrameArgs(*f, locals)
			b.argLabels[k] = l
		}
		return l
	}
	l, ok := b.labels[f]
	if !ok {
		l = FormatFrame(*f)
		b.labels[f] = l
	}
	return l
}

// corNode is get_or_create_cor_node. A node's first coroutine child is found through the node;
// only the others are kept in corNodes. locals are the frame's variables, or nil.
func (b *treeBuilder) corNode(parent *Node, frame *snapshot.Frame, locals *snapshot.FrameLocals) *Node {
	label := b.label(frame, locals)
	first := parent.firstCor
	if first != nil {
		if first.Label == label {
			return first
		}
		if n := b.corNodes[corKey{parent, label}]; n != nil {
			return n
		}
	}
	if len(b.nodes) == 0 {
		b.nodes = make([]Node, nodeBlock)
	}
	n := &b.nodes[0]
	b.nodes = b.nodes[1:]
	*n = Node{Kind: Coroutine, Label: label, Frame: frame, Locals: locals}
	b.addChild(parent, n)
	if first == nil {
		parent.firstCor = n
	} else {
		b.corNodes[corKey{parent, label}] = n
	}
	return n
}

// addChild appends child to parent's children. A first child goes into a slice of capacity one
// cut from a block; a second one makes append move the children to a slice of their own.
func (b *treeBuilder) addChild(parent, child *Node) {
	if parent.Children == nil {
		if len(b.kids) == 0 {
			b.kids = make([]*Node, nodeBlock)
		}
		parent.Children, b.kids = b.kids[:1:1], b.kids[1:]
		parent.Children[0] = child
		return
	}
	parent.Children = append(parent.Children, child)
}

func buildTree(tasks []snapshot.Task, id2name names, awaits []await, args bool) []*Node {
	b := &treeBuilder{
		tasks:     make(map[uint64]*taskState, len(id2name.order)),
		corNodes:  make(map[corKey]*Node),
		taskEdges: make(map[taskEdge]struct{}, len(awaits)),
		labels:    make(map[*snapshot.Frame]string),
		args:      args,
	}
	if args {
		b.argLabels = make(map[argFrame]string)
	}
	// id2label lists the tasks first, in id2name order; the coroutine nodes come after them and
	// are all somebody's children, so only tasks can be roots.
	order := make([]taskState, len(id2name.order))
	for i, id := range id2name.order {
		t := &order[i]
		t.node = Node{Kind: Task, TaskID: id, Label: id2name.name[id]}
		b.tasks[id] = t
	}

	if args {
		for i := range tasks {
			if t := b.tasks[tasks[i].ID]; t != nil {
				t.frames, t.locals = tasks[i].Frames, tasks[i].LocalsOf()
			}
		}
	}
	for _, a := range awaits {
		parent := b.task(a.parent)
		parent.awaiting = true
		cur := &parent.node
		locals := b.awaiterLocals(parent, a.frames)
		for k := len(a.frames) - 1; k >= 0; k-- { // outermost frame first
			cur = b.corNode(cur, &a.frames[k], frameLocals(locals, k))
		}
		child := b.task(a.child)
		e := taskEdge{parent: cur, child: a.child}
		if _, dup := b.taskEdges[e]; !dup {
			b.taskEdges[e] = struct{}{}
			b.addChild(cur, &child.node)
		}
		child.isChild = true
	}

	for i := range tasks {
		t := b.tasks[tasks[i].ID]
		t.frames = tasks[i].Frames
		if args {
			t.locals = tasks[i].LocalsOf()
		}
	}
	// Only tasks that await no other task show their own coroutine stack.
	for i := range order {
		t := &order[i]
		if t.awaiting {
			continue
		}
		cur := &t.node
		locals := t.locals
		if len(locals) != len(t.frames) {
			locals = nil
		}
		for k := len(t.frames) - 1; k >= 0; k-- {
			cur = b.corNode(cur, &t.frames[k], frameLocals(locals, k))
		}
	}

	var roots []*Node
	for i := range order {
		if t := &order[i]; !t.isChild {
			roots = append(roots, &t.node)
		}
	}
	return roots
}

// awaiterLocals returns the variables of frames, an awaiter's chain, from its task: the
// awaiter's frames are the task's own, when the task is one of the snapshot (with locals).
func (b *treeBuilder) awaiterLocals(t *taskState, frames []snapshot.Frame) []snapshot.FrameLocals {
	if !b.args || len(t.locals) != len(frames) || len(t.frames) != len(frames) {
		return nil
	}
	if snapshot.KeyOf(t.frames) != snapshot.KeyOf(frames) && !slices.Equal(t.frames, frames) {
		return nil
	}
	return t.locals
}

// frameLocals is &locals[k], or nil without locals.
func frameLocals(locals []snapshot.FrameLocals, k int) *snapshot.FrameLocals {
	if k < len(locals) {
		return &locals[k]
	}
	return nil
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

// renderItem is one pending call of tools.py's recursive render(node, prefix, last). Its prefix
// is the first prefixLen bytes of writeTree's prefix buffer: the items are visited depth first,
// so the buffer only ever changes past the prefixes of the items still pending.
type renderItem struct {
	node      *Node
	prefixLen int
	last      bool
}

// writeTree is build_async_tree's render with its task_emoji and cor_emoji parameters, done with
// an explicit stack in the same pre-order.
func writeTree(w io.Writer, roots []*Node, taskFlag, corFlag string) error {
	var line, prefix []byte
	var stack []renderItem
	for _, root := range roots {
		stack = append(stack[:0], renderItem{node: root, last: true})
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n := it.node

			prefix = prefix[:it.prefixLen]
			line = append(line[:0], prefix...)
			if it.last {
				line = append(line, "└── "...)
				prefix = append(prefix, "    "...)
			} else {
				line = append(line, "├── "...)
				prefix = append(prefix, "│   "...)
			}
			if n.Kind == Task {
				line = append(line, taskFlag...)
			} else {
				line = append(line, corFlag...)
			}
			line = append(line, ' ')
			line = appendLabel(line, n)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}

			// Pushed last child first so that the first child is printed next.
			for k := len(n.Children) - 1; k >= 0; k-- {
				stack = append(stack, renderItem{node: n.Children[k], prefixLen: len(prefix), last: k == len(n.Children)-1})
			}
		}
	}
	return nil
}
