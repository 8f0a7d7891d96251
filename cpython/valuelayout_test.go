package cpython

import (
	"encoding/binary"
	"testing"
)

func TestValueLayoutAgreesWith315Table(t *testing.T) {
	d := realOffsets(t, "3.15.2")
	v := d.ValueLayout()
	// The 3.15 table carries these; the constants used for 3.14 must match it where they agree.
	if v.Type.BasicSize != 32 || v.Type.DictOffset != 288 || v.Type.HtCachedKeys != 888 || v.Type.HeapSize != 944 {
		t.Errorf("3.15 type layout %+v", v.Type)
	}
	if v.Type.HtName != 864 || v.Type.HtQualname != 880 {
		t.Errorf("3.15 heap type names at %d/%d", v.Type.HtName, v.Type.HtQualname)
	}
	v14 := realOffsets(t, "3.14.10").ValueLayout()
	if v14.Type.HtCachedKeys != 880 || v14.Type.HeapSize != 936 || v14.Type.HtName != 856 {
		t.Errorf("3.14 heap type layout %+v", v14.Type)
	}
	if v14.States.Created != -3 || v14.States.Cleared != 4 || v.States.Created != 0 || v.States.Cleared != 5 {
		t.Errorf("frame states %+v / %+v", v14.States, v.States)
	}
	if v14.SmallIntMax != 256 || v.SmallIntMax != 1024 {
		t.Errorf("small ints %d / %d", v14.SmallIntMax, v.SmallIntMax)
	}
}

func TestFrameSlotsValid(t *testing.T) {
	v14 := (&DebugOffsets{Version: Version{Major: 3, Minor: 14}}).ValueLayout().States
	v15 := (&DebugOffsets{Version: Version{Major: 3, Minor: 15}}).ValueLayout().States
	for st := -128; st < 128; st++ {
		want14 := st >= -3 && st <= 0
		want15 := st >= 0 && st <= 4
		if got := v14.FrameSlotsValid(int8(st)); got != want14 {
			t.Errorf("3.14 state %d: %v", st, got)
		}
		if got := v15.FrameSlotsValid(int8(st)); got != want15 {
			t.Errorf("3.15 state %d: %v", st, got)
		}
	}
}

func TestDecodeStackRef(t *testing.T) {
	for _, c := range []struct {
		bits uint64
		kind StackRefKind
		addr uint64
		i    int64
	}{
		{1, StackRefNull, 0, 0}, {0, StackRefNull, 0, 0}, {0x7f0010, StackRefObject, 0x7f0010, 0},
		{0x7f0011, StackRefObject, 0x7f0010, 0}, {1<<2 | 3, StackRefInt, 0, 1}, {^uint64(0), StackRefInt, 0, -1},
		{0x7f0012, StackRefInvalid, 0, 0},
	} {
		k, a, i := DecodeStackRef(c.bits)
		if k != c.kind || a != c.addr || i != c.i {
			t.Errorf("DecodeStackRef(%#x) = %v %#x %d", c.bits, k, a, i)
		}
	}
}

func TestSlotRole(t *testing.T) {
	for _, c := range []struct {
		kind  byte
		flags uint32
		want  VarRole
	}{
		{0x22, 3, RoleArgument}, {0x26, 3, RoleArgument}, {0x24, 3, RoleArgument}, {0x2a, 3, RoleArgument},
		{0x2c, 3, RoleArgument}, {0x66, 3, RoleArgument}, {0x20, 3, RoleLocal}, {0x40, 3, RoleCell},
		{0x80, 3, RoleFree}, {0x80, 0, RoleNone}, {0x30, 0, RoleNone}, {0, 3, RoleNone},
	} {
		if got := SlotRole(c.kind, c.flags); got != c.want {
			t.Errorf("SlotRole(%#x, %#x) = %v, want %v", c.kind, c.flags, got, c.want)
		}
	}
}

func TestParseDictKeys(t *testing.T) {
	v := (&DebugOffsets{Version: Version{Major: 3, Minor: 14}}).ValueLayout()
	hdr := func(log2, log2idx, kind byte, usable, nentries int64) []byte {
		b := make([]byte, 32)
		b[8], b[9], b[10] = log2, log2idx, kind
		binary.LittleEndian.PutUint64(b[16:], uint64(usable))
		binary.LittleEndian.PutUint64(b[24:], uint64(nentries))
		return b
	}
	k, err := v.ParseDictKeys(hdr(3, 3, 1, 1, 4))
	if err != nil || k.EntriesOffset != 40 || k.EntrySize != 16 {
		t.Errorf("small unicode keys: %+v %v", k, err)
	}
	k, err = v.ParseDictKeys(hdr(17, 19, 0, 0, 87381))
	if err != nil || k.EntriesOffset != 32+1<<19 || k.EntrySize != 24 || k.KeyOffset != 8 {
		t.Errorf("big general keys: %+v %v", k, err)
	}
	if _, err := v.ParseDictKeys(hdr(0, 3, 1, 0, 0)); err != nil {
		t.Errorf("empty keys: %v", err)
	}
	for _, b := range [][]byte{hdr(3, 4, 1, 0, 0), hdr(3, 3, 3, 0, 0), hdr(3, 3, 1, 0, 6), hdr(40, 42, 0, 0, 0),
		hdr(3, 3, 1, -1, 0), hdr(8, 8, 0, 0, 0), make([]byte, 8)} {
		if k, err := v.ParseDictKeys(b); err == nil {
			t.Errorf("accepted %+v", k)
		}
	}
	dv, err := v.ParseDictValues([]byte{3, 2, 1, 1, 0, 0, 0, 0})
	if err != nil || dv.OrderOffset != 32 || !dv.Embedded || !dv.Valid {
		t.Errorf("values: %+v %v", dv, err)
	}
	if _, err := v.ParseDictValues([]byte{1, 2, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Error("size > capacity accepted")
	}
}

func TestCheckValueLayout(t *testing.T) {
	for _, v := range realVersions() {
		if err := realOffsets(t, v).CheckValueLayout(); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	d := *realOffsets(t, "3.14.10")
	d.TypeObject.Size = 200
	if err := d.CheckValueLayout(); err == nil {
		t.Error("a 200-byte type object accepted")
	}
	d = *realOffsets(t, "3.15.2")
	d.HeapTypeObject.HtCachedKeys = 16
	if err := d.CheckValueLayout(); err == nil {
		t.Error("cached keys among the type object's fields accepted")
	}
	d = *realOffsets(t, "3.15.2")
	d.LongObject.ObDigit = 20
	if err := d.CheckValueLayout(); err == nil {
		t.Error("digits overlapping lv_tag accepted")
	}
}
