// This file parses the MQTT steps (docs/protocols.md#mqtt): mqtt_connect,
// mqtt_publish, mqtt_subscribe, mqtt_receive, mqtt_unsubscribe and
// mqtt_disconnect. The engine runs them with internal/mqttload.

package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MQTT actions (MQTTStep.Action).
const (
	MQTTConnect     = "connect"
	MQTTPublish     = "publish"
	MQTTSubscribe   = "subscribe"
	MQTTReceive     = "receive"
	MQTTUnsubscribe = "unsubscribe"
	MQTTDisconnect  = "disconnect"
)

// MQTTStep is an MQTT step; its Step carries the name, timeout, captures,
// checks and transport (TLS for mqtts://).
type MQTTStep struct {
	Action string
	// Conn names the user's connection the step uses ("mqtt" unless conn: says).
	Conn string
	// URL (connect) is mqtt://host:port or mqtts://host:port; nil: the host
	// (-H), which must then be an mqtt:// or mqtts:// URL.
	URL *Template
	// ClientID, Username and Password (connect); an empty ClientID is
	// "horde-<run>-<user>".
	ClientID *Template
	Username *Template
	Password *Template
	// Version is 3 (MQTT 3.1.1) or 5; Persistent asks for a kept session
	// (clean_session: false); KeepAlive 0 is the default (60 s), negative none.
	Version       int
	Persistent    bool
	KeepAlive     time.Duration
	SessionExpiry time.Duration
	// Topic is the publish topic, or the subscribe/unsubscribe filter, or
	// (receive) a filter the awaited message's topic must match (nil: any).
	Topic   *Template
	Payload *Template
	QoS     byte
	Retain  bool
	// Match (receive) decides which message is awaited: its checks all
	// hold; nil: any message on Topic.
	Match *Step
}

var (
	mqttActions     = []string{"mqtt_connect", "mqtt_publish", "mqtt_subscribe", "mqtt_receive", "mqtt_unsubscribe", "mqtt_disconnect"}
	mqttStepKeys    = append(slices.Clone(mqttActions), "conn", "name", "timeout", "on_failure")
	mqttConnectKeys = append(slices.Clone(transportKeys), "client_id", "username", "password", "version",
		"clean_session", "keep_alive", "session_expiry")
	mqttPublishKeys   = []string{"payload", "qos", "retain"}
	mqttSubscribeKeys = []string{"qos"}
	mqttReceiveKeys   = []string{"topic", "capture"}
	mqttPayloadKeys   = []string{"text", "json"}
)

// isMQTTStep reports whether mapping n is an MQTT step.
func isMQTTStep(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	return slices.ContainsFunc(mqttActions, func(k string) bool { return hasKey(n, k) })
}

// mqttStep parses an MQTT step; extra are keys of the enclosing task
// (weight, tags) that it skips.
func (p *parser) mqttStep(n *yaml.Node, extra []string) *Step {
	r := p.resolve(n)
	ps, _ := p.pairs(n, "mqtt step")
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].key.Line < ps[j].key.Line })
	var action *pair
	for i := range ps {
		if slices.Contains(mqttActions, ps[i].name) {
			if action != nil {
				p.errorf(ps[i].key, "step has two mqtt actions, %s and %s; use one per step", action.name, ps[i].name)
				return nil
			}
			action = &ps[i]
		}
	}
	if action == nil {
		return nil
	}
	m := &MQTTStep{Action: strings.TrimPrefix(action.name, "mqtt_"), Conn: "mqtt", Version: 3}
	s := &Step{Pos: p.pos(r), Timeout: p.defTimeout, Method: "MQTT", URL: &Template{static: true}, MQTT: m}
	known := mqttStepKeys
	switch m.Action {
	case MQTTConnect:
		known = append(slices.Clone(known), mqttConnectKeys...)
	case MQTTPublish:
		known = append(slices.Clone(known), mqttPublishKeys...)
	case MQTTSubscribe:
		known = append(slices.Clone(known), mqttSubscribeKeys...)
	case MQTTReceive:
		known = append(slices.Clone(known), mqttReceiveKeys...)
	}
	f := p.protoFields(ps, extra, known, "mqtt "+m.Action+" step", mqttConnectKeys, mqttPublishKeys, mqttReceiveKeys)
	p.connAndName(f, s, &m.Conn)
	p.positiveDuration(f, "timeout", "timeout", &s.Timeout)
	s.StopOnFailure = p.stopOnFailure(f)
	if e, ok := f["qos"]; ok {
		if q, ok := p.int(e.val, "qos"); ok {
			if q < 0 || q > 2 {
				p.errorf(e.val, "qos %d: want 0, 1 or 2", q)
			}
			m.QoS = byte(min(max(q, 0), 2))
		}
	}
	switch m.Action {
	case MQTTConnect:
		p.mqttConnect(action.val, m, f)
		s.Transport = p.transport(p.transportSpecs(p.defSpec, f))
	case MQTTPublish:
		m.Topic = p.mqttTopic(action.val, "mqtt_publish topic", false)
		if e, ok := f["payload"]; ok {
			m.Payload = p.mqttPayload(e.val)
		} else {
			m.Payload = &Template{static: true}
		}
		if e, ok := f["retain"]; ok {
			m.Retain, _ = p.bool(e.val, "retain")
		}
	case MQTTSubscribe, MQTTUnsubscribe:
		m.Topic = p.mqttTopic(action.val, "mqtt_"+m.Action+" filter", true)
		if m.Action == MQTTSubscribe {
			if _, ok := f["qos"]; !ok {
				m.QoS = 1
			}
		}
	case MQTTReceive:
		m.Match = p.wsMatch(action.val, "mqtt_receive")
		if e, ok := f["topic"]; ok {
			m.Topic = p.mqttTopic(e.val, "topic", true)
		}
		if e, ok := f["capture"]; ok {
			s.Captures = p.captures(e.val)
		}
	case MQTTDisconnect:
		if v := p.resolve(action.val); v != nil && !(v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!bool" && v.Value == "true" || v.ShortTag() == "!!null")) {
			p.errorf(action.val, "mqtt_disconnect takes true (name the connection with conn:)")
		}
	}
	return s
}

