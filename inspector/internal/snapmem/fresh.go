package snapmem

import (
	"iter"
	"slices"
)

// Fresh copies. A walk that finds what it read does not hang together — the target changed
// between the copies it came from — takes fresh copies of what it read and reads it again. All of
// these copy in place: no view of the pages they copy may still be in use.

// Refresh copies the pages holding n bytes at addr again, in place.
func (c *Cache) Refresh(addr uint64, n int) error {
	if n <= 0 || addr+uint64(n) < addr {
		return nil
	}
	pages := slices.Collect(pagesIn(addr, n))
	c.lastAddr = ^uint64(0)
	return c.copyPages(pages, overwriteCopies)
}

// Span is n bytes at Addr.
type Span struct {
	Addr uint64
	N    int
}

// RefreshAll copies the pages holding every span again, together — in as few reads as their
// number allows, one right after the other — and in place.
func (c *Cache) RefreshAll(spans []Span) error {
	return c.RefreshEach(slices.Values(spans))
}

// RefreshEach is RefreshAll for spans yielded one by one: a walk that refreshes the objects of
// a whole target need not make a list of them first.
func (c *Cache) RefreshEach(spans iter.Seq[Span]) error {
	var pages []uint64
	for s := range spans {
		if s.N <= 0 || s.Addr+uint64(s.N) < s.Addr {
			continue
		}
		for p := range pagesIn(s.Addr, s.N) {
			// Spans listed in address order mostly share pages: one entry each, not one a span.
			if len(pages) == 0 || pages[len(pages)-1] != p {
				pages = append(pages, p)
			}
		}
	}
	slices.Sort(pages)
	c.lastAddr = ^uint64(0)
	return c.copyPages(slices.Compact(pages), overwriteCopies)
}

// ReadNow reads len(p) bytes at addr straight from the target, without a copy: for a check that
// must see the target as it is now.
func (c *Cache) ReadNow(p []byte, addr uint64) error {
	c.reads++
	return c.src.ReadAt(p, addr)
}

// Record starts recording the pages reads are served from, so that exactly those can be copied
// again (RefreshRecorded). Recording ends with RefreshRecorded or StopRecording.
func (c *Cache) Record() {
	c.recording, c.recorded = true, c.recorded[:0]
	c.lastAddr = ^uint64(0) // the next read goes through page() and is recorded
}

// StopRecording ends a recording without copying anything.
func (c *Cache) StopRecording() { c.recording = false }

// RefreshRecorded ends the recording and copies the pages it recorded again, together and in
// place.
func (c *Cache) RefreshRecorded() error {
	c.recording = false
	pages := c.recorded
	slices.Sort(pages)
	pages = slices.Compact(pages)
	c.lastAddr = ^uint64(0)
	return c.copyPages(pages, overwriteCopies)
}

// Footprint returns the addresses of the pages reads were served from, in ascending order: what
// a walk read, for the next attempt to copy at once (Load).
func (c *Cache) Footprint() []uint64 {
	var out []uint64
	for key, r := range c.regions {
		for i, used := range r.used {
			if used {
				out = append(out, key<<regionShift|uint64(i)<<12)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Load copies the given pages (ascending, page-aligned, from Footprint) as fast as it can: in
// vectored reads of up to maxBatch pages, one right after the other, with no walking between.
// Everything a walk then finds in the cache comes from a short window instead of the whole
// walk's duration. Pages that cannot be read are left to the walk.
func (c *Cache) Load(pages []uint64) error {
	return c.copyPages(pages, keepCopies)
}
