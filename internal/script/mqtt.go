package script

// The MQTT devices of script users (docs/protocols.md#mqtt):
// u.mqtt_connect(...) returns a connection whose publish, subscribe,
// unsubscribe, receive and disconnect record samples named like the YAML
// steps' (type MQTT).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/mqttload"
	"github.com/horde-load/horde/internal/scenario"
)

// mqttConn is a script's MQTT connection.
type mqttConn struct {
	u     *userValue
	c     *mqttload.Conn
	label string
	done  bool
}

func (m *mqttConn) String() string        { return fmt.Sprintf("<mqtt %s>", m.label) }
func (m *mqttConn) Type() string          { return "mqtt" }
func (m *mqttConn) Freeze()               {}
func (m *mqttConn) Truth() starlark.Bool  { return starlark.Bool(!m.done && !m.c.Closed()) }
func (m *mqttConn) Hash() (uint32, error) { return 0, errors.New("unhashable: mqtt") }
func (m *mqttConn) AttrNames() []string {
	return []string{"disconnect", "publish", "receive", "session_present", "subscribe", "unsubscribe"}
}

func (m *mqttConn) Attr(name string) (starlark.Value, error) {
	switch name {
	case "session_present":
		return starlark.Bool(m.c.SessionPresent), nil
	case "publish", "subscribe", "unsubscribe", "receive", "disconnect":
		return starlark.NewBuiltin(name, m.call), nil
	}
	return nil, nil
}

// mqttConnect is u.mqtt_connect(url=None, client_id="", version=3,
// clean_session=True, keep_alive="60s", username="", password="",
// name="connect", timeout=): url None is the host (mqtt:// or mqtts://).
func (u *userValue) mqttConnect(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		rawURL, clientID, username, password, name string
		version                                                   = 3
		clean                                                     = true
		keepAlive, timeout                         starlark.Value = starlark.None, starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url?", &rawURL, "client_id?", &clientID, "version?", &version,
		"clean_session?", &clean, "keep_alive?", &keepAlive, "username?", &username, "password?", &password,
		"name?", &name, "timeout?", &timeout); err != nil {
		return nil, err
	}
	if rawURL == "" {
		rawURL = u.host
	}
	if _, _, err := mqttload.ParseURL(rawURL); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if version != 3 && version != 5 {
		return nil, fmt.Errorf("%s: version %d: want 3 (3.1.1) or 5", b.Name(), version)
	}
	to, err := optTimeout(b.Name(), timeout)
	if err != nil {
		return nil, err
	}
	o := mqttload.Options{Version: version, ClientID: clientID, Username: username, Password: password, Persistent: !clean}
	if keepAlive != starlark.None {
		d, err := toDuration(keepAlive)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: keep_alive: want a duration >= 0", b.Name())
		}
		o.KeepAlive = d
		if d == 0 {
			o.KeepAlive = -1
		}
	}
	if o.ClientID == "" {
		o.ClientID = fmt.Sprintf("horde-%d-%d", u.r.vu.ID(), time.Now().UnixNano()%1e9)
	}
	if p, ok := u.r.vu.(protoVU); ok {
		o.TLS, o.Dial = p.TLSConfig(), p.DialContext
	}
	if name == "" {
		name = "connect"
	}
	ctx, cancel := context.WithTimeout(u.ctx(), to)
	c, took, err := mqttload.Dial(ctx, rawURL, o)
	cancel()
	if err != nil {
		if u.ctx().Err() != nil {
			return nil, errStopped
		}
		u.r.vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: took, Failure: err.Error()})
		return starlark.None, nil
	}
	u.r.vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: took})
	m := &mqttConn{u: u, c: c, label: name}
	u.mqttConns = append(u.mqttConns, m)
	return m, nil
}