// mqttConnect reads mqtt_connect's value (a URL, or true for the host) and options.
func (p *parser) mqttConnect(n *yaml.Node, m *MQTTStep, f map[string]pair) {
	if v := p.resolve(n); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() != "!!bool" && v.ShortTag() != "!!null" {
		if u, ok := p.str(n, "mqtt_connect url"); ok {
			m.URL = p.template(n, u)
			if st, ok := m.URL.Static(); ok && m.URL != nil && !strings.HasPrefix(st, "mqtt://") && !strings.HasPrefix(st, "mqtts://") {
				p.errorf(n, "url %q: want mqtt://host:port or mqtts://host:port (or true for the host)", st)
			}
		}
	} else if v != nil && v.Kind == yaml.ScalarNode && v.Value == "false" {
		p.errorf(n, "mqtt_connect: false connects nothing; leave the step out")
	}
	tmpl := func(key string) *Template {
		e, ok := f[key]
		if !ok {
			return nil
		}
		if t, ok := p.str(e.val, key); ok {
			return p.template(e.val, t)
		}
		return nil
	}
	m.ClientID, m.Username, m.Password = tmpl("client_id"), tmpl("username"), tmpl("password")
	if m.Password != nil && m.Username == nil {
		p.errorf(f["password"].key, "password needs a username")
	}
	if e, ok := f["version"]; ok {
		switch v := p.resolve(e.val); {
		case v != nil && v.Kind == yaml.ScalarNode && (v.Value == "3" || v.Value == "3.1.1" || v.Value == "4"):
			m.Version = 3
		case v != nil && v.Kind == yaml.ScalarNode && v.Value == "5":
			m.Version = 5
		default:
			p.errorf(e.val, "mqtt version: want 3 (3.1.1) or 5")
		}
	}
	if e, ok := f["clean_session"]; ok {
		if c, ok := p.bool(e.val, "clean_session"); ok {
			m.Persistent = !c
		}
	}
	if e, ok := f["keep_alive"]; ok {
		if d, ok := p.duration(e.val, "keep_alive"); ok {
			switch {
			case d < 0:
				p.errorf(e.val, "keep_alive must be >= 0 (0: none)")
			case d == 0:
				m.KeepAlive = -1
			case d < time.Second || d > 65535*time.Second:
				p.errorf(e.val, "keep_alive %s: want 1s to 18h12m15s, or 0 for none", d)
			default:
				m.KeepAlive = d
			}
		}
	}
	if e, ok := f["session_expiry"]; ok {
		if d, ok := p.duration(e.val, "session_expiry"); ok {
			if d <= 0 {
				p.errorf(e.val, "session_expiry must be > 0")
			}
			if m.Version != 5 || !m.Persistent {
				p.errorf(e.key, "session_expiry needs version: 5 and clean_session: false")
			}
			m.SessionExpiry = d
		}
	}
}

// mqttTopic reads a topic (filter: a subscription filter, with + and #).
func (p *parser) mqttTopic(n *yaml.Node, what string, filter bool) *Template {
	t, ok := p.str(n, what)
	if !ok {
		return nil
	}
	tm := p.template(n, t)
	if st, ok := tm.Static(); ok && tm != nil {
		if err := CheckTopic(st, filter); err != nil {
			p.errorf(n, "%s: %s", what, err)
		}
	}
	return tm
}

