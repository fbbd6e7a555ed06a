package cluster

import "time"

// WaitOrForce calls wait (a WaitGroup's Wait, a graceful stop) and returns
// when it returns or limit has passed, whichever comes first. When limit
// passes first and force is not nil, it calls force (cut the work off) and
// then waits for wait to return; with a nil force it gives up waiting.
func WaitOrForce(wait func(), limit time.Duration, force func()) {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		if force != nil {
			force()
			<-done
		}
	}
}
