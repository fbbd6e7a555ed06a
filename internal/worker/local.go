package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/httpload"
)

// Local runs a standalone master's users: an in-process worker joined to
// acc through a cluster.Pipe, until ctx is done. It logs only its problems
// (log's warnings and errors): the master logs the run.
func Local(ctx context.Context, acc cluster.Acceptor, classes []horde.Class, http httpload.Options, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := New(Config{
		ID:                "local",
		Version:           "local",
		Classes:           classes,
		HTTP:              http,
		MasterLostTimeout: time.Hour, // it dies with this process
		Logger:            slog.New(WarnOnly(log.Handler())),
		RequestLog:        log, // -L debug: every request
	})
	if err != nil {
		return err
	}
	return w.Run(ctx, cluster.LocalDialer{Acceptor: acc})
}