// CheckTopic reports what is wrong with an MQTT topic name, or (filter)
// topic filter: empty, a NUL, wildcards in a name, a + or # that is not a
// whole level, a # that is not last, a shared subscription ($share/...)
// without a group or a filter.
func CheckTopic(t string, filter bool) error {
	if t == "" {
		return fmt.Errorf("topic is empty")
	}
	if len(t) > 65535 {
		return fmt.Errorf("topic is %d bytes; MQTT allows 65535", len(t))
	}
	if strings.ContainsRune(t, 0) {
		return fmt.Errorf("topic %q has a NUL character", t)
	}
	if filter && strings.HasPrefix(t, "$share/") {
		// A shared subscription (MQTT 5, 4.8.2): $share/GROUP/FILTER.
		group, rest, ok := strings.Cut(t[len("$share/"):], "/")
		if !ok || group == "" || rest == "" || strings.ContainsAny(group, "+#") {
			return fmt.Errorf("topic %q: a shared subscription is $share/GROUP/FILTER, with a group name without + or # and a filter", t)
		}
		return CheckTopic(rest, true)
	}
	levels := strings.Split(t, "/")
	for i, l := range levels {
		if !strings.ContainsAny(l, "+#") {
			continue
		}
		if !filter {
			return fmt.Errorf("topic %q: + and # are for subscriptions; a published topic names one topic", t)
		}
		if l != "+" && l != "#" {
			return fmt.Errorf("topic %q: a wildcard must be a whole level (a/+/b, a/#)", t)
		}
		if l == "#" && i != len(levels)-1 {
			return fmt.Errorf("topic %q: # must be the last level", t)
		}
	}
	return nil
}

// TopicMatches reports whether topic matches the subscription filter
// (MQTT 4.7; $share/group/ is left out; topics starting with $ match no
// leading wildcard).
func TopicMatches(filter, topic string) bool {
	if strings.HasPrefix(filter, "$share/") {
		if i := strings.IndexByte(filter[len("$share/"):], '/'); i >= 0 {
			filter = filter[len("$share/")+i+1:]
		}
	}
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore || !tmore {
			return !fmore && !tmore || fmore && frest == "#"
		}
		filter, topic = frest, trest
	}
}

// mqttPayload reads what mqtt_publish sends: a string, {text: ...} or {json: ...}.
func (p *parser) mqttPayload(n *yaml.Node) *Template {
	r := p.resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode {
		if t, ok := p.text(n, "payload"); ok {
			return p.template(n, t)
		}
		return nil
	}
	f := p.fields(n, "payload", mqttPayloadKeys)
	if len(f) != 1 {
		if f != nil {
			p.errorf(n, "payload wants one of text or json")
		}
		return nil
	}
	if e, ok := f["json"]; ok {
		return p.jsonBody(e.val)
	}
	if t, ok := p.text(f["text"].val, "text"); ok {
		return p.template(f["text"].val, t)
	}
	return nil
}

// checkMQTTHost reports the requests, WebSocket and SSE steps with a
// relative URL when the host is an MQTT broker: they would go nowhere.
//
// And the other way round: an mqtt_connect without a URL connects to the
// host, which must then be a broker's.
func (p *parser) checkMQTTHost(plan *Plan) {
	if !strings.HasPrefix(plan.Host, "mqtt://") && !strings.HasPrefix(plan.Host, "mqtts://") {
		if plan.Host == "" {
			return
		}
		each := func(steps []*Step) {
			for _, s := range steps {
				if s != nil && s.MQTT != nil && s.MQTT.Action == MQTTConnect && s.MQTT.URL == nil {
					p.errorAt(s.Pos, "mqtt_connect: true connects to the host, and the host %s is not an MQTT broker: pass -H mqtt://HOST:PORT (or mqtts://) or give the step its URL", plan.Host)
				}
			}
		}
		for _, c := range plan.Classes {
			each(c.OnStart)
			for _, t := range c.Tasks {
				each(t.Steps)
			}
			each(c.OnStop)
		}
		return
	}
	check := func(steps []*Step) {
		for _, s := range steps {
			if s == nil || s.Sleep || s.MQTT != nil || s.GRPC != nil || s.URL == nil {
				continue
			}
			u := s.URL
			if s.WS != nil {
				if s.WS.Action != WSConnect || s.WS.URL == nil {
					continue
				}
				u = s.WS.URL
			}
			if st, ok := u.Static(); ok && strings.HasPrefix(st, "/") {
				p.errorAt(s.Pos, "%s %s: a relative URL needs an http(s) host, and the host %s is an MQTT broker: write the URL whole", s.Method, st, plan.Host)
			}
		}
	}
	for _, c := range plan.Classes {
		check(c.OnStart)
		for _, t := range c.Tasks {
			check(t.Steps)
		}
		check(c.OnStop)
	}
	check(plan.Setup)
	check(plan.Teardown)
}
