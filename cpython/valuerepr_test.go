package cpython

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// The renderers of repr() text are checked against the interpreters themselves: each test has
// Python print repr() of a generated corpus and compares it with the Go rendering.

var updateUnicode = flag.Bool("update-unicode", false, "rewrite unicode/nonprintable-3.1x.txt from the interpreters")

var reprVersions = []string{"3.14", "3.15"}

// runPython runs script with the interpreter of version, stdin as its input, and returns stdout.
func runPython(t *testing.T, version, script string, stdin []byte) []byte {
	t.Helper()
	py := testtarget.Python(t, version)
	cmd := exec.Command(py, "-I", "-X", "utf8", "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %s: %v\n%s", version, err, stderr.String())
	}
	return out
}

func minorOf(version string) int {
	_, m, _ := strings.Cut(version, ".")
	n, _ := strconv.Atoi(m)
	return n
}

func TestFloatReprTable(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {-1.5, "-1.5"}, {0.30000000000000004, "0.30000000000000004"},
		{1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {1e22, "1e+22"}, {1e-5, "1e-05"}, {0.0001, "0.0001"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"}, {math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"}, {math.NaN(), "nan"}, {-math.NaN(), "nan"}, {1658206780088562.25, "1658206780088562.2"},
		{20000000000000008, "2.000000000000001e+16"}, {1e100, "1e+100"}, {-2.5e-5, "-2.5e-05"}, {123e-310, "1.23e-308"},
	} {
		if got := FloatRepr(c.x); got != c.want {
			t.Errorf("FloatRepr(%v) = %q, want %q", c.x, got, c.want)
		}
	}
}

// floatCorpus is n doubles: random bit patterns, random short decimals, powers of two, integers
// near 2^53, and the boundaries of the exponent rule.
func floatCorpus(n int) []float64 {
	rnd := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, math.Copysign(0, -1), 1e16, 1e16 - 2, 9999999999999998, 1e-4, 1e-5, 0.00009999999999999999,
		5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 2.0 * (1 << 52)}
	for e := -1074; e < 1024 && len(xs) < n/4; e += 3 {
		xs = append(xs, math.Ldexp(1, e), -math.Ldexp(1, e))
	}
	for len(xs) < n {
		switch rnd.IntN(3) {
		case 0:
			xs = append(xs, math.Float64frombits(rnd.Uint64()))
		case 1:
			s := fmt.Sprintf("%de%d", rnd.Int64N(int64(math.Pow10(1+rnd.IntN(17)))), rnd.IntN(50)-25)
			x, _ := strconv.ParseFloat(s, 64)
			xs = append(xs, x)
		default:
			xs = append(xs, float64(int64(1)<<52+rnd.Int64N(1<<53))+[]float64{0, 0.25, 0.5, 0.75}[rnd.IntN(4)])
		}
	}
	return xs
}

