package mqttload

// MQTT 3.1.1 with github.com/eclipse/paho.mqtt.golang.

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

type client3 struct{ c paho3.Client }

func dial3(ctx context.Context, dial func(context.Context) (net.Conn, error), addr string, o Options, c *Conn) (backend, bool, error) {
	po := paho3.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(o.ClientID).
		SetProtocolVersion(4).
		SetCleanSession(!o.Persistent).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetOrderMatters(true).
		SetStore(paho3.NewMemoryStore())
	if o.KeepAlive > 0 {
		po.SetKeepAlive(o.KeepAlive)
	} else {
		po.SetKeepAlive(0)
	}
	if o.Username != "" {
		po.SetUsername(o.Username).SetPassword(o.Password)
	}
	if d, ok := ctx.Deadline(); ok {
		po.SetConnectTimeout(time.Until(d))
	}
	po.SetCustomOpenConnectionFn(func(*url.URL, paho3.ClientOptions) (net.Conn, error) { return dial(ctx) })
	po.SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
		c.deliver(Message{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retained: m.Retained(), At: time.Now()})
	})
	po.SetConnectionLostHandler(func(_ paho3.Client, err error) { c.lost(err) })
	cl := paho3.NewClient(po)
	tok := cl.Connect()
	if err := wait(ctx, tok); err != nil {
		cl.Disconnect(0)
		return nil, false, err
	}
	ct := tok.(*paho3.ConnectToken)
	return client3{cl}, ct.SessionPresent(), nil
}

// wait waits for a token within ctx.
func wait(ctx context.Context, t paho3.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b client3) publish(ctx context.Context, topic string, qos byte, retain bool, payload []byte) error {
	return wait(ctx, b.c.Publish(topic, qos, retain, payload))
}

func (b client3) subscribe(ctx context.Context, filter string, qos byte) error {
	t := b.c.Subscribe(filter, qos, nil)
	if err := wait(ctx, t); err != nil {
		return err
	}
	for _, code := range t.(*paho3.SubscribeToken).Result() {
		if code >= 0x80 {
			return fmt.Errorf("refused by the broker (0x%02x)", code)
		}
	}
	return nil
}

func (b client3) unsubscribe(ctx context.Context, filter string) error {
	return wait(ctx, b.c.Unsubscribe(filter))
}

func (b client3) alive() bool { return b.c.IsConnectionOpen() }

func (b client3) disconnect(timeout time.Duration) {
	b.c.Disconnect(uint(timeout / time.Millisecond))
}
