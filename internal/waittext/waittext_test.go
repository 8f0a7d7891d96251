package waittext

import (
	"testing"
	"time"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Duration(41 * time.Second), "41 s"},
		{Duration(185 * time.Second), "3 min 5 s"},
		{Duration(2*time.Hour + 4*time.Minute + 59*time.Second), "2 h 4 min"},
		{Duration(900 * time.Millisecond), "0 s"},
		{Wait(500*time.Millisecond, true), ""},
		{Wait(41*time.Second, true), "≥ 41 s"},
		{Wait(41*time.Second, false), "41 s"},
		{Seconds(3411.6), "3,412 s"},
		{Seconds(2.46), "2.5 s"},
		{Seconds(-1.25), "-1.2 s"},
		{Thousands(9758), "9,758"},
		{Thousands(-1234567), "-1,234,567"},
		{Thousands(999), "999"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