func TestFloatReprAgainstPython(t *testing.T) {
	xs := floatCorpus(10000)
	var in bytes.Buffer
	for _, x := range xs {
		fmt.Fprintf(&in, "%016x\n", math.Float64bits(x))
	}
	script := `import struct, sys
for line in sys.stdin:
    x = struct.unpack('<d', bytes.fromhex(line.strip())[::-1])[0]
    print(repr(x), repr(round(x, 3)))`
	for _, v := range reprVersions {
		t.Run(v, func(t *testing.T) {
			lines := strings.Split(strings.TrimSuffix(string(runPython(t, v, script, in.Bytes())), "\n"), "\n")
			if len(lines) != len(xs) {
				t.Fatalf("python printed %d lines for %d floats", len(lines), len(xs))
			}
			bad := 0
			for i, x := range xs {
				want, wantRound, _ := strings.Cut(lines[i], " ")
				if got := FloatRepr(x); got != want {
					bad++
					if bad <= 5 {
						t.Errorf("FloatRepr(%016x) = %q, Python %s says %q", math.Float64bits(x), got, v, want)
					}
				}
				if got := FloatRepr(RoundFloat(x, 3)); got != wantRound {
					bad++
					if bad <= 5 {
						t.Errorf("round(%s, 3): got %q, Python %s says %q", want, got, v, wantRound)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d floats differ", bad, len(xs))
			}
		})
	}
}

// encodeStr lays code points out as str data of the smallest kind that holds them all.
func encodeStr(cps []rune) (int, []byte) {
	kind := 1
	for _, c := range cps {
		if c > 0xFFFF {
			kind = 4
		} else if c > 0xFF && kind < 2 {
			kind = 2
		}
	}
	data := make([]byte, kind*len(cps))
	for i, c := range cps {
		switch kind {
		case 1:
			data[i] = byte(c)
		case 2:
			binary.LittleEndian.PutUint16(data[2*i:], uint16(c))
		default:
			binary.LittleEndian.PutUint32(data[4*i:], uint32(c))
		}
	}
	return kind, data
}

func TestStrReprEveryCodePoint(t *testing.T) {
	script := `import sys
sys.stdout.write('\n'.join(repr(chr(c)) for c in range(0x110000)))`
	for _, v := range reprVersions {
		t.Run(v, func(t *testing.T) {
			p := PrintableFor(minorOf(v))
			lines := strings.Split(string(runPython(t, v, script, nil)), "\n")
			if len(lines) != 0x110000 {
				t.Fatalf("python printed %d lines", len(lines))
			}
			bad := 0
			for c := range rune(0x110000) {
				kind, data := encodeStr([]rune{c})
				if got := string(AppendStrRepr(nil, p, kind, data)); got != lines[c] {
					bad++
					if bad <= 5 {
						t.Errorf("repr(chr(0x%x)): got %q, Python %s says %q", c, got, v, lines[c])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d code points render differently", bad)
			}
		})
	}
}

// TestStrReprGarbage: a 4-byte str holding values no code point has (memory that is not a str
// after all) is escaped as \U and the value, never a panic.
func TestStrReprGarbage(t *testing.T) {
	p := PrintableFor(14)
	for _, c := range []struct {
		value uint32
		want  string
	}{{0x110000, `'\U00110000'`}, {0x7FFFFFFF, `'\U7fffffff'`}, {0x80000000, `'\U80000000'`}, {0xFFFFFFF0, `'\Ufffffff0'`}} {
		data := binary.LittleEndian.AppendUint32(nil, c.value)
		if got := string(AppendStrRepr(nil, p, 4, data)); got != c.want {
			t.Errorf("0x%x: %s, want %s", c.value, got, c.want)
		}
	}
}

func TestStrReprMixes(t *testing.T) {
	// Python draws the strings (with a fixed seed) and prints each as its code points and repr.
	script := `import json, random, sys
rnd = random.Random(7)
alpha = ["'", '"', '\\', '\t', '\n', '\r', '\x00', '\x7f', '\x80', '\xa0', '\xad', 'a', 'Z', ' ', '\xe9', '\u03bb',
         '\u2028', '\u200b', '\ud800', '\udfff', '\U0001f600', '\U000e0001', '\U0010ffff', '\x0b', '\x0c', '\uffff']
out = []
for i in range(5000):
    s = ''.join(rnd.choice(alpha) for _ in range(rnd.randint(0, 12)))
    out.append([[ord(c) for c in s], repr(s)])
json.dump(out, sys.stdout)`
	for _, v := range reprVersions {
		t.Run(v, func(t *testing.T) {
			var cases []struct {
				CPs  []rune
				Repr string
			}
			out := runPython(t, v, script, nil)
			var raw [][2]json.RawMessage
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatal(err)
			}
			for _, r := range raw {
				var c struct {
					CPs  []rune
					Repr string
				}
				if err := json.Unmarshal(r[0], &c.CPs); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(r[1], &c.Repr); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, c)
			}
			p := PrintableFor(minorOf(v))
			for _, c := range cases {
				kind, data := encodeStr(c.CPs)
				if got := string(AppendStrRepr(nil, p, kind, data)); got != c.Repr {
					t.Errorf("code points %x: got %q, Python %s says %q", c.CPs, got, v, c.Repr)
				}
			}
			if len(cases) != 5000 {
				t.Fatalf("%d cases", len(cases))
			}
		})
	}
}

func TestBytesReprAgainstPython(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var corpus [][]byte
	for c := range 256 {
		corpus = append(corpus, []byte{byte(c)})
	}
	alpha := []byte("'\"\\\t\n\rab\x00\x7f\xff\x80 ~")
	for range 5000 {
		b := make([]byte, rnd.IntN(10))
		for i := range b {
			b[i] = alpha[rnd.IntN(len(alpha))]
		}
		corpus = append(corpus, b)
	}
	var in bytes.Buffer
	for _, b := range corpus {
		fmt.Fprintf(&in, "%x\n", b)
	}
	script := `import sys
for line in sys.stdin:
    print(repr(bytes.fromhex(line.strip())))`
	for _, v := range reprVersions {
		t.Run(v, func(t *testing.T) {
			lines := strings.Split(strings.TrimSuffix(string(runPython(t, v, script, in.Bytes())), "\n"), "\n")
			if len(lines) != len(corpus) {
				t.Fatalf("python printed %d lines for %d values", len(lines), len(corpus))
			}
			for i, b := range corpus {
				if got := string(AppendBytesRepr(nil, b)); got != lines[i] {
					t.Errorf("repr(%x): got %q, Python %s says %q", b, got, v, lines[i])
				}
			}
		})
	}
}

func TestLongReprAgainstPython(t *testing.T) {
	// Python draws the ints and prints each as lv_tag-style sign and 30-bit digits, its repr (or
	// "!" when repr refuses it) and its number of decimal digits.
	script := `import json, random, sys
sys.set_int_max_str_digits(0)
rnd = random.Random(11)
vals = [0, 1, -1, 5, -5, 2**30 - 1, 2**30, 2**30 + 1, -(2**30), 2**60, 2**60 - 1, 2**63, -(2**63), 2**64, 10**19,
        10**4299, 10**4300 - 1, 10**4300, -(10**4300 - 1), -(10**4300), 10**5000 + 7, 2**14285, 2**14286]
while len(vals) < 3000:
    bits = rnd.choice((8, 31, 60, 61, 62, 64, 65, 100, 1000, 14000, 14300, 15000))
    vals.append(rnd.getrandbits(rnd.randint(1, bits)) * rnd.choice((1, -1)))
out = []
for v in vals:
    m, digits = abs(v), []
    while m:
        digits.append(m & (2**30 - 1)); m >>= 30
    s = str(v)
    out.append([2 if v < 0 else (1 if v == 0 else 0), digits, s if len(s.lstrip('-')) <= 4300 else '!', len(s.lstrip('-'))])
json.dump(out, sys.stdout)`
	for _, v := range reprVersions {
		t.Run(v, func(t *testing.T) {
			var cases [][4]json.RawMessage
			if err := json.Unmarshal(runPython(t, v, script, nil), &cases); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				var sign uint64
				var digits []uint32
				var want string
				var ndec int
				for i, dst := range []any{&sign, &digits, &want, &ndec} {
					if err := json.Unmarshal(c[i], dst); err != nil {
						t.Fatal(err)
					}
				}
				tag, err := ParseLongTag(uint64(len(digits))<<3 | sign)
				if err != nil {
					t.Fatal(err)
				}
				raw := make([]byte, 4*len(digits))
				for i, d := range digits {
					binary.LittleEndian.PutUint32(raw[4*i:], d)
				}
				got, err := FormatLong(tag, raw, PythonMaxStrDigits)
				if err != nil {
					t.Fatal(err)
				}
				if want == "!" {
					want = fmt.Sprintf("<int of %d digits>", ndec)
					if tag.Negative {
						want = fmt.Sprintf("<negative int of %d digits>", ndec)
					}
				}
				if got != want {
					t.Errorf("%d digits: got %.60q, want %.60q", len(digits), got, want)
				}
			}
			if len(cases) != 3000 {
				t.Fatalf("%d cases", len(cases))
			}
		})
	}
}

func TestFormatLongRejectsGarbage(t *testing.T) {
	if _, err := ParseLongTag(3); err == nil {
		t.Error("sign 3 accepted")
	}
	if _, err := ParseLongTag(1 | 1<<3); err == nil {
		t.Error("zero with a digit accepted")
	}
	if _, err := ParseLongTag(0); err == nil {
		t.Error("positive without digits accepted")
	}
	tag, _ := ParseLongTag(3 << 3)
	if _, err := FormatLong(tag, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40}, 100); err == nil {
		t.Error("digit of 2^30 accepted")
	}
	if _, err := FormatLong(tag, []byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 100); err == nil {
		t.Error("unnormalized int accepted")
	}
	if _, err := FormatLong(tag, []byte{1, 0, 0, 0}, 100); err == nil {
		t.Error("missing digits accepted")
	}
	if got := FormatLongBits(LongTag{NDigits: 100000, Negative: true}, 1); got != "<negative int of 2999971 bits>" {
		t.Errorf("FormatLongBits = %q", got)
	}
}

