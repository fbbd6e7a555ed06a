package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const mqttHead = "host: mqtt://127.0.0.1:1883\nusers:\n  - name: a\n    tasks:\n"

func TestParseMQTT(t *testing.T) {
	src := mqttHead + `      - weight: 2
        mqtt_publish: "devices/{{ vu }}/metrics"
        payload: {json: {t: 1}}
        qos: 2
        retain: true
        conn: dev
      - steps:
          - mqtt_connect: mqtts://broker:8883
            client_id: "dev-{{ vu }}"
            username: u
            password: p
            version: 5
            clean_session: false
            session_expiry: 10m
            keep_alive: 0s
            tls: {insecure_skip_verify: true}
            timeout: 3s
          - mqtt_subscribe: "devices/+/metrics"
          - mqtt_receive: {json: {t: 1}}
            topic: "devices/#"
            capture: {t: {json: t}}
            name: got
          - mqtt_unsubscribe: "devices/+/metrics"
            qos: 1
          - mqtt_disconnect: true
`
	p, err := Parse("f.yaml", ".", []byte(src), Options{})
	if err != nil && !strings.Contains(err.Error(), "unsubscribe step cannot have qos") {
		t.Fatal(err)
	}
	if err == nil {
		t.Fatal("qos on mqtt_unsubscribe: no error")
	}
	src = strings.Replace(src, "            qos: 1\n          - mqtt_disconnect", "          - mqtt_disconnect", 1)
	if p, err = Parse("f.yaml", ".", []byte(src), Options{}); err != nil {
		t.Fatal(err)
	}
	if p.Host != "mqtt://127.0.0.1:1883" {
		t.Errorf("host %q", p.Host)
	}
	t0 := p.Classes[0].Tasks[0]
	m := t0.Steps[0].MQTT
	if t0.Weight != 2 || t0.Name != "MQTT publish devices/{{ vu }}/metrics" || m.Action != MQTTPublish || m.QoS != 2 || !m.Retain || m.Conn != "dev" {
		t.Errorf("publish task %+v %+v", t0, m)
	}
	if got, _ := m.Payload.Static(); got != `{"t":1}` {
		t.Errorf("payload %q", got)
	}
	steps := p.Classes[0].Tasks[1].Steps
	c := steps[0].MQTT
	if c.Action != MQTTConnect || c.Version != 5 || !c.Persistent || c.KeepAlive != -1 || c.SessionExpiry != 10*time.Minute ||
		c.ClientID == nil || c.Username == nil || c.Password == nil || steps[0].Transport == nil || steps[0].Timeout != 3*time.Second {
		t.Errorf("connect %+v", c)
	}
	if s := steps[1].MQTT; s.Action != MQTTSubscribe || s.QoS != 1 {
		t.Errorf("subscribe default qos: %+v", s)
	}
	if s := steps[2]; s.MQTT.Match == nil || s.MQTT.Topic == nil || len(s.Captures) != 1 || s.Name != "got" {
		t.Errorf("receive %+v %+v", s, s.MQTT)
	}
	if s := steps[4].MQTT; s.Action != MQTTDisconnect {
		t.Errorf("disconnect %+v", s)
	}
}

func TestParseMQTTErrors(t *testing.T) {
	for _, tc := range []struct{ steps, want string }{
		{"      - mqtt_publish: a/+/b\n", `f.yaml:5:23: mqtt_publish topic: topic "a/+/b": + and # are for subscriptions`},
		{"      - mqtt_subscribe: a/#/b\n", `# must be the last level`},
		{"      - mqtt_subscribe: a/b+\n", `a wildcard must be a whole level`},
		{"      - mqtt_publish: a\n        qos: 3\n", `f.yaml:6:14: qos 3: want 0, 1 or 2`},
		{"      - mqtt_connect: http://x\n", `url "http://x": want mqtt://host:port or mqtts://host:port`},
		{"      - mqtt_connect: true\n        version: 4.1\n", `mqtt version: want 3 (3.1.1) or 5`},
		{"      - mqtt_connect: true\n        keep_alive: 500ms\n", `keep_alive 500ms: want 1s to`},
		{"      - mqtt_connect: true\n        session_expiry: 1m\n", `session_expiry needs version: 5 and clean_session: false`},
		{"      - mqtt_connect: true\n        password: x\n", `password needs a username`},
		{"      - mqtt_publish: a\n        capture: {x: {json: y}}\n", `mqtt publish step cannot have capture`},
		{"      - mqtt_publish: a\n        mqtt_subscribe: b\n", `step has two mqtt actions`},
		{"      - mqtt_publish: a\n        payload: {text: a, json: b}\n", `payload wants one of text or json`},
		{"      - mqtt_disconnect: now\n", `mqtt_disconnect takes true`},
		{"      - mqtt_receive: {status: 200}\n", `status`},
		{"      - mqtt_publish: a\n        qoss: 1\n", `qoss`},
	} {
		_, err := Parse("f.yaml", ".", []byte(mqttHead+tc.steps), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.steps, err, tc.want)
		}
	}
	if _, err := Parse("f.yaml", ".", []byte(strings.Replace(mqttHead, "mqtt://", "ftp://", 1)+"      - mqtt_publish: a\n"), Options{}); err == nil ||
		!strings.Contains(err.Error(), "is not an http://, https://, mqtt:// or mqtts:// URL") {
		t.Errorf("ftp host: %v", err)
	}
	src := "host: http://x\nsetup:\n  - mqtt_connect: true\nusers:\n  - name: a\n    tasks:\n      - get: /\n"
	if _, err := Parse("f.yaml", ".", []byte(src), Options{}); err == nil || !strings.Contains(err.Error(), "connect MQTT devices in a user's on_start") {
		t.Errorf("mqtt in setup: %v", err)
	}
}

