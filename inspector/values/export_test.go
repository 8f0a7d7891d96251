package values

// TypeVersionTag is the tp_version_tag the reader reads of the type object at addr.
func TypeVersionTag(r *Reader, addr uint64) (uint32, error) {
	q, err := r.newReq(addr)
	if err != nil {
		return 0, err
	}
	defer q.release()
	k, _, err := q.readTypeKey(addr)
	return k.tag, err
}