// TestNonPrintableTables checks the embedded str.isprintable() tables against the interpreters
// (-update-unicode rewrites them).
func TestNonPrintableTables(t *testing.T) {
	script := `import sys
start = None
for c in range(0x110001):
    np = c < 0x110000 and not chr(c).isprintable()
    if np and start is None:
        start = c
    elif not np and start is not None:
        print('%X %X' % (start, c - 1)); start = None`
	for _, v := range reprVersions {
		t.Run(v, func(t *testing.T) {
			want := runPython(t, v, script, nil)
			path := filepath.Join("unicode", "nonprintable-"+v+".txt")
			if *updateUnicode {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from Python %s's str.isprintable(); regenerate with go test -run TestNonPrintableTables -update-unicode", path, v)
			}
			p := PrintableFor(minorOf(v))
			if n := bytes.Count(want, []byte("\n")); p.Ranges() != n {
				t.Errorf("embedded table of %s has %d ranges, the file %d", v, p.Ranges(), n)
			}
		})
	}
}

func TestParsePrintableRejectsGarbage(t *testing.T) {
	for _, s := range []string{"", "1 0\n", "0 1F\n5 6\n", "0\n", "0 110000\n", "zz 1\n"} {
		if _, err := ParsePrintable([]byte(s)); err == nil {
			t.Errorf("ParsePrintable(%q) accepted", s)
		}
	}
}
