package testtarget

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// psRow formats a row the way asyncio's tools.py does; Go's %-Ns pads by code points like
// Python's f"{s:<N}", NUL included.
func psRow(tid, id, name, stack, chain, awaiter, awaiterID string) string {
	return fmt.Sprintf("%-10s %-20s %-20s %-50s %-50s %-15s %-15s\n", tid, id, name, stack, chain, awaiter, awaiterID)
}

const psHeader = "tid        task id              task name            coroutine stack                                    awaiter chain                                      awaiter name    awaiter id     \n" +
	"------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------\n"

func nuls(n int) string { return strings.Repeat("\x00", n) }

func TestComparatorAccepts(t *testing.T) {
	cases := []struct {
		name          string
		cpython, ours string
	}{
		{"identical", psHeader + psRow("7", "0x1", "Task-1", "sleep -> main", "", "", "0x0"),
			psHeader + psRow("7", "0x1", "Task-1", "sleep -> main", "", "", "0x0")},
		{"identical non-ASCII", "└── (T) tâche\n", "└── (T) tâche\n"},
		{"empty", "", ""},
		{"garbled task name, padded", psRow("7", "0x2", nuls(13), "sleep -> deep", "", "", "0x0"),
			psRow("7", "0x2", "tâche-ünïcode", "sleep -> deep", "", "", "0x0")},
		{"garbled emoji name", psRow("7", "0x2", nuls(7), "sleep", "", "", "0x0"),
			psRow("7", "0x2", "emoji-😀", "sleep", "", "", "0x0")},
		{"garbled function names in a chain",
			psRow("7", "0x3", "ascii", "sleep -> "+nuls(6)+" -> "+nuls(15), "", "", "0x0"),
			psRow("7", "0x3", "ascii", "sleep -> zażółć -> Ünïcode.méthode", "", "", "0x0")},
		{"garbled awaiter name",
			psRow("7", "0x4", "child", "sleep", "TaskGroup._aexit -> grupo", nuls(13), "0x5"),
			psRow("7", "0x4", "child", "sleep", "TaskGroup._aexit -> grupo", "Ünïcode-grupo", "0x5")},
		{"garbled name longer than its column",
			psRow("7", "0x4", nuls(24), "sleep", "", "", "0x0"),
			psRow("7", "0x4", "ααααααααααααααααααααααα1", "sleep", "", "", "0x0")},
		{"garbage that is not NUL", "(T) \x02\n(T) " + nuls(16) + "a\n", "(T) é\n(T) aaaaaaaaaaaaaaaa😀\n"},
		{"function and file name, line kept",
			"    └──  " + nuls(7) + " " + nuls(16) + "/w/u:7\n",
			"    └──  función /w/unicodé/módulo.py:7\n"},
		{"ASCII function, garbled file name",
			"        └──  main " + nuls(16) + "/:12\n",
			"        └──  main /tmp/dossier/é.py:12\n"},
		{"cycle report", "cycle: " + nuls(3) + " → B → " + nuls(3) + "\n", "cycle: ünï → B → ünï\n"},
		{"garbled at start and end without newline", nuls(5), "tâche"},
		{"garbage happens to equal the text", "(T) x" + nuls(2) + "\n", "(T) xéé\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CompareGarbled([]byte(c.cpython), []byte(c.ours)); err != nil {
				t.Errorf("CompareGarbled rejected a legitimate garbling:\n%v", err)
			}
		})
	}
}

