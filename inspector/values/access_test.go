package values

import (
	"math"
	"testing"
)

// pyHashInt against what CPython's hash() gives for the same ints.
func TestPyHashInt(t *testing.T) {
	for _, c := range []struct{ n, want int64 }{
		{0, 0}, {1, 1}, {-1, -2}, {-2, -2}, {42, 42}, {99999, 99999},
		{1<<61 - 2, 1<<61 - 2}, {1<<61 - 1, 0}, {1 << 61, 1}, {1 << 62, 2}, {-(1 << 61), -2},
		{math.MaxInt64, 3}, {math.MinInt64, -4}, {-(1<<61 - 1), 0},
	} {
		if got := pyHashInt(c.n); got != c.want {
			t.Errorf("hash(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
