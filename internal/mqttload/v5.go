package mqttload

// MQTT 5 with github.com/eclipse/paho.golang's paho package (the client
// without reconnection: a device that loses its connection is a failure
// the scenario sees).

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

type client5 struct{ c *paho.Client }

// receiveMaximum is the Receive Maximum a device announces: QoS 1 and 2
// messages the broker may send before their acknowledgements (the
// library acknowledges each once it is queued, so a subscriber's rate is
// not bound by it on loopback).
const receiveMaximum = 256

func dial5(ctx context.Context, dial func(context.Context) (net.Conn, error), o Options, c *Conn) (backend, bool, error) {
	nc, err := dial(ctx)
	if err != nil {
		return nil, false, err
	}
	cl := paho.NewClient(paho.ClientConfig{
		ClientID: o.ClientID,
		Conn:     packets.NewThreadSafeConn(nc),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			p := r.Packet
			m := Message{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retained: p.Retain, At: time.Now()}
			if p.Properties != nil {
				if s := p.Properties.User.Get(SentProperty); s != "" {
					if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
						m.Sent = time.Unix(0, ns)
					}
				}
			}
			c.deliver(m)
			return true, nil
		}},
		OnClientError:      func(err error) { c.lost(err) },
		OnServerDisconnect: func(d *paho.Disconnect) { c.lost(fmt.Errorf("disconnected by the broker (0x%02x)", d.ReasonCode)) },
	})
	// Receive Maximum: the messages the broker may have in flight to us.
	// paho.golang sizes a channel by it (65535 pointers, 512 KiB, when
	// unset): an idle device would cost half a megabyte.
	recvMax := uint16(receiveMaximum)
	cp := &paho.Connect{ClientID: o.ClientID, CleanStart: !o.Persistent, Properties: &paho.ConnectProperties{ReceiveMaximum: &recvMax}}
	if o.KeepAlive > 0 {
		ka := o.KeepAlive / time.Second
		cp.KeepAlive = uint16(min(max(ka, 1), 65535))
	}
	if o.Username != "" {
		cp.Username, cp.UsernameFlag = o.Username, true
		cp.Password, cp.PasswordFlag = []byte(o.Password), true
	}
	if o.Persistent {
		exp := uint32(3600)
		if o.SessionExpiry > 0 {
			exp = uint32(min(o.SessionExpiry/time.Second, 0xfffffffe))
		}
		cp.Properties.SessionExpiryInterval = &exp
	}
	ca, err := cl.Connect(ctx, cp)
	if err != nil {
		nc.Close()
		if ca != nil && ca.ReasonCode >= 0x80 {
			return nil, false, fmt.Errorf("refused by the broker (0x%02x)", ca.ReasonCode)
		}
		return nil, false, err
	}
	return client5{cl}, ca.SessionPresent, nil
}

func (b client5) publish(ctx context.Context, topic string, qos byte, retain bool, payload []byte) error {
	p := &paho.Publish{Topic: topic, QoS: qos, Retain: retain, Payload: payload,
		Properties: &paho.PublishProperties{User: paho.UserProperties{{Key: SentProperty, Value: strconv.FormatInt(time.Now().UnixNano(), 10)}}}}
	r, err := b.c.Publish(ctx, p)
	if err != nil {
		return err
	}
	if r != nil && r.ReasonCode >= 0x80 {
		return fmt.Errorf("refused by the broker (0x%02x)", r.ReasonCode)
	}
	return nil
}

func (b client5) subscribe(ctx context.Context, filter string, qos byte) error {
	r, err := b.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		return err
	}
	for _, code := range r.Reasons {
		if code >= 0x80 {
			return fmt.Errorf("refused by the broker (0x%02x)", code)
		}
	}
	return nil
}

func (b client5) unsubscribe(ctx context.Context, filter string) error {
	_, err := b.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{filter}})
	return err
}

// alive: the client's end is told by OnClientError and
// OnServerDisconnect; Done is looked at too, without a goroutine waiting
// on it per device.
func (b client5) alive() bool {
	select {
	case <-b.c.Done():
		return false
	default:
		return true
	}
}

func (b client5) disconnect(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		b.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}