func TestComparatorRejects(t *testing.T) {
	cases := []struct {
		name          string
		cpython, ours string
		wantLine      int // line the error must point at (cpython side), 0: not checked
	}{
		{"ASCII difference", psHeader + psRow("7", "0x1", "Task-1", "sleep -> main", "", "", "0x0"),
			psHeader + psRow("7", "0x1", "Task-2", "sleep -> main", "", "", "0x0"), 3},
		{"one code point short, compensated by padding",
			psHeader + psRow("7", "0x2", nuls(13), "sleep -> deep", "", "", "0x0"),
			psHeader + psRow("7", "0x2", "tâche-ünïcod", "sleep -> deep", "", "", "0x0"), 3},
		{"one code point too many",
			psRow("7", "0x2", nuls(13), "sleep -> deep", "", "", "0x0"),
			psRow("7", "0x2", "tâche-ünïcodee", "sleep -> deep", "", "", "0x0"), 1},
		{"count mismatch in an overflowing column",
			psRow("7", "0x4", nuls(24), "sleep", "", "", "0x0"),
			psRow("7", "0x4", "αααααααααααααααααααααα", "sleep", "", "", "0x0"), 1},
		{"garbage where aioscope printed ASCII", "(T) " + nuls(6) + "\n", "(T) Task-1\n", 1},
		{"garbage over part of an ASCII word", "(T) x" + nuls(4) + "\n", "(T) xyéé\n", 1},
		{"different tree glyph", "├── (T) tâche\n", "└── (T) tâche\n", 1},
		{"tree glyph is never garbage", nuls(3) + " (T) x\n", "└── (T) x\n", 1},
		{"arrow is never garbage", "cycle: A " + nuls(1) + " B\n", "cycle: A → B\n", 1},
		{"ASCII file name differs next to garbled function",
			"  " + nuls(3) + " /path/file.py:3\n", "  ünï /path/filX.py:3\n", 1},
		{"line number differs after garbled file name",
			"    └──  " + nuls(7) + " " + nuls(16) + "/w/u:7\n",
			"    └──  función /w/unicodé/módulo.py:8\n", 1},
		{"strings with spaces are not recognised", "└── (T) " + nuls(8) + "\n", "└── (T) naïve 名前\n", 1},
		{"function and file name are two strings",
			"  " + nuls(3) + "!" + nuls(16) + "/w/u:7\n", "  ünï /w/unicodé/módulo.py:7\n", 1},
		{"garbage never spans lines", "(T) " + nuls(2) + "\n\n", "(T) ünï\n", 0},
		{"missing last line", "a\nb\n", "a\nb\nc\n", 3},
		{"extra line", "a\nb\nc\n", "a\nb\n", 3},
		{"rows swapped", "(T) A\n(T) " + nuls(3) + "\n", "(T) ünï\n(T) A\n", 0},
		{"missing trailing newline", "(T) " + nuls(3), "(T) ünï\n", 1},
		{"garbage across a newline", "(T) " + nuls(4) + "x\n", "(T) ünï\nx\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CompareGarbled([]byte(c.cpython), []byte(c.ours))
			if err == nil {
				t.Fatalf("CompareGarbled accepted a real difference:\ncpython: %q\nours:    %q", c.cpython, c.ours)
			}
			if want := fmt.Sprintf("cpython line %d,", c.wantLine); c.wantLine > 0 && !strings.Contains(err.Error(), want) {
				t.Errorf("error does not point at %q:\n%v", want, err)
			}
		})
	}
}

// TestComparatorRealOutput uses real output for testdata/scenarios/unicode.py: CPython 3.14's
// (garbled) and CPython 3.15's (correct, what aioscope prints), with addresses, thread ids and
// standard-library locations normalised so that the two runs line up.
func TestComparatorRealOutput(t *testing.T) {
	for _, cmd := range []string{"ps", "pstree"} {
		t.Run(cmd, func(t *testing.T) {
			read := func(version string) []byte {
				b, err := os.ReadFile(filepath.Join("testdata", "unicode-"+cmd+"-"+version+".txt"))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			old, ours := read("3.14"), read("3.15")
			if bytes.Equal(old, ours) || !bytes.Contains(old, []byte{0}) {
				t.Fatal("fixture is not garbled")
			}
			if err := CompareGarbled(old, ours); err != nil {
				t.Fatalf("real 3.14 output rejected: %v", err)
			}
			// Every single-byte change of CPython's output outside the garbage must be caught. A
			// garbage run is a run of NULs plus, for a file name, the ASCII that follows up to the
			// ':' of the line number.
			inGarbage := false
			for i := range old {
				switch old[i] {
				case 0:
					inGarbage = true
				case ':', ' ', '\n':
					inGarbage = false
				}
				if inGarbage {
					continue
				}
				mutated := bytes.Clone(old)
				mutated[i] ^= 0x01
				if err := CompareGarbled(mutated, ours); err == nil {
					t.Fatalf("byte %d (%q) of the cpython output changed, still accepted", i, old[i])
				}
			}
			// Dropping or adding a code point to a non-ASCII string of ours must be caught too.
			found := 0
			for _, word := range []string{"café", "λάμβδα", "𐌀𐌁𐌂𐌃", "naïve", "módulo.py", "Ünïcode-grupo", "función"} {
				if !bytes.Contains(ours, []byte(word)) {
					continue
				}
				found++
				runes := []rune(word)
				shorter := bytes.Replace(ours, []byte(word), []byte(string(runes[:len(runes)-1])), 1)
				if err := CompareGarbled(old, shorter); err == nil {
					t.Errorf("%q shortened by one code point, still accepted", word)
				}
				longer := bytes.Replace(ours, []byte(word), []byte(word+"é"), 1)
				if err := CompareGarbled(old, longer); err == nil {
					t.Errorf("%q lengthened by one code point, still accepted", word)
				}
			}
			if found < 4 {
				t.Fatalf("fixture has only %d of the non-ASCII strings looked for", found)
			}
		})
	}
}
