package inspector

import "slices"

// maxListRepairs bounds how often the walk of one task list resumes after finding that the list
// changed under it.
const maxListRepairs = 256

// listTasks returns the tasks of every list, each once, in list order (step 1 of tasks.go).
func (w *walker) listTasks(lists []taskList) ([]listedTask, error) {
	nodes := make([][]uint64, len(lists))
	total, nonEmpty := 0, 0
	for i, l := range lists {
		n, err := w.listNodes(l.head)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
		total += len(n)
		if len(n) > 0 {
			nonEmpty++
		}
	}
	listed := make([]listedTask, 0, total)
	for i, l := range lists {
		prev := l.head
		for j, n := range nodes[i] {
			listed = append(listed, listedTask{addr: n - w.a.TaskObject.TaskNode, node: n, tid: l.tid,
				head: l.head, index: j + 1, prevNode: prev})
			prev = n
		}
	}
	if nonEmpty > 1 {
		// A task moves to the interpreter's list when its thread exits; one that moved while
		// the lists were read is reported once, where it was first seen.
		seen := make(map[uint64]bool, len(listed))
		listed = slices.DeleteFunc(listed, func(lt listedTask) bool {
			dup := seen[lt.addr]
			seen[lt.addr] = true
			return dup
		})
	}
	return listed, nil
}

// listNodes returns the nodes of one circular task list (a thread's or the interpreter's) in
// creation order. Each step checks that the node reached points back at the node it was reached
// from. When it does not, the list changed while it was walked: the two nodes are copied again and
// the walk resumes from the last node that is still in the list, so that a list that changes all
// the time is still read whole, each link as it was when it was checked.
func (w *walker) listNodes(head uint64) ([]uint64, error) {
	ln := &w.o.LListNode
	next, err := w.ptr(w.any, head+ln.Next)
	if err != nil {
		return nil, err
	}
	var nodes []uint64
	prev := head
	repairs := 0
	for next != head {
		if len(nodes) >= maxTasksPerList {
			return nil, inconsistent("more than %d tasks in one list: task list appears corrupted", maxTasksPerList)
		}
		if next != 0 {
			nb, err := w.any.Read(next, 16)
			if err != nil && !retryable(err) {
				return nil, err
			}
			if err == nil && le64(nb, ln.Prev) == prev {
				nodes = append(nodes, next)
				prev, next = next, le64(nb, ln.Next)
				continue
			}
		}
		if prev, next, err = w.resumeList(head, &nodes, prev, next, &repairs); err != nil {
			return nil, err
		}
	}
	if repairs > 0 {
		nodes = dropEarlierCopies(nodes)
	}
	return nodes, nil
}

// dropEarlierCopies keeps the last of the entries of a node that a mended list walk met twice:
// the task it met first left the list, and a new task made at the same address was added at
// the end before the walk got there.
func dropEarlierCopies(nodes []uint64) []uint64 {
	last := make(map[uint64]int, len(nodes))
	for i, n := range nodes {
		last[n] = i
	}
	if len(last) == len(nodes) {
		return nodes
	}
	kept := nodes[:0]
	for i, n := range nodes {
		if last[n] == i {
			kept = append(kept, n)
		}
	}
	return kept
}

// resumeList finds where a list walk continues after the link from prev to next failed its
// check: fresh copies of both nodes are taken, and nodes that have left the list since they were
// accepted are given up, back to the last one still in it (or the head).
func (w *walker) resumeList(head uint64, nodes *[]uint64, prev, next uint64, repairs *int) (uint64, uint64, error) {
	ln := &w.o.LListNode
	if next != 0 {
		if err := w.mem.Refresh(next, 16); err != nil {
			return 0, 0, err
		}
	}
	for {
		if *repairs++; *repairs > maxListRepairs {
			return 0, 0, inconsistent("task list changed while reading (node 0x%x)", next)
		}
		if err := w.mem.Refresh(prev, 16); err != nil {
			return 0, 0, err
		}
		pb, err := w.any.Read(prev, 16)
		if err != nil && !retryable(err) {
			return 0, 0, err
		}
		if err == nil && (prev == head || (le64(pb, ln.Next) != 0 && le64(pb, ln.Prev) != 0)) {
			return prev, le64(pb, ln.Next), nil
		}
		if prev == head {
			return 0, 0, err
		}
		// prev has left the list (asyncio clears a removed node's links): back up.
		*nodes = (*nodes)[:len(*nodes)-1]
		prev = head
		if n := len(*nodes); n > 0 {
			prev = (*nodes)[n-1]
		}
	}
}
