package testtarget

import (
	"reflect"
	"testing"
	"time"
)

func TestPrinted(t *testing.T) {
	out := "SLEEPING 1700000000.25 3600\nBLOCK 1.5 2\nnoise\nBLOCK\nBLOCKED 3 4\nBLOCK 5 6.125\n"
	if got, want := Printed(t, out, "BLOCK"), [][]float64{{1.5, 2}, {5, 6.125}}; !reflect.DeepEqual(got, want) {
		t.Errorf("BLOCK lines: %v, want %v", got, want)
	}
	if got := Printed(t, out, "STUCK"); got != nil {
		t.Errorf("STUCK lines: %v, want none", got)
	}
	sleeping := Printed(t, out, "SLEEPING")
	if len(sleeping) != 1 || !UnixTime(sleeping[0][0]).Equal(time.Unix(1700000000, 250_000_000)) {
		t.Errorf("SLEEPING lines: %v", sleeping)
	}
}
