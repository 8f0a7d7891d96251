package testtarget

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Printed returns the numbers a target printed on its lines "<word> <number>...", in order: the
// scenarios that say when something happened (health.py, busy.py) print time.time() on lines
// such as "BLOCK <start> <end>". out is what the target wrote (Target.Stdout).
func Printed(t testing.TB, out, word string) [][]float64 {
	t.Helper()
	var all [][]float64
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != word {
			continue
		}
		var v []float64
		for _, s := range f[1:] {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("target printed %q: %v", line, err)
			}
			v = append(v, x)
		}
		all = append(all, v)
	}
	return all
}

// UnixTime is the time a target printed as time.time(): seconds since the Unix epoch.
func UnixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
