package values

// maxThreadNames bounds the threads ThreadNames reads: threading._active holds one entry per
// live threading.Thread.
const maxThreadNames = 8192

// ThreadNames returns the names of the target's threading.Thread objects (their .name), by their
// ident (threading.get_ident(), the thread id of a snapshot.Thread), as threading._active has
// them. A target that never imported threading has none; names that cannot be read are left
// out.
func (r *Reader) ThreadNames() (map[uint64]string, error) {
	q, err := r.newReq(0)
	if err != nil {
		return nil, err
	}
	defer q.release()
	interp, err := q.interp()
	if err != nil {
		return nil, err
	}
	modules, err := q.ptr(interp + q.r.off.InterpreterState.ImportsModules)
	if err != nil {
		return nil, err
	}
	threading, err := q.dictGet(modules, "threading")
	if err != nil || threading == 0 {
		return nil, err
	}
	d, err := q.moduleDict(threading)
	if err != nil {
		return nil, err
	}
	active, err := q.dictGet(d, "_active")
	if err != nil || active == 0 {
		return nil, err
	}
	it, err := q.dict(active)
	if err != nil {
		return nil, err
	}
	names := map[uint64]string{}
	for n := 0; n < maxThreadNames; n++ {
		k, v, ok, err := it.next()
		if err != nil {
			return names, err
		}
		if !ok {
			break
		}
		ident, err := q.intValue(k)
		if err != nil {
			continue
		}
		t, err := q.typeOf(v)
		if err != nil {
			continue
		}
		nameObj, err := q.getattr(v, t, "_name")
		if err != nil || nameObj == 0 {
			continue
		}
		if ok, err := q.isStr(nameObj); err != nil || !ok {
			continue
		}
		if name, err := q.strValue(nameObj, maxName); err == nil {
			names[uint64(ident)] = name
		}
	}
	return names, nil
}
