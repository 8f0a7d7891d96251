package cpython

import (
	"errors"
	"testing"
)

func TestVersionFromHex(t *testing.T) {
	tests := []struct {
		hex   uint64
		want  Version
		str   string
		minor string
		pre   bool
	}{
		{0x030E0AF0, Version{3, 14, 10, LevelFinal, 0}, "3.14.10", "3.14", false},
		{0x030F02F0, Version{3, 15, 2, LevelFinal, 0}, "3.15.2", "3.15", false},
		{0x030D12F0, Version{3, 13, 18, LevelFinal, 0}, "3.13.18", "3.13", false},
		{0x030F00A3, Version{3, 15, 0, LevelAlpha, 3}, "3.15.0a3", "3.15", true},
		{0x030E00B2, Version{3, 14, 0, LevelBeta, 2}, "3.14.0b2", "3.14", true},
		{0x030E00C1, Version{3, 14, 0, LevelCandidate, 1}, "3.14.0rc1", "3.14", true},
		{0x030E0030, Version{3, 14, 0, 3, 0}, "3.14.0(level 0x3 serial 0)", "3.14", true},
		{0xFF_030E0AF0, Version{3, 14, 10, LevelFinal, 0}, "3.14.10", "3.14", false}, // high bits ignored
	}
	for _, tt := range tests {
		got := VersionFromHex(tt.hex)
		if got != tt.want {
			t.Errorf("VersionFromHex(%#x) = %+v, want %+v", tt.hex, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("%#x String() = %q, want %q", tt.hex, s, tt.str)
		}
		if s := got.MinorString(); s != tt.minor {
			t.Errorf("%#x MinorString() = %q, want %q", tt.hex, s, tt.minor)
		}
		if got.IsPrerelease() != tt.pre {
			t.Errorf("%#x IsPrerelease() = %v", tt.hex, got.IsPrerelease())
		}
		if h := got.Hex(); h != tt.hex&0xFFFFFFFF {
			t.Errorf("%#x Hex() round trip = %#x", tt.hex, h)
		}
	}
}

func TestCheckSupported(t *testing.T) {
	tests := []struct {
		v       Version
		wantErr string
	}{
		{Version{3, 14, 10, LevelFinal, 0}, ""},
		{Version{3, 14, 0, LevelAlpha, 1}, ""},
		{Version{3, 14, 99, LevelCandidate, 2}, ""},
		{Version{3, 15, 2, LevelFinal, 0}, ""},
		{Version{3, 15, 0, LevelBeta, 1}, ""},
		{Version{3, 13, 18, LevelFinal, 0}, "Python 3.13.18 is not supported: aioscope reads CPython 3.14 and 3.15 (3.13 has no asyncio debug table)"},
		{Version{3, 12, 0, LevelFinal, 0}, "Python 3.12.0 is not supported: aioscope reads CPython 3.14 and 3.15 (3.12 has no asyncio debug table)"},
		{Version{3, 16, 0, LevelAlpha, 1}, "Python 3.16.0a1 is not supported: aioscope reads CPython 3.14 and 3.15 (3.16 is newer than this aioscope and its memory layout is unknown)"},
		{Version{4, 14, 0, LevelFinal, 0}, "Python 4.14.0 is not supported: aioscope reads CPython 3.14 and 3.15 (4.14 is not a CPython 3 version)"},
		{Version{}, "Python 0.0.0(level 0x0 serial 0) is not supported: aioscope reads CPython 3.14 and 3.15 (0.0 is not a CPython 3 version)"},
	}
	for _, tt := range tests {
		err := CheckSupported(tt.v)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CheckSupported(%s) = %v, want nil", tt.v, err)
			}
			continue
		}
		var uv *UnsupportedVersionError
		if !errors.As(err, &uv) {
			t.Fatalf("CheckSupported(%s) = %v, want *UnsupportedVersionError", tt.v, err)
		}
		if uv.Version != tt.v {
			t.Errorf("error carries %+v, want %+v", uv.Version, tt.v)
		}
		if err.Error() != tt.wantErr {
			t.Errorf("CheckSupported(%s) error\n got %q\nwant %q", tt.v, err.Error(), tt.wantErr)
		}
	}
	if s := (&UnsupportedVersionError{Version: Version{3, 11, 0, LevelFinal, 0}}).Error(); s != "Python 3.11.0 is not supported: aioscope reads CPython 3.14 and 3.15" {
		t.Errorf("error without reason = %q", s)
	}
}
