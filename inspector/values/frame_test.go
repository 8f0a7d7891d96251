package values_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/aioscope/aioscope/inspector/values"
)

type frameCase struct {
	What    string      `json:"what"`
	Coro    uint64      `json:"coro"`
	IFrame  uint64      `json:"iframe"`
	Vars    [][3]string `json:"vars"`
	Lookups [][3]string `json:"lookups"`
	Missing []string    `json:"missing"`
	Skip    []string    `json:"skip"`
	Len     int         `json:"len"`
}

func (tgt *target) frameAddr(c frameCase) uint64 {
	if c.IFrame != 0 {
		return c.IFrame
	}
	return c.Coro + tgt.proc.Offsets().GenObject.GiIframe
}

func TestFrameVariables(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var doc struct{ Frames []frameCase }
			tgt := startTarget(t, v, "values_frames.py", exactLimits(), &doc)
			checked := 0
			for _, c := range doc.Frames {
				if c.Vars == nil {
					continue
				}
				vars, err := tgt.reader.Frame(tgt.frameAddr(c))
				if err != nil {
					t.Fatalf("%s: %v", c.What, err)
				}
				var got [][3]string
				for _, gv := range vars {
					if gv.Err != nil {
						t.Errorf("%s: %s: %v", c.What, gv.Name, gv.Err)
					}
					if slices.Contains(c.Skip, gv.Name) {
						continue
					}
					got = append(got, [3]string{gv.Name, gv.Kind, gv.Repr})
				}
				if !slices.Equal(got, c.Vars) {
					t.Errorf("%s frame:\n got  %q\n want %q", c.What, got, c.Vars)
				}
				checked += len(got)
				for _, l := range c.Lookups {
					gv, err := tgt.reader.Lookup(tgt.frameAddr(c), l[0])
					if err != nil {
						t.Errorf("%s: Lookup(%s): %v", c.What, l[0], err)
						continue
					}
					kind := gv.Kind
					if kind == "argument" || kind == "cell" || kind == "free" {
						kind = "local"
					}
					if kind != l[1] || gv.Repr != l[2] {
						t.Errorf("%s: Lookup(%s) = %s %q, want %s %q", c.What, l[0], gv.Kind, gv.Repr, l[1], l[2])
					}
				}
				if c.What == "handler" {
					g, err := tgt.reader.Globals(tgt.frameAddr(c))
					if err != nil {
						t.Fatal(err)
					}
					kids, err := tgt.reader.Children(g, 0, 1000)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.ContainsFunc(kids, func(k values.Child) bool {
						return k.Name == "'GLOBAL_MARKER'" && k.Repr == "'module-global-value'"
					}) {
						t.Errorf("the module's globals lack GLOBAL_MARKER: %d children", len(kids))
					}
				}
				for _, name := range c.Missing {
					if _, err := tgt.reader.Lookup(tgt.frameAddr(c), name); !errors.Is(err, values.ErrNoName) {
						t.Errorf("%s: Lookup(%s): %v, want ErrNoName", c.What, name, err)
					}
				}
			}
			t.Logf("Python %s: %d variables of %d frames as frame.f_locals shows them", v, checked, len(doc.Frames))
		})
	}
}

// TestFrameBigLocal checks that a local holding a dict of 100,000 items costs its first items,
// not the whole dict.
func TestFrameBigLocal(t *testing.T) {
	var doc struct{ Frames []frameCase }
	tgt := startTarget(t, "3.15", "values_frames.py", values.Limits{MaxItems: 5}, &doc)
	for _, c := range doc.Frames {
		if c.What != "big" {
			continue
		}
		vars, err := tgt.reader.Frame(tgt.frameAddr(c))
		if err != nil {
			t.Fatal(err)
		}
		if len(vars) != 1 || vars[0].Name != "table" || vars[0].Len != c.Len || !vars[0].Truncated ||
			vars[0].Repr != "{0: '0', 1: '1', 2: '2', 3: '3', 4: '4', ...}" {
			t.Fatalf("big local: %+v", vars)
		}
		kids, err := tgt.reader.Children(vars[0].Ref, 99998, 10)
		if err != nil || len(kids) != 2 || kids[1].Name != "99999" || kids[1].Repr != "'99999'" {
			t.Fatalf("last page: %+v %v", kids, err)
		}
		return
	}
	t.Fatal("no frame with a big local")
}

func TestFrameOfFinishedCoroutine(t *testing.T) {
	var doc struct{ Frames []frameCase }
	tgt := startTarget(t, "3.14", "values_frames.py", values.Limits{}, &doc)
	for _, c := range doc.Frames {
		if c.What == "finished" {
			if _, err := tgt.reader.Frame(tgt.frameAddr(c)); !errors.Is(err, values.ErrFrameFinished) {
				t.Errorf("Frame of a finished coroutine: %v", err)
			}
		}
	}
	// Memory inside an object is not a frame: its "executable" is no code object.
	var ce *values.ChangedError
	if _, err := tgt.reader.Frame(doc.Frames[0].Coro + 8); !errors.As(err, &ce) {
		t.Errorf("Frame of a non-frame: %v", err)
	}
}
