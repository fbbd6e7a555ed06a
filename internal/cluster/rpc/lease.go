package rpc

import (
	"github.com/horde-load/horde/internal/cluster"
	pb "github.com/horde-load/horde/internal/cluster/clusterpb"
)

// Conversions of the lease messages (cluster/lease.go).

func leaseRequestToPB(r *cluster.LeaseRequest) *pb.WorkerMessage {
	return &pb.WorkerMessage{Body: &pb.WorkerMessage_LeaseRequest{LeaseRequest: &pb.LeaseRequest{
		RunId: r.RunID, Id: r.ID, Feeder: r.Feeder, Counter: r.Counter, Count: r.Count, Extra: r.Extra,
	}}}
}

func leaseRequestFromPB(r *pb.LeaseRequest) *cluster.WorkerMessage {
	return &cluster.WorkerMessage{Lease: &cluster.LeaseRequest{
		RunID: r.RunId, ID: r.Id, Feeder: r.Feeder, Counter: r.Counter, Count: r.Count, Extra: r.Extra,
	}}
}

func leaseReturnToPB(r *cluster.LeaseReturn) *pb.WorkerMessage {
	return &pb.WorkerMessage{Body: &pb.WorkerMessage_LeaseReturn{LeaseReturn: &pb.LeaseReturn{
		RunId: r.RunID, Feeder: r.Feeder, Rows: r.Rows, Sync: r.Sync, Kept: r.Kept,
	}}}
}

func leaseReturnFromPB(r *pb.LeaseReturn) *cluster.WorkerMessage {
	return &cluster.WorkerMessage{Return: &cluster.LeaseReturn{RunID: r.RunId, Feeder: r.Feeder, Rows: r.Rows, Sync: r.Sync, Kept: r.Kept}}
}

func leaseToPB(l *cluster.Lease) *pb.MasterMessage {
	return &pb.MasterMessage{Body: &pb.MasterMessage_Lease{Lease: &pb.Lease{
		RunId: l.RunID, Id: l.ID, Feeder: l.Feeder, Counter: l.Counter, Rows: l.Rows,
		First: l.First, Count: l.Count, Exhausted: l.Exhausted,
	}}}
}

func leaseFromPB(l *pb.Lease) *cluster.MasterMessage {
	return &cluster.MasterMessage{Lease: &cluster.Lease{
		RunID: l.RunId, ID: l.Id, Feeder: l.Feeder, Counter: l.Counter, Rows: l.Rows,
		First: l.First, Count: l.Count, Exhausted: l.Exhausted,
	}}
}

func recallToPB(r *cluster.Recall) *pb.MasterMessage {
	return &pb.MasterMessage{Body: &pb.MasterMessage_Recall{Recall: &pb.Recall{RunId: r.RunID, Feeder: r.Feeder}}}
}

func recallFromPB(r *pb.Recall) *cluster.MasterMessage {
	return &cluster.MasterMessage{Recall: &cluster.Recall{RunID: r.RunId, Feeder: r.Feeder}}
}

func usedToPB(used []cluster.FeederUse) []*pb.FeederUse {
	var out []*pb.FeederUse
	for _, u := range used {
		out = append(out, &pb.FeederUse{Feeder: u.Feeder, Rows: u.Rows})
	}
	return out
}

func usedFromPB(used []*pb.FeederUse) []cluster.FeederUse {
	var out []cluster.FeederUse
	for _, u := range used {
		out = append(out, cluster.FeederUse{Feeder: u.Feeder, Rows: u.Rows})
	}
	return out
}
