package lsp

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/aioscope/aioscope/internal/waittext"
	"github.com/aioscope/aioscope/snapshot"
)

// What the editor is shown, worked out from a view: the text of code lenses, inlay hints, hovers,
// diagnostics and symbols, in the client's units.

// renderer holds what shapes the output for one client.
type renderer struct {
	utf8     bool // columns in bytes, as the target gives them, rather than UTF-16 code units
	markdown bool // hovers in Markdown rather than plain text
}

// Bounds on what one answer lists.
const (
	namesInLens  = 3
	tasksInHover = 20
	// argumentsInHover bounds the tasks whose arguments a hover reads from the target.
	argumentsInHover = 5
	maxSymbols       = 1000
	maxNameInLabel   = 60
)

// lensTitle is a code lens's text: "⏸ 182 tasks · Task-12, Task-19, … · waiting ≥ 41 s".
func lensTitle(v *view, s *site) string {
	var b strings.Builder
	n := len(s.tasks)
	fmt.Fprintf(&b, "⏸ %d %s · ", n, plural(n, "task", "tasks"))
	for k, i := range s.tasks {
		if k == namesInLens {
			b.WriteString(", …")
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(clipName(taskName(&v.snap.Tasks[i])))
	}
	if w := waitText(s.maxWait); w != "" {
		if n == 1 {
			b.WriteString(" · waiting " + w)
		} else {
			b.WriteString(" · waiting up to " + w)
		}
	}
	return b.String()
}

// hintLabel is an inlay hint's text, shorter than a lens's as it sits inside the line.
func hintLabel(v *view, s *site) string {
	n := len(s.tasks)
	label := fmt.Sprintf("⏸ %d %s", n, plural(n, "task", "tasks"))
	if n == 1 {
		label = "⏸ " + clipName(taskName(&v.snap.Tasks[s.tasks[0]]))
	}
	if w := waitText(s.maxWait); w != "" {
		label += " · " + w
	}
	return label
}

// waitText formats a wait, "" when it is too short to say: "41 s", "≥ 41 s".
func waitText(w wait) string { return waittext.Wait(w.d, w.atLeast) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clipName shortens a task name for a line of text: names come from the target and may be long.
func clipName(s string) string {
	if len(s) <= maxNameInLabel {
		return s
	}
	cut := maxNameInLabel
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// column converts a byte column of line (1-based) of the file at path to the client's unit.
func (r renderer) column(v *view, path string, line, byteCol int) int {
	if byteCol < 0 {
		return 0
	}
	if r.utf8 || v == nil || v.paths == nil {
		return byteCol
	}
	if c, ok := v.paths.UTF16Column(path, line, byteCol); ok {
		return c
	}
	return byteCol
}

// siteRange is the range of a site's expression, or the start of its line.
func (r renderer) siteRange(v *view, s *site) Range {
	line := s.line - 1
	start := Position{Line: line, Character: r.column(v, s.path, s.line, s.column)}
	end := start
	if s.endColumn >= 0 {
		end.Character = r.column(v, s.path, s.line, s.endColumn)
	}
	return Range{Start: start, End: end}
}

func (r renderer) frameRange(v *view, path string, f snapshot.Frame) Range {
	start := Position{Line: f.Line - 1, Character: r.column(v, path, f.Line, f.Column)}
	end := start
	if f.EndLine == f.Line && f.EndColumn >= f.Column && f.Column >= 0 {
		end.Character = r.column(v, path, f.Line, f.EndColumn)
	}
	return Range{Start: start, End: end}
}

// codeLenses returns the lenses of the document at docPath.
func (r renderer) codeLenses(v *view, docPath string) []CodeLens {
	sites := v.sitesOf(docPath)
	out := make([]CodeLens, 0, len(sites))
	for _, s := range sites {
		out = append(out, CodeLens{Range: r.siteRange(v, s), Command: &Command{Title: lensTitle(v, s)}})
	}
	return out
}

// inlayHints returns the hints of the document at docPath on lines first to last (0-based).
func (r renderer) inlayHints(v *view, docPath string, first, last int) []InlayHint {
	var out []InlayHint
	for _, s := range v.sitesOf(docPath) {
		if s.line-1 < first || s.line-1 > last {
			continue
		}
		rg := r.siteRange(v, s)
		out = append(out, InlayHint{Position: rg.End, Label: hintLabel(v, s), PaddingLeft: true, Tooltip: lensTitle(v, s)})
	}
	if out == nil {
		out = []InlayHint{}
	}
	return out
}

// hover describes the tasks suspended at line (0-based) of the document at docPath; nil when
// there are none.
func (r renderer) hover(v *view, docPath string, line int, args ArgumentReader) *Hover {
	s := v.siteAt(docPath, line+1)
	if s == nil {
		return nil
	}
	code := func(t string) string {
		if r.markdown {
			return "`" + strings.ReplaceAll(t, "`", "'") + "`"
		}
		return t
	}
	var b strings.Builder
	n := len(s.tasks)
	head := fmt.Sprintf("⏸ %d %s suspended here", n, plural(n, "task is", "tasks are"))
	if r.markdown {
		head = "**" + head + "**"
	}
	fmt.Fprintf(&b, "%s in %s · snapshot of process %d at %s\n\n", head, code(s.function), v.snap.PID,
		v.snap.CapturedAt.Local().Format("15:04:05"))
	for k, i := range s.tasks {
		if k == tasksInHover {
			fmt.Fprintf(&b, "%s… and %d more (workspace symbols list every task by name)\n", bullet(r), n-k)
			break
		}
		t := &v.snap.Tasks[i]
		b.WriteString(bullet(r) + code(taskName(t)))
		if args != nil && k < argumentsInHover {
			if vars, err := args.Arguments(t, int(s.frame[k])); err == nil {
				if call := argumentList(s.function, vars); call != "" {
					b.WriteString(" " + code(call))
				}
			}
		}
		if f := int(s.frame[k]); f > 0 && f < len(t.Frames) {
			b.WriteString(" — waits in " + code(t.Frames[0].Function))
		}
		if aw := awaiterNames(v, t); aw != "" {
			b.WriteString(" — awaited by " + aw)
		}
		if v.waits != nil {
			w := v.waits[i]
			if txt := waitText(w); txt != "" {
				b.WriteString(" — waiting " + txt)
			}
			if w.stuck {
				b.WriteString(" — stuck")
			}
			if w.wakes.After(v.snap.CapturedAt) {
				b.WriteString(" — wakes in " + waittext.Duration(w.wakes.Sub(v.snap.CapturedAt)))
			}
		}
		b.WriteString("\n")
	}
	kind := "plaintext"
	if r.markdown {
		kind = "markdown"
	}
	rg := r.siteRange(v, s)
	return &Hover{Contents: markupContent{Kind: kind, Value: b.String()}, Range: &rg}
}

func bullet(r renderer) string {
	if r.markdown {
		return "- "
	}
	return "• "
}

// argumentList shows a frame's arguments as a call: fn(x=1, name='a'); "" when it has none.
func argumentList(fn string, vars []snapshot.Variable) string {
	var parts []string
	for _, a := range vars {
		if a.Kind != "argument" {
			continue
		}
		val := a.Repr
		if a.Err != "" {
			val = "<" + a.Err + ">"
		}
		if len(val) > 80 {
			val = clipName(val[:80]) + "…"
		}
		parts = append(parts, a.Name+"="+val)
	}
	if len(parts) == 0 {
		return ""
	}
	if i := strings.LastIndexByte(fn, '.'); i >= 0 {
		fn = fn[i+1:]
	}
	return fn + "(" + strings.Join(parts, ", ") + ")"
}

// awaiterNames lists who awaits t: task names, and plain futures counted.
func awaiterNames(v *view, t *snapshot.Task) string {
	var names []string
	futures := 0
	for _, a := range t.AwaitedBy {
		if k, ok := v.awaiters[a.ID]; ok && k >= 0 && a.IsTask {
			names = append(names, clipName(taskName(&v.snap.Tasks[k])))
		} else if a.IsTask {
			names = append(names, pyHex(a.ID))
		} else {
			futures++
		}
		if len(names) == 5 {
			names = append(names, "…")
			break
		}
	}
	if futures > 0 {
		names = append(names, fmt.Sprintf("%d %s", futures, plural(futures, "future", "futures")))
	}
	return strings.Join(names, ", ")
}

// diagnostics returns the diagnostics of the view by the path of the file they are in.
func (r renderer) diagnostics(v *view, withRelated bool) map[string][]Diagnostic {
	out := map[string][]Diagnostic{}
	if v == nil {
		return out
	}
	for _, p := range v.problems {
		for k, at := range p.at {
			d := Diagnostic{
				Range:    r.frameRange(v, at.path, at.frame),
				Severity: p.severity,
				Code:     p.code,
				Source:   "aioscope",
				Message:  at.message,
			}
			if withRelated {
				for j, other := range p.at {
					if j == k {
						continue
					}
					d.RelatedInformation = append(d.RelatedInformation, DiagnosticRelatedInformation{
						Location: Location{URI: fileURI(other.path), Range: r.frameRange(v, other.path, other.frame)},
						Message:  other.related,
					})
				}
			}
			out[at.path] = append(out[at.path], d)
		}
	}
	return out
}

// symbols lists the tasks whose names contain query (any case), each where it waits.
func (r renderer) symbols(v *view, query string) []SymbolInformation {
	out := []SymbolInformation{}
	if v == nil {
		return out
	}
	q := strings.ToLower(query)
	for i := range v.snap.Tasks {
		t := &v.snap.Tasks[i]
		name := taskName(t)
		if q != "" && !strings.Contains(strings.ToLower(name), q) {
			continue
		}
		f, _, ok := waitFrame(t)
		if !ok {
			continue
		}
		p := v.paths.Local(f.File)
		out = append(out, SymbolInformation{
			Name:          name,
			Kind:          symbolKindEvent,
			Location:      Location{URI: fileURI(p), Range: r.frameRange(v, p, f)},
			ContainerName: f.Function,
		})
		if len(out) == maxSymbols {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// fileURI turns an absolute path into a file: URI.
func fileURI(p string) string {
	u := url.URL{Scheme: "file", Path: p}
	return u.String()
}

// uriPath returns the path of a file: URI, "" for any other.
func uriPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
		return ""
	}
	return u.Path
}
