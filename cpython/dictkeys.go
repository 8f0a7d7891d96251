package cpython

import (
	"encoding/binary"
	"fmt"
)

// MaxDictLog2Size bounds dk_log2_size (exclusive): a table of 2^32 slots would need 100 GiB of
// entries.
const MaxDictLog2Size = 32

// DictKeys is a decoded PyDictKeysObject header.
type DictKeys struct {
	Log2Size       uint8
	Log2IndexBytes uint8
	Kind           uint8 // DictKeysGeneral, DictKeysUnicode or DictKeysSplit
	Usable         int64
	NEntries       int64  // entries used so far, deleted ones included
	EntriesOffset  uint64 // where entry 0 starts, from the keys object
	EntrySize      uint64
	KeyOffset      uint64 // within an entry
	ValueOffset    uint64 // within an entry; meaningless for split keys, whose values are apart
}

// DictKeysHeaderSize is how many bytes of a PyDictKeysObject ParseDictKeys needs.
func (v *ValueLayout) DictKeysHeaderSize() int { return int(v.Dict.KeysIndices) }

// ParseDictKeys decodes and checks the header of a PyDictKeysObject: the index width must
// follow from the table size (1 byte below 2^8 slots, 2 below 2^16, 4 below 2^32), the kind
// must exist and the entry count must fit the table (at most two thirds of the slots, the
// USABLE_FRACTION). The shared empty keys (size 1, 8 index bytes) are accepted.
func (v *ValueLayout) ParseDictKeys(hdr []byte) (DictKeys, error) {
	l := &v.Dict
	if len(hdr) < int(l.KeysIndices) {
		return DictKeys{}, fmt.Errorf("dict keys header needs %d bytes, got %d", l.KeysIndices, len(hdr))
	}
	k := DictKeys{
		Log2Size:       hdr[l.KeysLog2Size],
		Log2IndexBytes: hdr[l.KeysLog2IndexBytes],
		Kind:           hdr[l.KeysKind],
		Usable:         int64(binary.LittleEndian.Uint64(hdr[l.KeysUsable:])),
		NEntries:       int64(binary.LittleEndian.Uint64(hdr[l.KeysNEntries:])),
	}
	if k.Log2Size >= MaxDictLog2Size {
		return k, fmt.Errorf("dict keys with 2^%d slots", k.Log2Size)
	}
	width := uint8(0) // log2 of the index width
	switch {
	case k.Log2Size < 8:
	case k.Log2Size < 16:
		width = 1
	default:
		width = 2
	}
	empty := k.Log2Size == 0 && k.Log2IndexBytes == 3
	if k.Log2IndexBytes != k.Log2Size+width && !empty {
		return k, fmt.Errorf("dict keys with 2^%d slots and 2^%d index bytes", k.Log2Size, k.Log2IndexBytes)
	}
	usableMax := int64(1) << k.Log2Size * 2 / 3
	if k.NEntries < 0 || k.NEntries > usableMax || k.Usable < 0 || k.Usable > usableMax {
		return k, fmt.Errorf("dict keys with %d entries and %d usable of 2^%d slots", k.NEntries, k.Usable, k.Log2Size)
	}
	k.EntriesOffset = l.KeysIndices + 1<<k.Log2IndexBytes
	switch k.Kind {
	case DictKeysGeneral:
		k.EntrySize, k.KeyOffset, k.ValueOffset = l.GeneralEntrySize, 8, 16
	case DictKeysUnicode, DictKeysSplit:
		k.EntrySize, k.KeyOffset, k.ValueOffset = l.UnicodeEntrySize, 0, 8
	default:
		return k, fmt.Errorf("dict keys of unknown kind %d", k.Kind)
	}
	return k, nil
}

// DictValues is a decoded PyDictValues header (split dicts and inline values).
type DictValues struct {
	Capacity, Size  int
	Embedded, Valid bool
	OrderOffset     uint64 // the insertion-order byte array, from the values address
}

// ParseDictValues decodes the 8-byte PyDictValues header. The order array follows the
// capacity value pointers.
func (v *ValueLayout) ParseDictValues(hdr []byte) (DictValues, error) {
	l := &v.Dict
	if len(hdr) < int(l.ValuesArr) {
		return DictValues{}, fmt.Errorf("dict values header needs %d bytes, got %d", l.ValuesArr, len(hdr))
	}
	d := DictValues{
		Capacity: int(hdr[l.ValuesCapacity]),
		Size:     int(hdr[l.ValuesSize]),
		Embedded: hdr[l.ValuesEmbedded] != 0,
		Valid:    hdr[l.ValuesValid] != 0,
	}
	if d.Size > d.Capacity {
		return d, fmt.Errorf("dict values with %d of %d slots used", d.Size, d.Capacity)
	}
	d.OrderOffset = l.ValuesArr + 8*uint64(d.Capacity)
	return d, nil
}
