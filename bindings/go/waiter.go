package nexus

import (
	"sync"
	"syscall"

	"nexus-socket/nexus/internal/native"
)

// waiter lets one goroutine at a time wait for a native descriptor without
// holding the object's mutex (so other goroutines may send meanwhile),
// and lets Close or a context interrupt that wait through a pipe.
type waiter struct {
	mu     sync.Mutex // held by the waiting goroutine for the whole operation
	pipeMu sync.Mutex
	r, w   int // the pipe; -1 before it is made and after shutdown
	made   bool
	closed bool
}

// begin starts an operation that may wait; end finishes it.
func (w *waiter) begin() { w.mu.Lock() }
func (w *waiter) end()   { w.mu.Unlock() }

// wait blocks until fd is readable, timeoutMS passes (negative: no limit)
// or interrupt is called. Only between begin and end.
func (w *waiter) wait(fd, timeoutMS int) error {
	cancel, err := w.pipe()
	if err != nil {
		return err
	}
	if _, err := native.WaitReadable(fd, cancel, timeoutMS); err != nil {
		return err
	}
	var buf [64]byte
	for {
		if n, err := syscall.Read(cancel, buf[:]); n <= 0 || err != nil {
			return nil
		}
	}
}

func (w *waiter) pipe() (int, error) {
	w.pipeMu.Lock()
	defer w.pipeMu.Unlock()
	if w.closed {
		return -1, syscall.EBADF
	}
	if !w.made {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
			return -1, err
		}
		w.r, w.w, w.made = p[0], p[1], true
	}
	return w.r, nil
}

// interrupt makes a wait in progress (or the next one) return.
func (w *waiter) interrupt() {
	w.pipeMu.Lock()
	defer w.pipeMu.Unlock()
	if w.made && !w.closed {
		_, _ = syscall.Write(w.w, []byte{1})
	}
}

// shutdown interrupts a wait, waits for its operation to end, and closes
// the pipe. Callers must not hold w.mu.
func (w *waiter) shutdown() {
	w.interrupt()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pipeMu.Lock()
	defer w.pipeMu.Unlock()
	if w.made && !w.closed {
		syscall.Close(w.r)
		syscall.Close(w.w)
	}
	w.closed = true
}
