package cycles

// pyIntSet reproduces the slot layout of a CPython 3.14/3.15 set of ints that only ever grows
// (Objects/setobject.c: set_add_entry, set_table_resize, set_insert_clean). CPython's asyncio
// tools walk such sets while looking for await cycles, so the order in which cycles are reported
// is the set's iteration order, which is slot order, which depends on every add and resize.
// Nothing is ever removed from these sets, so there are no dummy entries to model.
type pyIntSet struct {
	keys  []uint64
	full  []bool
	mask  uint64
	fill  int // slots ever filled; equals the number of keys without deletions
	count int // live keys (CPython's "used")
}

const (
	pySetMinSize      = 8 // PySet_MINSIZE
	pySetLinearProbes = 9 // LINEAR_PROBES
	pySetPerturbShift = 5 // PERTURB_SHIFT
	// pyHashModulus is 2**61-1, the modulus of CPython's numeric hash on 64-bit builds.
	pyHashModulus = (uint64(1) << 61) - 1
)

// pyIntHash is hash(x) for a non-negative Python int x that fits in 64 bits.
func pyIntHash(x uint64) uint64 {
	return x % pyHashModulus
}

func newPyIntSet() *pyIntSet {
	return &pyIntSet{
		keys: make([]uint64, pySetMinSize),
		full: make([]bool, pySetMinSize),
		mask: pySetMinSize - 1,
	}
}

// add is set.add(key): set_add_entry without the dummy-slot branch.
func (s *pyIntSet) add(key uint64) {
	hash := pyIntHash(key)
	mask := s.mask
	i := hash & mask
	perturb := hash
	for {
		probes := 0
		if i+pySetLinearProbes <= mask {
			probes = pySetLinearProbes
		}
		// The entry at i and then up to `probes` entries after it, as the do/while does.
		for j := i; j <= i+uint64(probes); j++ {
			if !s.full[j] {
				s.keys[j] = key
				s.full[j] = true
				s.fill++
				s.count++
				if uint64(s.fill)*5 >= mask*3 {
					minUsed := s.count * 4
					if s.count > 50000 {
						minUsed = s.count * 2
					}
					s.resize(minUsed)
				}
				return
			}
			// Two ints are equal exactly when their values are; equal values have equal hashes.
			if s.keys[j] == key {
				return
			}
		}
		perturb >>= pySetPerturbShift
		i = (i*5 + 1 + perturb) & mask
	}
}

// resize is set_table_resize: the smallest power of two above minUsed, refilled in old slot order.
func (s *pyIntSet) resize(minUsed int) {
	newSize := uint64(pySetMinSize)
	for newSize <= uint64(minUsed) {
		newSize <<= 1
	}
	oldKeys, oldFull := s.keys, s.full
	s.keys = make([]uint64, newSize)
	s.full = make([]bool, newSize)
	s.mask = newSize - 1
	for j, ok := range oldFull {
		if ok {
			s.insertClean(oldKeys[j])
		}
	}
}

// insertClean is set_insert_clean: place a key known to be absent.
func (s *pyIntSet) insertClean(key uint64) {
	hash := pyIntHash(key)
	mask := s.mask
	perturb := hash
	i := hash & mask
	for {
		if !s.full[i] {
			s.keys[i], s.full[i] = key, true
			return
		}
		if i+pySetLinearProbes <= mask {
			for j := i + 1; j <= i+pySetLinearProbes; j++ {
				if !s.full[j] {
					s.keys[j], s.full[j] = key, true
					return
				}
			}
		}
		perturb >>= pySetPerturbShift
		i = (i*5 + 1 + perturb) & mask
	}
}

// items returns the keys in iteration order (slot order).
func (s *pyIntSet) items() []uint64 {
	out := make([]uint64, 0, s.count)
	for j, ok := range s.full {
		if ok {
			out = append(out, s.keys[j])
		}
	}
	return out
}
