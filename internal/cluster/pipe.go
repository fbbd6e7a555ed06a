package cluster

import (
	"context"
	"sync"
)

// Pipe returns the two ends of an in-process session: what one end sends,
// the other receives, in order. Messages are passed by pointer, not copied:
// neither side may change a message once sent. Closing either end ends the
// session for both.
func Pipe() (WorkerConn, *PipeMaster) {
	p := &pipe{
		toMaster: make(chan *WorkerMessage, 64),
		toWorker: make(chan *MasterMessage, 64),
		done:     make(chan struct{}),
	}
	return &pipeWorker{p}, &PipeMaster{p}
}

type pipe struct {
	toMaster chan *WorkerMessage
	toWorker chan *MasterMessage
	once     sync.Once
	done     chan struct{}
}

func (p *pipe) close() { p.once.Do(func() { close(p.done) }) }

type pipeWorker struct{ p *pipe }

func (w *pipeWorker) Send(m *WorkerMessage) error {
	select {
	case <-w.p.done:
		return ErrClosed
	default:
	}
	select {
	case w.p.toMaster <- m:
		return nil
	case <-w.p.done:
		return ErrClosed
	}
}

func (w *pipeWorker) Recv() (*MasterMessage, error) {
	select { // what was sent before a close is still delivered
	case m := <-w.p.toWorker:
		return m, nil
	default:
	}
	select {
	case m := <-w.p.toWorker:
		return m, nil
	case <-w.p.done:
		return nil, ErrClosed
	}
}

func (w *pipeWorker) Close() error { w.p.close(); return nil }

// PipeMaster is the master's end of a Pipe.
type PipeMaster struct{ p *pipe }

// Send implements MasterConn.
func (m *PipeMaster) Send(msg *MasterMessage) error {
	select {
	case <-m.p.done:
		return ErrClosed
	default:
	}
	select {
	case m.p.toWorker <- msg:
		return nil
	case <-m.p.done:
		return ErrClosed
	}
}

// Recv implements MasterConn.
func (m *PipeMaster) Recv() (*WorkerMessage, error) {
	select { // what was sent before a close is still delivered
	case msg := <-m.p.toMaster:
		return msg, nil
	default:
	}
	select {
	case msg := <-m.p.toMaster:
		return msg, nil
	case <-m.p.done:
		return nil, ErrClosed
	}
}

// Peer implements MasterConn.
func (m *PipeMaster) Peer() string { return "in-process" }

// Close ends the session for both ends.
func (m *PipeMaster) Close() error { m.p.close(); return nil }

// LocalDialer dials an Acceptor in the same process through a Pipe.
type LocalDialer struct{ Acceptor Acceptor }

var _ MasterConn = (*PipeMaster)(nil)

// Dial implements Dialer: it serves the session with the Acceptor on its
// own goroutine, closing the pipe when Accept returns.
func (d LocalDialer) Dial(ctx context.Context) (WorkerConn, error) {
	w, m := Pipe()
	go func() {
		d.Acceptor.Accept(ctx, m)
		m.Close()
	}()
	return w, nil
}
