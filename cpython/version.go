// Package cpython knows everything about CPython's memory layout that differs between the
// versions aioscope reads (3.14 and 3.15). It only decodes byte slices that someone else has
// read out of a target process: it performs no I/O and never touches a process, so every
// function here can be exercised with bytes copied from real interpreters.
//
// All the data it decodes comes from a process that keeps running while it is read, so every
// decoder treats its input as untrusted: sizes and offsets are validated, loops are bounded,
// and malformed input yields an error (or a "not found" result), never a panic.
package cpython

import "fmt"

// Release levels as encoded in PY_VERSION_HEX.
const (
	LevelAlpha     = 0xA
	LevelBeta      = 0xB
	LevelCandidate = 0xC
	LevelFinal     = 0xF
)

// Version is a CPython version as encoded in PY_VERSION_HEX.
type Version struct {
	Major, Minor, Micro int
	Level               int // LevelAlpha, LevelBeta, LevelCandidate or LevelFinal
	Serial              int
}

// VersionFromHex decodes PY_VERSION_HEX: (major<<24)|(minor<<16)|(micro<<8)|(level<<4)|serial.
// Bits above the low 32 are ignored; ParseHeader rejects values that carry any.
func VersionFromHex(hex uint64) Version {
	return Version{
		Major:  int(hex >> 24 & 0xFF),
		Minor:  int(hex >> 16 & 0xFF),
		Micro:  int(hex >> 8 & 0xFF),
		Level:  int(hex >> 4 & 0xF),
		Serial: int(hex & 0xF),
	}
}

// Hex encodes v back into PY_VERSION_HEX form.
func (v Version) Hex() uint64 {
	return uint64(v.Major&0xFF)<<24 | uint64(v.Minor&0xFF)<<16 | uint64(v.Micro&0xFF)<<8 |
		uint64(v.Level&0xF)<<4 | uint64(v.Serial&0xF)
}

// String formats v the way CPython's sys.version does: "3.14.10", "3.15.0a3", "3.14.0b2",
// "3.14.0rc1". A level that no release uses is shown in hexadecimal rather than dropped, so a
// corrupt version never masquerades as a real one.
func (v Version) String() string {
	base := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
	switch v.Level {
	case LevelFinal:
		return base
	case LevelAlpha:
		return fmt.Sprintf("%sa%d", base, v.Serial)
	case LevelBeta:
		return fmt.Sprintf("%sb%d", base, v.Serial)
	case LevelCandidate:
		return fmt.Sprintf("%src%d", base, v.Serial)
	default:
		return fmt.Sprintf("%s(level %#x serial %d)", base, v.Level, v.Serial)
	}
}

// MinorString is "major.minor", e.g. "3.14".
func (v Version) MinorString() string {
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// IsPrerelease reports whether v is an alpha, beta or release candidate.
func (v Version) IsPrerelease() bool {
	return v.Level != LevelFinal
}

// UnsupportedVersionError reports a target interpreter whose memory layout aioscope does not know.
type UnsupportedVersionError struct {
	Version Version
	Reason  string // why, e.g. "3.13 has no asyncio debug table"
}

func (e *UnsupportedVersionError) Error() string {
	msg := fmt.Sprintf("Python %s is not supported: aioscope reads CPython 3.14 and 3.15", e.Version)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// CheckSupported returns nil for every 3.14.x and 3.15.x (any micro, any release level) and an
// *UnsupportedVersionError for anything else. Free-threaded builds are rejected separately, by
// ParseDebugOffsets, because the version number alone does not tell them apart.
func CheckSupported(v Version) error {
	if v.Major == 3 && (v.Minor == 14 || v.Minor == 15) {
		return nil
	}
	var reason string
	switch {
	case v.Major != 3:
		reason = fmt.Sprintf("%s is not a CPython 3 version", v.MinorString())
	case v.Minor < 14:
		// asyncio's task lists and their .AsyncioDebug table first appeared in 3.14.
		reason = fmt.Sprintf("%s has no asyncio debug table", v.MinorString())
	default:
		reason = fmt.Sprintf("%s is newer than this aioscope and its memory layout is unknown", v.MinorString())
	}
	return &UnsupportedVersionError{Version: v, Reason: reason}
}
