package cycles

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
)

func setOrder(values []uint64) []uint64 {
	s := newPyIntSet()
	for _, v := range values {
		s.add(v)
	}
	return s.items()
}

// TestPySetFixture compares the emulated set iteration order with orders recorded from the real
// interpreters (testdata/cpython_tools.py setorder-fixture; 3.14 and 3.15 give the same file).
func TestPySetFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/setorder.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Add   []uint64 `json:"add"`
		Order []uint64 `json:"order"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 200 {
		t.Fatalf("only %d cases", len(cases))
	}
	for i, c := range cases {
		if got := setOrder(c.Add); !slices.Equal(got, c.Order) && !(len(got) == 0 && len(c.Order) == 0) {
			t.Errorf("case %d (%d adds): got %v, want %v", i, len(c.Add), got, c.Order)
		}
	}
}

// randomAddSequences makes add sequences that stress the probing and resizing paths: task-like
// addresses, values above 2**61-1, values with equal hashes, dense small ints and repeats.
func randomAddSequences(r *rand.Rand, count int) [][]uint64 {
	const p = pyHashModulus
	var out [][]uint64
	for range count {
		n := r.IntN(300)
		if r.IntN(10) == 0 {
			n = r.IntN(5000)
		}
		seq := make([]uint64, n)
		base := 0x7f0000000000 + 16*r.Uint64N(1<<24)
		mode := r.IntN(6)
		for i := range seq {
			switch mode {
			case 0:
				seq[i] = base + 16*uint64(i)
			case 1:
				seq[i] = base + 16*r.Uint64N(uint64(2*n+1))
			case 2:
				seq[i] = r.Uint64()
			case 3:
				seq[i] = r.Uint64N(1<<12) + p*r.Uint64N(8)
			case 4:
				seq[i] = r.Uint64N(uint64(n/2 + 2))
			default:
				seq[i] = base + 32*uint64(i)<<r.UintN(8)
			}
		}
		out = append(out, seq)
	}
	return out
}

// TestPySetAgainstPython compares the emulated set iteration order with the real interpreters on
// random add sequences, including one large enough to take CPython's "used > 50000" resize path.
func TestPySetAgainstPython(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			python := testtarget.Python(t, version)
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			r := rand.New(rand.NewPCG(seed, 0x5e7))
			seqs := randomAddSequences(r, 400)
			// The table of 131072 slots fills up at 78643 keys; from then on CPython grows by
			// used*2 instead of used*4.
			big := make([]uint64, 0, 90000)
			for i := range 90000 {
				big = append(big, 0x7f3a00000000+48*uint64(i)+uint64(r.IntN(3))*16)
			}
			seqs = append(seqs, big)
			want := pythonSetOrders(t, python, seqs)
			if len(want) != len(seqs) {
				t.Fatalf("%d answers for %d sequences", len(want), len(seqs))
			}
			for i, seq := range seqs {
				if got := setOrder(seq); !slices.Equal(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
					t.Errorf("sequence %d (%d adds): order differs from python%s", i, len(seq), version)
				}
			}
		})
	}
}

// pythonSetOrders returns, for each sequence, list(s) after s = set() and s.add of each value,
// as python computes it.
func pythonSetOrders(t *testing.T, python string, seqs [][]uint64) [][]uint64 {
	t.Helper()
	in, err := json.Marshal(seqs)
	if err != nil {
		t.Fatal(err)
	}
	const script = `import json, sys
def order(values):
    s = set()
    for v in values:
        s.add(v)
    return list(s)
json.dump([order(v) for v in json.load(sys.stdin)], sys.stdout)`
	cmd := exec.Command(python, "-I", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", python, err, stderr.String())
	}
	var orders [][]uint64
	if err := json.Unmarshal(out, &orders); err != nil {
		t.Fatalf("decoding the set orders: %v", err)
	}
	return orders
}