// call implements the connection's methods:
//
//	publish(topic, payload="", json=, qos=0, retain=False, name=, timeout=)
//	subscribe(filter, qos=1, name=, timeout=)
//	unsubscribe(filter, name=, timeout=)
//	receive(topic=, name=, timeout=, contains=, match=) -> struct(topic, payload), or None
//	disconnect()
func (m *mqttConn) call(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := "mqtt." + b.Name()
	var (
		topic, name, contains string
		payload, jsonMsg      starlark.Value = starlark.None, starlark.None
		timeout, match        starlark.Value = starlark.None, starlark.None
		qos                                  = -1
		retain                bool
	)
	var err error
	switch b.Name() {
	case "publish":
		err = starlark.UnpackArgs(fn, args, kwargs, "topic", &topic, "payload?", &payload, "json?", &jsonMsg, "qos?", &qos,
			"retain?", &retain, "name?", &name, "timeout?", &timeout)
	case "subscribe":
		err = starlark.UnpackArgs(fn, args, kwargs, "filter", &topic, "qos?", &qos, "name?", &name, "timeout?", &timeout)
	case "unsubscribe":
		err = starlark.UnpackArgs(fn, args, kwargs, "filter", &topic, "name?", &name, "timeout?", &timeout)
	case "receive":
		err = starlark.UnpackArgs(fn, args, kwargs, "topic?", &topic, "name?", &name, "timeout?", &timeout, "contains?", &contains, "match?", &match)
	case "disconnect":
		err = starlark.UnpackArgs(fn, args, kwargs)
	}
	if err != nil {
		return nil, err
	}
	if qos == -1 {
		qos = 0
		if b.Name() == "subscribe" {
			qos = 1
		}
	}
	if qos < 0 || qos > 2 {
		return nil, fmt.Errorf("%s: qos %d: want 0, 1 or 2", fn, qos)
	}
	if topic != "" {
		if err := scenario.CheckTopic(topic, b.Name() != "publish"); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
	}
	if name == "" {
		name = b.Name()
		if topic != "" {
			name += " " + topic
		}
	}
	if match != starlark.None {
		if _, ok := match.(starlark.Callable); !ok {
			return nil, fmt.Errorf("%s: match must be a function of the message, got %s", fn, match.Type())
		}
	}
	to, err := optTimeout(fn, timeout)
	if err != nil {
		return nil, err
	}
	ctx := m.u.ctx()
	vu := m.u.r.vu
	if m.done || m.c.Closed() {
		if b.Name() == "disconnect" {
			m.end(nil)
			return starlark.None, nil
		}
		m.end(m.c.Err())
		vu.Record(horde.Sample{Method: "MQTT", Name: name, Failure: "mqtt " + m.label + " is not open"})
		return starlark.None, nil
	}
	fail := func(took time.Duration, err error) (starlark.Value, error) {
		if ctx.Err() != nil {
			return nil, errStopped
		}
		vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: took, Failure: err.Error()})
		if m.c.Closed() {
			m.end(m.c.Err())
		}
		return starlark.None, nil
	}
	var took time.Duration
	switch b.Name() {
	case "disconnect":
		m.end(m.c.Disconnect(to))
		return starlark.None, nil
	case "publish":
		var data []byte
		if jsonMsg != starlark.None || payload != starlark.None {
			if data, _, err = message(thread, fn, payload, jsonMsg); err != nil {
				return nil, err
			}
		}
		if took, err = m.c.Publish(ctx, topic, byte(qos), retain, data, to); err != nil {
			return fail(took, err)
		}
		vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: took, Bytes: int64(len(data))})
		return starlark.None, nil
	case "subscribe", "unsubscribe":
		if b.Name() == "subscribe" {
			took, err = m.c.Subscribe(ctx, topic, byte(qos), to)
		} else {
			took, err = m.c.Unsubscribe(ctx, topic, to)
		}
		if err != nil {
			return fail(took, err)
		}
		vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: took})
		return starlark.None, nil
	}
	start := time.Now()
	sm := &scriptMatch{thread: thread, fn: match}
	msg, skipped, err := m.c.Wait(ctx, to, func(x mqttload.Message) bool {
		return (topic == "" || scenario.TopicMatches(topic, x.Topic)) &&
			(contains == "" || strings.Contains(string(x.Payload), contains)) &&
			sm.ok(func() starlark.Value { return mqttMsgValue(x) })
	})
	if sm.err != nil {
		return nil, fmt.Errorf("%s: match: %w", fn, sm.err)
	}
	if err != nil {
		return fail(time.Since(start), waitError(err, mqttload.ErrTimeout, to, skipped))
	}
	took = max(msg.At.Sub(start), 0)
	if !msg.Sent.IsZero() {
		took = max(msg.At.Sub(msg.Sent), 0)
	}
	vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: took, Bytes: int64(len(msg.Payload))})
	return mqttMsgValue(msg), nil
}

func mqttMsgValue(x mqttload.Message) starlark.Value {
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"topic":    starlark.String(x.Topic),
		"payload":  starlark.String(x.Payload),
		"qos":      starlark.MakeInt(int(x.QoS)),
		"retained": starlark.Bool(x.Retained),
	})
}

// end records the connection's session once.
func (m *mqttConn) end(err error) {
	if m.done {
		return
	}
	m.done = true
	m.c.Disconnect(time.Second)
	f := ""
	if err != nil {
		f = err.Error()
	}
	name := "session"
	if m.label != "connect" {
		name = "session " + m.label
	}
	m.u.r.vu.Record(horde.Sample{Method: "MQTT", Name: name, Duration: time.Since(m.c.Opened), Failure: f})
}

// closeMQTT disconnects the connections a stopping user left open.
func (u *userValue) closeMQTT() {
	for _, m := range u.mqttConns {
		if !m.done {
			m.end(m.c.Disconnect(2 * time.Second))
		}
	}
	u.mqttConns = u.mqttConns[:0]
}
