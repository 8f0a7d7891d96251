package systemtest

// System tests of ps and pstree's --group, --filter and --depth against live CPython 3.14 and
// 3.15 processes. The expected trees are made from CPython's own `python -m asyncio pstree`
// text, merged and cut by the code below, which knows nothing of aioscope's tree.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

// textNode is one line of a pstree text tree and the lines below it.
type textNode struct {
	text     string // "(T) name" or " func file:line" (the text after the connector)
	children []*textNode
	names    []string // the tasks a merged node stands for
	below    int      // tasks cut below it
}

func (n *textNode) isTask() bool { return strings.HasPrefix(n.text, "(T) ") }

// parseTextTree parses what pstree prints: every line is a prefix of 4-character columns
// ("│   ", "    "), a connector ("├── ", "└── ") and the node's text.
func parseTextTree(t *testing.T, out string) []*textNode {
	t.Helper()
	var roots []*textNode
	var stack []*textNode
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		i := strings.Index(line, "── ")
		if i < 0 {
			t.Fatalf("not a pstree line: %q", line)
		}
		depth := utf8.RuneCountInString(line[:i]) / 4
		n := &textNode{text: line[i+len("── "):]}
		stack = stack[:depth]
		if depth == 0 {
			roots = append(roots, n)
		} else {
			p := stack[depth-1]
			p.children = append(p.children, n)
		}
		stack = append(stack, n)
	}
	return roots
}

func renderTextTree(roots []*textNode) string {
	var b strings.Builder
	var walk func(n *textNode, prefix string, last bool)
	walk = func(n *textNode, prefix string, last bool) {
		conn, next := "├── ", "│   "
		if last {
			conn, next = "└── ", "    "
		}
		b.WriteString(prefix + conn)
		if len(n.names) > 1 {
			label := n.names[0]
			if n.names[len(n.names)-1] != label || slices.ContainsFunc(n.names, func(s string) bool { return s != label }) {
				label += " … " + n.names[len(n.names)-1]
			}
			fmt.Fprintf(&b, "(T) %s [%d tasks]", label, len(n.names))
		} else {
			b.WriteString(n.text)
		}
		if n.below == 1 {
			b.WriteString(" [+1 task below]")
		} else if n.below > 1 {
			fmt.Fprintf(&b, " [+%d tasks below]", n.below)
		}
		b.WriteString("\n")
		for i, c := range n.children {
			walk(c, prefix+next, i == len(n.children)-1)
		}
	}
	for _, r := range roots {
		walk(r, "", true)
	}
	return b.String()
}

// groupText merges sibling tasks whose subtrees are equal but for task names.
func groupText(list []*textNode) ([]*textNode, []string) {
	var out []*textNode
	var keys []string
	at := map[string]int{}
	for _, n := range list {
		cp := *n
		kids, kidKeys := groupText(n.children)
		cp.children = kids
		key := n.text
		if n.isTask() {
			key = "(T)"
		}
		key += "{"
		for i, k := range kidKeys {
			key += fmt.Sprintf("%s*%d,", k, max(len(kids[i].names), 1))
		}
		key += "}"
		if i, ok := at[key]; ok && n.isTask() {
			m := out[i]
			if len(m.names) == 0 {
				m.names = []string{strings.TrimPrefix(m.text, "(T) ")}
			}
			m.names = append(m.names, strings.TrimPrefix(n.text, "(T) "))
			continue
		}
		if n.isTask() {
			at[key] = len(out)
		}
		out = append(out, &cp)
		keys = append(keys, key)
	}
	return out, keys
}

// cutText keeps depth levels of tasks; a task at the last level counts the tasks it awaits.
func cutText(list []*textNode, level, depth int) []*textNode {
	var out []*textNode
	for _, n := range list {
		cp := *n
		if n.isTask() {
			cp.children = cutBelow(&cp, n.children, level, depth)
		}
		out = append(out, &cp)
	}
	return out
}

// cutBelow copies the frames below task (at level) and the tasks below them, down to depth.
func cutBelow(task *textNode, list []*textNode, level, depth int) []*textNode {
	var out []*textNode
	for _, n := range list {
		if n.isTask() {
			if level >= depth {
				task.below++
				continue
			}
			out = append(out, cutText([]*textNode{n}, level+1, depth)...)
			continue
		}
		cp := *n
		cp.children = cutBelow(task, n.children, level, depth)
		out = append(out, &cp)
	}
	return out
}

func TestShapeOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	bin := testtarget.Binary(t)
	schemas := loadSchemas(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			testtarget.Python(t, version)
			for _, c := range []diffCase{{scenario: "tree.py"}, {scenario: "threads.py"}, {scenario: "many.py", args: []string{"300"}},
				{scenario: "queues.py"}, {scenario: "cycle.py", cycles: 1}} {
				t.Run(c.name(), func(t *testing.T) {
					t.Parallel()
					d := &differ{bin: bin, version: version, c: c, oracles: map[string]toolResult{}}
					d.tg = testtarget.Start(t, version, c.scenario, c.args...)
					// 3.14's tool reads the main thread's tasks only, as --main-thread-only does.
					var same []string
					if version == "3.14" {
						same = []string{"--main-thread-only"}
					}
					want := d.oracle(t, "pstree")
					if c.cycles > 0 {
						got := d.aioscope(t, "pstree", append(same, "--group", "--depth", "2")...)
						if got.code != 1 || string(got.stderr) != string(want.stderr) || len(got.stdout) != 0 {
							t.Errorf("pstree --group on cycles: exit %d, stderr %q, want CPython's %q", got.code, got.stderr, want.stderr)
						}
						return
					}
					if want.code != 0 {
						t.Fatalf("CPython's pstree: exit %d: %s", want.code, want.stderr)
					}
					oracle := parseTextTree(t, string(want.stdout))
					for _, tc := range []struct {
						flags []string
						tree  []*textNode
					}{
						{[]string{"--group"}, first(groupText(oracle))},
						{[]string{"--depth", "2"}, cutText(oracle, 1, 2)},
						{[]string{"--depth", "1", "--group"}, first(groupText(cutText(oracle, 1, 1)))},
						{[]string{"--group", "--depth=3"}, first(groupText(cutText(oracle, 1, 3)))},
					} {
						got := d.aioscope(t, "pstree", append(slices.Clone(same), tc.flags...)...)
						exp := renderTextTree(tc.tree)
						// 3.14's tool garbles non-ASCII names (see the differential test).
						if err := testtarget.CompareGarbled([]byte(exp), got.stdout); got.code != 0 || err != nil {
							t.Errorf("pstree %s: exit %d, %v\n%s\nwant:\n%s", strings.Join(tc.flags, " "), got.code, err, got.stdout, exp)
						}
					}
					checkShapedJSON(t, d, schemas, same)
				})
			}
		})
	}
}

func first[A, B any](a A, _ B) A { return a }

// checkShapedJSON: ps --json --group groups every task once; --filter keeps exactly the tasks
// whose name, function or file names contain the pattern (the text table the same ones); pstree
// --json --group validates and counts every task it merges.
func checkShapedJSON(t *testing.T, d *differ, schemas *schema.Set, same []string) {
	type frame struct {
		Function, File string
	}
	type task struct {
		ID, Name string
		Frames   []frame
	}
	var ps struct {
		Tasks  []task
		Groups []struct {
			Count           int
			Tasks           []string
			AwaitedByGroups []int `json:"awaited_by_groups"`
		}
	}
	got := d.aioscope(t, "ps", append(slices.Clone(same), "--json", "--group")...)
	if err := schemas.Validate(schema.PS, got.stdout); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.stdout, &ps); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for gi, g := range ps.Groups {
		if g.Count != len(g.Tasks) || (gi > 0 && g.Count > ps.Groups[gi-1].Count) {
			t.Errorf("group %d: count %d, %d tasks (the one before %d)", gi, g.Count, len(g.Tasks), ps.Groups[max(gi-1, 0)].Count)
		}
		for _, id := range g.Tasks {
			seen[id]++
		}
		for _, a := range g.AwaitedByGroups {
			if a >= len(ps.Groups) {
				t.Errorf("group %d awaited by group %d of %d", gi, a, len(ps.Groups))
			}
		}
	}
	for _, tk := range ps.Tasks {
		if seen[tk.ID] != 1 {
			t.Errorf("task %s %q is in %d groups", tk.ID, tk.Name, seen[tk.ID])
		}
	}
	if len(seen) != len(ps.Tasks) {
		t.Errorf("groups hold %d tasks, ps lists %d", len(seen), len(ps.Tasks))
	}
	// The text table: a row per group, the counts adding up.
	text := d.aioscope(t, "ps", append(slices.Clone(same), "--group")...)
	lines := strings.Split(strings.TrimSuffix(string(text.stdout), "\n"), "\n")
	total := 0
	for _, l := range lines[2:] {
		n, err := strconv.Atoi(strings.Fields(l)[0])
		if err != nil {
			t.Fatalf("ps --group row %q", l)
		}
		total += n
	}
	if len(lines)-2 != len(ps.Groups) || total != len(ps.Tasks) {
		t.Errorf("ps --group: %d rows for %d tasks, want %d rows for %d", len(lines)-2, total, len(ps.Groups), len(ps.Tasks))
	}

	for _, pattern := range []string{"leaf", "SLEEP", "tree.py", "t0"} {
		var want []string
		for _, tk := range ps.Tasks {
			hit := strings.Contains(strings.ToLower(tk.Name), strings.ToLower(pattern))
			for _, f := range tk.Frames {
				hit = hit || strings.Contains(strings.ToLower(f.Function+"\x00"+f.File), strings.ToLower(pattern))
			}
			if hit {
				want = append(want, tk.ID)
			}
		}
		var filtered struct{ Tasks []task }
		got := d.aioscope(t, "ps", append(slices.Clone(same), "--json", "--filter", pattern)...)
		if err := schemas.Validate(schema.PS, got.stdout); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(got.stdout, &filtered)
		var ids []string
		for _, tk := range filtered.Tasks {
			ids = append(ids, tk.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("ps --json --filter %s: %v, want %v", pattern, ids, want)
		}
		rows := d.aioscope(t, "ps", append(slices.Clone(same), "--filter", pattern)...)
		listed := map[string]bool{}
		for _, l := range strings.Split(string(rows.stdout), "\n")[2:] {
			if f := strings.Fields(l); len(f) > 1 {
				listed[f[1]] = true
			}
		}
		if len(listed) != len(want) {
			t.Errorf("ps --filter %s lists %d tasks, want %d", pattern, len(listed), len(want))
		}
	}

	tree := d.aioscope(t, "pstree", append(slices.Clone(same), "--json", "--group", "--depth", "2")...)
	if err := schemas.Validate(schema.PSTree, tree.stdout); err != nil {
		t.Fatal(err)
	}
}
