package lsp

import (
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/snapshot"
)

// A view is one snapshot arranged for the editor: the lines where tasks are suspended, file by
// file, the await cycles and other findings with the places they are shown. It is built once per
// snapshot, and every request until the next one is answered from it.
type view struct {
	snap  *snapshot.Snapshot
	paths *srcpath.Resolver
	// byPath holds the sites of each file, by the path it has here (srcpath), sorted by line.
	byPath map[string][]*site
	// awaiters maps the id of every awaiter to its task's index in snap.Tasks (-1: not a task).
	awaiters map[uint64]int
	// waits is how long each task has waited where it is, by index in snap.Tasks; zero when
	// unknown.
	waits []wait
	// problems are the cycles and findings, each with the places it is shown.
	problems []problem

	idOnce     sync.Once
	byIdentity map[fileID]string // the paths of byPath by the file they are, see pathOf
}

// site is a line of source where tasks are suspended: the line of a frame in their coroutine
// chains (the frame's await, or its async with or async for).
type site struct {
	path string // the file here
	line int    // 1-based
	// function, column and endColumn come from the first frame met at this line; columns are
	// byte offsets (-1: unknown), endColumn only when the expression ends on the same line.
	function          string
	column, endColumn int
	// tasks are the tasks suspended here, by index in the snapshot's Tasks, in its order, each once.
	tasks []int32
	// frame is, for each task of tasks, the index of this line's frame in its chain.
	frame []int16
	// maxWait is the longest any of tasks has waited (zero when unknown).
	maxWait wait
}

// wait is how long a task has been seen waiting at its current place (tracking.Wait).
type wait struct {
	d time.Duration
	// atLeast marks a lower bound: the task was already there when the watching began, or the
	// snapshots that bound the start are far apart.
	atLeast bool
	stuck   bool      // a leaf task waiting for stuckThreshold or longer, not in asyncio.sleep()
	wakes   time.Time // when its asyncio.sleep() ends, zero when unknown
}

func (w wait) longer(o wait) bool { return w.d > o.d || w.d == o.d && w.atLeast && !o.atLeast }

// problem is something to show as a diagnostic, at one or more places.
type problem struct {
	severity int
	code     string
	// at lists where it is shown, each with its own message; each place's diagnostic points
	// at the others as related information.
	at []problemPlace
}

type problemPlace struct {
	path    string
	frame   snapshot.Frame
	message string
	related string // how the other places describe this one
}

// fileID identifies a file regardless of the path it is reached by.
type fileID struct{ dev, ino uint64 }

// sitesKey locates a site while a view is built.
type siteKey struct {
	file string // as the target names it
	line int
}

// buildView arranges snap with what the watch knew as of it (nil: nothing): the tasks' waits,
// and the stuck tasks and blocked loops, shown as warnings. It reads no memory of the target,
// only the snapshot, and stats each file once.
func buildView(snap *snapshot.Snapshot, paths *srcpath.Resolver, obs *observed) *view {
	v := &view{
		snap:     snap,
		paths:    paths,
		byPath:   map[string][]*site{},
		awaiters: snapshot.AwaiterIndex(snap.Tasks),
	}
	if obs != nil && len(obs.waits) == len(snap.Tasks) {
		v.waits = obs.waits
	}
	sites := map[siteKey]*site{}
	// Tasks suspended at the same places share one frames list: each list's sites are found once.
	type chainSite struct {
		s     *site
		frame int16
	}
	chains := map[snapshot.FramesKey][]chainSite{}
	var order []*site
	for i := range snap.Tasks {
		t := &snap.Tasks[i]
		k := snapshot.KeyOf(t.Frames)
		cs, ok := chains[k]
		if !ok {
			for j, f := range t.Frames {
				if !f.HasLine || f.Line <= 0 || !srcpath.IsFileName(f.File) || j > 1<<15-1 {
					continue
				}
				key := siteKey{f.File, f.Line}
				s := sites[key]
				if s == nil {
					s = &site{path: paths.Local(f.File), line: f.Line, function: f.Function, column: f.Column, endColumn: -1}
					if f.EndLine == f.Line && f.Column >= 0 && f.EndColumn >= f.Column {
						s.endColumn = f.EndColumn
					}
					sites[key] = s
					order = append(order, s)
				}
				dup := false // a recursive coroutine can pass the same line twice
				for _, c := range cs {
					dup = dup || c.s == s
				}
				if !dup {
					cs = append(cs, chainSite{s, int16(j)})
				}
			}
			chains[k] = cs
		}
		for _, c := range cs {
			c.s.tasks = append(c.s.tasks, int32(i))
			c.s.frame = append(c.s.frame, c.frame)
			if v.waits != nil && v.waits[i].longer(c.s.maxWait) {
				c.s.maxWait = v.waits[i]
			}
		}
	}
	for _, s := range order {
		v.byPath[s.path] = append(v.byPath[s.path], s)
	}
	for _, list := range v.byPath {
		sort.Slice(list, func(i, j int) bool { return list[i].line < list[j].line })
	}
	v.problems = cycleProblems(snap, paths)
	if obs != nil {
		v.problems = append(v.problems, stuckProblems(snap, paths, v.waits)...)
		v.problems = append(v.problems, blockProblems(paths, obs)...)
	}
	return v
}

// sitesOf returns the sites of the document at docPath: the file of that path, or failing that
// the same file reached by another path (a symbolic link, a bind mount seen through
// /proc/PID/root).
func (v *view) sitesOf(docPath string) []*site {
	if v == nil || docPath == "" {
		return nil
	}
	if list, ok := v.byPath[docPath]; ok {
		return list
	}
	if p := v.pathOf(docPath); p != "" {
		return v.byPath[p]
	}
	return nil
}

// pathOf returns the path under which the view knows the file at docPath, when it knows it by
// another path; "" otherwise.
func (v *view) pathOf(docPath string) string {
	v.idOnce.Do(func() {
		v.byIdentity = map[fileID]string{}
		for p := range v.byPath {
			if id, ok := identify(p); ok {
				v.byIdentity[id] = p
			}
		}
	})
	id, ok := identify(docPath)
	if !ok {
		return ""
	}
	return v.byIdentity[id]
}

func identify(p string) (fileID, bool) {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}

// siteAt returns the site at line (1-based) of the document at docPath.
func (v *view) siteAt(docPath string, line int) *site {
	list := v.sitesOf(docPath)
	i := sort.Search(len(list), func(i int) bool { return list[i].line >= line })
	if i < len(list) && list[i].line == line {
		return list[i]
	}
	return nil
}

// waitFrame returns the frame where a task is shown to wait: the innermost frame of the
// program's own code, or the innermost frame in a file when all of them are the standard
// library's asyncio. ok is false when no frame is in a file with a known line.
func waitFrame(t *snapshot.Task) (snapshot.Frame, int, bool) { return waitFrameOf(t.Frames) }

// waitFrameOf is waitFrame for a coroutine chain.
func waitFrameOf(frames []snapshot.Frame) (snapshot.Frame, int, bool) {
	fallback := -1
	for i, f := range frames {
		if !f.HasLine || f.Line <= 0 || !srcpath.IsFileName(f.File) {
			continue
		}
		if !snapshot.IsStdlibAsyncio(f.File) {
			return f, i, true
		}
		if fallback < 0 {
			fallback = i
		}
	}
	if fallback >= 0 {
		return frames[fallback], fallback, true
	}
	return snapshot.Frame{}, -1, false
}

// taskName returns how a task is named in messages.
func taskName(t *snapshot.Task) string {
	if t.Name != "" {
		return t.Name
	}
	return pyHex(t.ID)
}
