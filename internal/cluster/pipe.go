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

// pipeSend sends m on ch, or fails with ErrClosed once done is closed.
func pipeSend[T any](ch chan<- T, done <-chan struct{}, m T) error {
	select {
	case <-done:
		return ErrClosed
	default:
	}
	select {
	case ch <- m:
		return nil
	case <-done:
		return ErrClosed
	}
}

// pipeRecv receives from ch; once done is closed it fails with ErrClosed,
// but what was sent before the close is still delivered.
func pipeRecv[T any](ch <-chan T, done <-chan struct{}) (T, error) {
	select {
	case m := <-ch:
		return m, nil
	default:
	}
	select {
	case m := <-ch:
		return m, nil
	case <-done:
		var zero T
		return zero, ErrClosed
	}
}

type pipeWorker struct{ p *pipe }

func (w *pipeWorker) Send(m *WorkerMessage) error { return pipeSend(w.p.toMaster, w.p.done, m) }

func (w *pipeWorker) Recv() (*MasterMessage, error) { return pipeRecv(w.p.toWorker, w.p.done) }

func (w *pipeWorker) Close() error { w.p.close(); return nil }

// PipeMaster is the master's end of a Pipe.
type PipeMaster struct{ p *pipe }

// Send implements MasterConn.
func (m *PipeMaster) Send(msg *MasterMessage) error { return pipeSend(m.p.toWorker, m.p.done, msg) }

// Recv implements MasterConn.
func (m *PipeMaster) Recv() (*WorkerMessage, error) { return pipeRecv(m.p.toMaster, m.p.done) }

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
