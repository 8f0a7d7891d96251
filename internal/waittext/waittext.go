// Package waittext writes how long something has lasted, or is left, as the editors' front ends
// show it to a person: "41 s", "3 min 5 s", "2 h 4 min", "≥ 41 s" for a lower bound.
package waittext

import (
	"strconv"
	"strings"
	"time"
)

// Duration is d in whole units, the two largest that matter: "41 s", "3 min 5 s", "2 h 4 min".
// Under a second it is "0 s".
func Duration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 0:
		return "-" + Duration(-d)
	case s < 60:
		return strconv.FormatInt(s, 10) + " s"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + " min " + strconv.FormatInt(s%60, 10) + " s"
	default:
		return strconv.FormatInt(s/3600, 10) + " h " + strconv.FormatInt(s%3600/60, 10) + " min"
	}
}

// Wait is how long a task has waited, "" when it is under a second (too short to say); with
// atLeast, a lower bound: "≥ 41 s".
func Wait(d time.Duration, atLeast bool) string {
	if d < time.Second {
		return ""
	}
	if atLeast {
		return "≥ " + Duration(d)
	}
	return Duration(d)
}

// Seconds is a number of seconds as a count a person reads at a glance: one decimal under ten
// ("2.5 s"), whole seconds with thousands separators above ("3,412 s").
func Seconds(s float64) string {
	if s < 0 {
		return "-" + Seconds(-s)
	}
	if s < 10 {
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	}
	return Thousands(int64(s+0.5)) + " s"
}

// Thousands formats n with thousands separators: 9,758.
func Thousands(n int64) string {
	if n < 0 {
		return "-" + Thousands(-n)
	}
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