// A shared subscription needs a group (without wildcards) and a filter.
func TestCheckTopic_SharedSubscription(t *testing.T) {
	for _, tc := range []struct {
		topic string
		ok    bool
	}{
		{"$share/g/a/+", true}, {"$share/g/#", true}, {"$share//a", false}, {"$share/g/", false},
		{"$share/g", false}, {"$share/g+/a", false}, {"$share/g/a/#/b", false},
	} {
		if err := CheckTopic(tc.topic, true); (err == nil) != tc.ok {
			t.Errorf("CheckTopic(%q, filter) = %v, want ok %v", tc.topic, err, tc.ok)
		}
	}
	if err := CheckTopic("$share//", false); err != nil {
		t.Errorf("$share// as a topic name: %v", err)
	}
}

func TestTopicMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true}, {"a/b", "a/c", false}, {"a/+", "a/b", true}, {"a/+", "a/b/c", false},
		{"a/#", "a", true}, {"a/#", "a/b/c", true}, {"#", "a/b", true}, {"+/+", "a/b", true},
		{"+", "/a", false}, {"+/a", "/a", true}, {"#", "$SYS/x", false}, {"$SYS/#", "$SYS/x", true},
		{"$share/g/a/+", "a/b", true}, {"a/+/c", "a//c", true}, {"a", "a/", false}, {"a/", "a/", true},
	} {
		if got := TopicMatches(tc.filter, tc.topic); got != tc.want {
			t.Errorf("TopicMatches(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

// FuzzTopic: a topic that CheckTopic accepts as a name matches itself as
// a filter (but for $share/..., which as a filter is a shared
// subscription), and # matches every name not starting with $.
func FuzzTopic(f *testing.F) {
	for _, s := range []string{"a/b", "devices/1/metrics", "/", "a//b", "$SYS/x", "a/+/b", "#", "a/#", "+", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		if CheckTopic(topic, false) != nil {
			if CheckTopic(topic, true) == nil && !strings.ContainsAny(topic, "+#") {
				t.Errorf("%q: a filter but not a name, without wildcards", topic)
			}
			return
		}
		if strings.HasPrefix(topic, "$share/") {
			// A name, but as a filter a shared subscription: its group
			// is not part of the topics it matches.
			return
		}
		if CheckTopic(topic, true) != nil {
			t.Errorf("%q is a name but not a filter", topic)
		}
		if !TopicMatches(topic, topic) {
			t.Errorf("%q does not match itself", topic)
		}
		if !strings.HasPrefix(topic, "$") && !TopicMatches("#", topic) {
			t.Errorf("# does not match %q", topic)
		}
	})
}

// FuzzParseMQTT fuzzes the MQTT steps' parsing: errors carry a position,
// and what parses parses the same twice.
func FuzzParseMQTT(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "mqtt-devices.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(mqttHead + "      - mqtt_publish: a/b\n        qos: 1\n        payload: {json: {a: 1}}\n"))
	f.Add([]byte(mqttHead + "      - steps:\n          - mqtt_connect: mqtts://h:1\n            version: 5\n          - mqtt_receive: {body_contains: x}\n            topic: a/#\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p1, err := Parse("f.yaml", "testdata", src, Options{})
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
					t.Errorf("bad error %#v", e)
				}
			}
			return
		}
		p2, err := Parse("f.yaml", "testdata", src, Options{})
		if err != nil || p1.Host != p2.Host || len(p1.Classes) != len(p2.Classes) {
			t.Fatalf("second Parse differs: %v", err)
		}
		for _, c := range p1.Classes {
			for _, tk := range c.Tasks {
				for _, s := range tk.Steps {
					if m := s.MQTT; m != nil && (m.QoS > 2 || m.Version != 3 && m.Version != 5) {
						t.Errorf("bad mqtt step %+v", m)
					}
				}
			}
		}
	})
}

// With an MQTT broker as the host, a request with a relative URL is an
// error naming its place; a whole URL is fine.
func TestParseMQTTHostRelativeURL(t *testing.T) {
	src := mqttHead + "      - mqtt_publish: a\n      - get: /api/x\n      - get: http://127.0.0.1:8080/api/x\n"
	_, err := Parse("f.yaml", ".", []byte(src), Options{})
	if err == nil || !strings.Contains(err.Error(), "f.yaml:6:9: GET /api/x: a relative URL needs an http(s) host") || strings.Count(err.Error(), "relative URL") != 1 {
		t.Errorf("got %v", err)
	}
	if _, err := Parse("f.yaml", ".", []byte(src), Options{Host: "http://127.0.0.1:1"}); err != nil {
		t.Errorf("with an http -H: %v", err)
	}
	src = mqttHead + "      - mqtt_connect: true\n      - mqtt_connect: mqtt://b:1\n"
	if _, err := Parse("f.yaml", ".", []byte(src), Options{Host: "http://127.0.0.1:1"}); err == nil ||
		!strings.Contains(err.Error(), "f.yaml:5:9: mqtt_connect: true connects to the host, and the host http://127.0.0.1:1 is not an MQTT broker") ||
		strings.Count(err.Error(), "mqtt_connect: true") != 1 {
		t.Errorf("mqtt_connect: true with an http host: %v", err)
	}
}
