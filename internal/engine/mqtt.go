package engine

// This file runs the MQTT steps of a scenario
// (internal/scenario/parse_mqtt.go) with internal/mqttload, recording them
// through the user's recorder like its HTTP requests (docs/protocols.md#mqtt
// names the statistics).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/mqttload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// mqttMethod is the type column of MQTT rows.
const mqttMethod = "MQTT"

// mqttConn is one of a user's open MQTT connections.
type mqttConn struct {
	c     *mqttload.Conn
	label string // the statistics label of its connect step
}

// runMQTT runs an MQTT step: failed reports a failure that was recorded;
// err a problem of the scenario or a stop.
func (p *planUser) runMQTT(ctx context.Context, u *vuser, s *step) (failed bool, err error) {
	m := s.MQTT
	if p.mqtt == nil {
		p.mqtt = map[string]*mqttConn{}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = u.timeout()
	}
	oc := p.mqtt[m.Conn]
	if oc != nil && oc.c.Closed() && m.Action != scenario.MQTTDisconnect {
		p.endMQTT(u, m.Conn, oc.c.Err()) // dropped since the last step
		oc = nil
	}
	var topic []byte
	if m.Topic != nil {
		topic, err = m.Topic.Append(p.path[:0], &p.env)
		if err != nil {
			return false, fmt.Errorf("%s:%d: mqtt_%s topic: %w", s.Pos.File, s.Pos.Line, m.Action, err)
		}
		if err := scenario.CheckTopic(string(topic), m.Action != scenario.MQTTPublish); err != nil {
			u.recordProto(stats.Sample{Method: mqttMethod, Name: mqttName(s), Failure: err.Error()})
			return true, nil
		}
	}
	if oc == nil && m.Action != scenario.MQTTConnect {
		if m.Action == scenario.MQTTDisconnect {
			return false, nil // nothing to disconnect
		}
		u.recordProto(stats.Sample{Method: mqttMethod, Name: mqttName(s), Failure: "mqtt connection " + m.Conn + " is not open"})
		return true, nil
	}
	switch m.Action {
	case scenario.MQTTConnect:
		if oc != nil {
			return false, nil // open: a task may start with its connect
		}
		return p.mqttConnect(ctx, u, s, timeout)
	case scenario.MQTTPublish:
		p.body, err = m.Payload.Append(p.body[:0], &p.env)
		if err != nil {
			return false, fmt.Errorf("%s:%d: mqtt_publish payload: %w", s.Pos.File, s.Pos.Line, err)
		}
		took, err := oc.c.Publish(ctx, string(topic), m.QoS, m.Retain, p.body, timeout)
		return p.mqttDone(ctx, u, s, m.Conn, took, int64(len(p.body)), err, p.body)
	case scenario.MQTTSubscribe:
		took, err := oc.c.Subscribe(ctx, string(topic), m.QoS, timeout)
		return p.mqttDone(ctx, u, s, m.Conn, took, 0, err, topic)
	case scenario.MQTTUnsubscribe:
		took, err := oc.c.Unsubscribe(ctx, string(topic), timeout)
		return p.mqttDone(ctx, u, s, m.Conn, took, 0, err, topic)
	case scenario.MQTTReceive:
		return p.mqttReceive(ctx, u, s, oc, string(topic), timeout)
	case scenario.MQTTDisconnect:
		cerr := oc.c.Disconnect(timeout)
		p.recordMQTTSession(u, oc, cerr)
		delete(p.mqtt, m.Conn)
		return cerr != nil, nil
	}
	return false, fmt.Errorf("%s:%d: unknown mqtt action %q", s.Pos.File, s.Pos.Line, m.Action)
}

// mqttName is a step's statistics name: its name:, or the action and its
// topic as written (a templated topic is one row, not one per device).
func mqttName(s *step) string {
	if s.Name != "" {
		return s.Name
	}
	m := s.MQTT
	switch {
	case m.Action == scenario.MQTTReceive && m.Topic == nil:
		return "receive"
	case m.Topic != nil:
		return m.Action + " " + m.Topic.String()
	}
	return m.Action
}

func (p *planUser) mqttConnect(ctx context.Context, u *vuser, s *step, timeout time.Duration) (bool, error) {
	m := s.MQTT
	render := func(t *scenario.Template, what string) (string, error) {
		if t == nil {
			return "", nil
		}
		b, err := t.Append(nil, &p.env)
		if err != nil {
			return "", fmt.Errorf("%s:%d: mqtt_connect %s: %w", s.Pos.File, s.Pos.Line, what, err)
		}
		return string(b), nil
	}
	target := p.pc.host
	if m.URL != nil {
		var err error
		if target, err = render(m.URL, "url"); err != nil {
			return false, err
		}
	}
	id, err := render(m.ClientID, "client_id")
	if err != nil {
		return false, err
	}
	if id == "" {
		id = fmt.Sprintf("horde-%d-%08x", u.id, u.rand.Uint32())
	}
	o := mqttload.Options{Version: m.Version, ClientID: id, Persistent: m.Persistent, KeepAlive: m.KeepAlive,
		SessionExpiry: m.SessionExpiry, Dial: u.client.DialContext, TLS: u.TLSConfig()}
	if o.Username, err = render(m.Username, "username"); err != nil {
		return false, err
	}
	if o.Password, err = render(m.Password, "password"); err != nil {
		return false, err
	}
	if tr := s.transport; tr != nil && tr.TLS != nil {
		o.TLS = tr.TLS
	}
	label := "connect"
	if s.Name != "" {
		label = s.Name
	}
	if _, _, err := mqttload.ParseURL(target); err != nil {
		u.recordProto(stats.Sample{Method: mqttMethod, Name: label, Failure: err.Error() + " (set -H or the step's url)"})
		return true, nil
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	c, took, err := mqttload.Dial(dctx, target, o)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, httpload.ErrStopped
		}
		u.recordProto(stats.Sample{Method: mqttMethod, Name: label, Duration: took, Failure: err.Error()})
		return true, nil
	}
	u.recordProto(stats.Sample{Method: mqttMethod, Name: label, Duration: took})
	p.mqtt[m.Conn] = &mqttConn{c: c, label: label}
	return false, nil
}

// mqttDone records a publish, subscribe or unsubscribe.
func (p *planUser) mqttDone(ctx context.Context, u *vuser, s *step, conn string, took time.Duration, size int64, err error, sent []byte) (bool, error) {
	if err != nil {
		if ctx.Err() != nil {
			return false, httpload.ErrStopped
		}
		u.recordProto(stats.Sample{Method: mqttMethod, Name: mqttName(s), Duration: took, Failure: err.Error()}, sent)
		if oc := p.mqtt[conn]; oc != nil && oc.c.Closed() {
			p.endMQTT(u, conn, oc.c.Err())
		}
		return true, nil
	}
	u.recordProto(stats.Sample{Method: mqttMethod, Name: mqttName(s), Duration: took, Bytes: size, WireBytes: size}, sent)
	return false, nil
}

// mqttReceive waits for the message the step matches. Its time is the
// message's end-to-end delivery (publisher's send to arrival) when the
// message carries its send time (MQTT 5), else the wait.
func (p *planUser) mqttReceive(ctx context.Context, u *vuser, s *step, oc *mqttConn, filter string, timeout time.Duration) (bool, error) {
	m := s.MQTT
	start := time.Now()
	msgv, skipped, err := oc.c.Wait(ctx, timeout, func(x mqttload.Message) bool {
		if filter != "" && !scenario.TopicMatches(filter, x.Topic) {
			return false
		}
		return m.Match.Matches(msg{data: x.Payload, took: x.At.Sub(start)})
	})
	name := mqttName(s)
	if err != nil {
		if ctx.Err() != nil {
			return false, httpload.ErrStopped
		}
		f := err.Error()
		if errors.Is(err, mqttload.ErrTimeout) {
			f = fmt.Sprintf("no message matched within %s", timeout)
			if skipped > 0 {
				f += fmt.Sprintf(" (%d others)", skipped)
			}
		}
		u.recordProto(stats.Sample{Method: mqttMethod, Name: name, Duration: time.Since(start), Failure: f})
		if oc.c.Closed() {
			p.endMQTT(u, m.Conn, oc.c.Err())
		}
		return true, nil
	}
	took := max(msgv.At.Sub(start), 0)
	if !msgv.Sent.IsZero() {
		took = max(msgv.At.Sub(msgv.Sent), 0)
	}
	r := msg{data: msgv.Payload, took: took}
	failure := s.Step.Capture(r, p.vars)
	n := int64(len(msgv.Payload))
	u.recordProto(stats.Sample{Method: mqttMethod, Name: name, Duration: took, Bytes: n, WireBytes: n, Failure: failure}, []byte(msgv.Topic), msgv.Payload)
	return failure != "", nil
}

// endMQTT records the session of a connection that ended and forgets it.
func (p *planUser) endMQTT(u *vuser, conn string, err error) {
	oc := p.mqtt[conn]
	if oc == nil {
		return
	}
	oc.c.Disconnect(time.Second)
	p.recordMQTTSession(u, oc, err)
	delete(p.mqtt, conn)
}

func (p *planUser) recordMQTTSession(u *vuser, oc *mqttConn, err error) {
	f := ""
	if err != nil {
		f = err.Error()
	}
	if d := oc.c.Dropped(); d > 0 && f == "" {
		f = strconv.Itoa(d) + " messages dropped unread (queue full)"
	}
	name := "session"
	if oc.label != "connect" {
		name = "session " + oc.label
	}
	u.recordProto(stats.Sample{Method: mqttMethod, Name: name, Duration: time.Since(oc.c.Opened), Failure: f})
}

// closeMQTT disconnects what a stopping user left connected, recording
// each connection's session.
func (p *planUser) closeMQTT(u *vuser) {
	for name, oc := range p.mqtt {
		cerr := oc.c.Disconnect(2 * time.Second)
		p.recordMQTTSession(u, oc, cerr)
		delete(p.mqtt, name)
	}
}
