package scenario

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// parseIn compiles a scenario whose data and request files are in testdata.
func parseIn(t *testing.T, src string, vars ...string) *Plan {
	t.Helper()
	if len(vars) > 0 {
		src = withVars(src, vars...)
	}
	p, err := Parse("f.yaml", "testdata", []byte(src), Options{})
	if err != nil {
		t.Fatalf("Parse: %v\nsource:\n%s", err, src)
	}
	return p
}

func TestStep_EvaluateChecksAndCaptures(t *testing.T) {
	const body = `{"n":3,"f":1.5,"s":"abc","role":"admin","list":[1,2],"nil":null,"big":12345678901234567890}`
	header := http.Header{
		"X-Cache":    {"HIT"},
		"Location":   {"/orders/42?x=1"},
		"Set-Cookie": {"sid=s3cr3t; Path=/; HttpOnly", "theme=dark"},
	}
	tests := []struct {
		name     string
		req      string
		took     time.Duration
		want     string
		wantVars Vars
	}{
		{"header equals", "        check: {header: {name: X-Cache, equals: HIT}}\n", 0, "", Vars{}},
		{"header equals fail", "        check: {header: {name: X-Cache, equals: MISS}}\n", 0, `check header "X-Cache": got "HIT", want "MISS"`, Vars{}},
		{"header matches", "        check: {header: {name: x-cache, matches: \"^H\"}}\n", 0, "", Vars{}},
		{"header matches fail", "        check: {header: {name: X-Cache, matches: \"^M\"}}\n", 0, `check header "X-Cache": got "HIT", want matching "^M"`, Vars{}},
		{"header present", "        check: {header: {name: X-Cache}}\n", 0, "", Vars{}},
		{"header missing", "        check: {header: [{name: X-Cache}, {name: X-Nope, equals: a}]}\n", 0, `check header "X-Nope": missing`, Vars{}},
		{"max_duration ok", "        check: {max_duration: 300ms}\n", 300 * time.Millisecond, "", Vars{}},
		{"max_duration slow", "        check: {max_duration: 300ms}\n", 301 * time.Millisecond, "check max_duration: slower than 300ms", Vars{}},
		{"json <", "        check: {json: {n: {\"<\": 4}, f: {\"<=\": 1.5}}}\n", 0, "", Vars{}},
		{"json < fail", "        check: {json: {n: {\"<\": 3}}}\n", 0, `check json "n": got 3, want < 3`, Vars{}},
		{"json > and <=", "        check: {json: {n: {\">\": 2, \"<=\": 3}}}\n", 0, "", Vars{}},
		{"json >= fail", "        check: {json: {f: {\">=\": 1.51}}}\n", 0, `check json "f": got 1.5, want >= 1.51`, Vars{}},
		{"json > big", "        check: {json: {big: {\">\": 12345678901234567889}}}\n", 0, "", Vars{}},
		{"json < on a string", "        check: {json: {s: {\"<\": 3}}}\n", 0, `check json "s": got "abc", want < 3`, Vars{}},
		{"json in", "        check: {json: {role: {in: [user, admin]}, n: {in: [3.0]}}}\n", 0, "", Vars{}},
		{"json in fail", "        check: {json: {role: {in: [user, guest]}}}\n", 0, `check json "role": got "admin", want one of ["user","guest"]`, Vars{}},
		{"json exists", "        check: {json: {nil: {exists: true}, nope: {exists: false}}}\n", 0, "", Vars{}},
		{"json exists fail", "        check: {json: {nope: {exists: true}}}\n", 0, `check json "nope": path not found`, Vars{}},
		{"json exists false fail", "        check: {json: {n: {exists: false}}}\n", 0, `check json "n": got 3, want no value`, Vars{}},
		{"json matches", "        check: {json: {s: {matches: \"^a.c$\"}, n: {matches: \"^3$\"}}}\n", 0, "", Vars{}},
		{"json matches fail", "        check: {json: {s: {matches: \"^b\"}}}\n", 0, `check json "s": got "abc", want matching "^b"`, Vars{}},
		{"json equals an object of operators", "        check: {json: {list: {equals: [1, 2]}}}\n", 0, "", Vars{}},
		{"json compare missing path", "        check: {json: {nope: {\">\": 1}}}\n", 0, `check json "nope": path not found`, Vars{}},
		{"capture cookie", "        capture: {sid: {cookie: sid}, theme: {cookie: theme}}\n", 0, "", Vars{"sid": "s3cr3t", "theme": "dark"}},
		{"capture cookie missing", "        capture: {sid: {cookie: session}}\n", 0, `capture sid: cookie "session" not set`, Vars{}},
		{"capture header regex", "        capture: {order: {header: Location, regex: \"/orders/(\\\\d+)\"}}\n", 0, "", Vars{"order": "42"}},
		{"capture header regex no match", "        capture: {order: {header: Location, regex: \"/items/(\\\\d+)\"}}\n", 0,
			`capture order: header "Location" regex "/items/(\\d+)" did not match`, Vars{}},
		{"capture cookie regex", "        capture: {p: {cookie: sid, regex: \"s(\\\\d)\"}}\n", 0, "", Vars{"p": "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stepFor(t, tt.req)
			resp := &fakeResponse{status: 200, header: header, body: body, took: tt.took}
			vars := Vars{}
			if got := s.Evaluate(resp, vars); got != tt.want {
				t.Errorf("Evaluate = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantVars, vars); diff != "" {
				t.Errorf("vars (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse_RequestOptions(t *testing.T) {
	p := parseIn(t, `host: http://x
defaults:
  headers: {Authorization: default}
users:
  - name: a
    tasks:
      - get: /basic
        auth: {basic: [alice, "s3cret:x"]}
        follow_redirects: false
        cookies: {sid: "{{ .sid }}", lang: en}
        on_failure: stop_task
      - get: /bearer
        auth: {bearer: "{{ .token }}"}
      - get: /templated
        auth: {basic: ["{{ .user }}", pw]}
      - name: flow
        on_failure: stop_task
        steps:
          - get: /a
          - sleep: 500ms
          - sleep: [200ms, 1s]
          - get: /b
            on_failure: continue
`, "sid", "token", "user")
	tasks := p.Classes[0].Tasks
	basic := tasks[0].Steps[0]
	if got := headerOf(basic, "Authorization"); got != "Basic YWxpY2U6czNjcmV0Ong=" {
		t.Errorf("basic Authorization = %q", got)
	}
	if !basic.NoRedirect || !basic.StopOnFailure || len(basic.Cookies) != 2 || basic.Cookies[0].Name != "sid" {
		t.Errorf("basic step: NoRedirect %v StopOnFailure %v cookies %v", basic.NoRedirect, basic.StopOnFailure, basic.Cookies)
	}
	bearer := tasks[1].Steps[0]
	if v := bearer.Header[len(bearer.Header)-1]; v.Name != "Authorization" || v.Value.String() != "Bearer {{ .token }}" || len(bearer.Header) != 1 {
		t.Errorf("bearer headers %v", bearer.Header)
	}
	if bearer.NoRedirect || bearer.StopOnFailure {
		t.Errorf("bearer step has NoRedirect or StopOnFailure set")
	}
	tpl := tasks[2].Steps[0]
	if tpl.BasicUser == nil || tpl.BasicPass == nil || len(tpl.Header) != 0 {
		t.Errorf("templated basic: user %v pass %v headers %v (the default Authorization must go)", tpl.BasicUser, tpl.BasicPass, tpl.Header)
	}
	flow := tasks[3].Steps
	if len(flow) != 4 || !flow[0].StopOnFailure || flow[3].StopOnFailure {
		t.Fatalf("flow steps %d, stop_task inherited %v, overridden %v", len(flow), flow[0].StopOnFailure, !flow[3].StopOnFailure)
	}
	if s := flow[1]; !s.Sleep || s.SleepMin != 500*time.Millisecond || s.SleepMax != 500*time.Millisecond {
		t.Errorf("sleep 500ms: %+v", s)
	}
	if s := flow[2]; !s.Sleep || s.SleepMin != 200*time.Millisecond || s.SleepMax != time.Second {
		t.Errorf("sleep range: %+v", s)
	}
}

func headerOf(s *Step, name string) string {
	for _, h := range s.Header {
		if strings.EqualFold(h.Name, name) {
			v, _ := h.Value.Static()
			return v
		}
	}
	return ""
}

func TestParse_MultipartAndBodyFile(t *testing.T) {
	p := parseIn(t, `host: http://x
users:
  - name: a
    tasks:
      - post: /upload
        multipart:
          fields: {title: "report {{ .n }}", tag: [a, b]}
          files:
            doc: {file: files/hello.csv, content_type: text/csv}
            blob: {file: files/blob.bin, filename: "my \"blob\".bin"}
      - put: /raw
        body_file: files/blob.bin
        content_type: application/octet-stream
`, "n")
	up := p.Classes[0].Tasks[0].Steps[0]
	if up.BodyKind != BodyMultipart {
		t.Fatalf("BodyKind %d, want BodyMultipart", up.BodyKind)
	}
	mt, params, err := mime.ParseMediaType(up.ContentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", up.ContentType, err)
	}
	body, err := up.Body.Append(nil, &Env{Vars: Vars{"n": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	type got struct{ Name, File, Type, Data string }
	var parts []got
	for {
		pt, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v\n%q", err, body)
		}
		b, _ := io.ReadAll(pt)
		parts = append(parts, got{pt.FormName(), pt.FileName(), pt.Header.Get("Content-Type"), string(b)})
	}
	want := []got{
		{"title", "", "", "report 7"},
		{"tag", "", "", "a"},
		{"tag", "", "", "b"},
		{"doc", "hello.csv", "text/csv", "hello,world\n"},
		{"blob", `my "blob".bin`, "application/octet-stream", "\x00\x01binary\xff"},
	}
	if diff := cmp.Diff(want, parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	raw := p.Classes[0].Tasks[1].Steps[0]
	if s, ok := raw.Body.Static(); !ok || s != "\x00\x01binary\xff" || raw.ContentType != "application/octet-stream" {
		t.Errorf("body_file: %q static %v, Content-Type %q", s, ok, raw.ContentType)
	}
	// the same scenario compiles to the same body everywhere (workers)
	again := parseIn(t, "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /upload\n        multipart:\n          fields: {title: \"report {{ .n }}\", tag: [a, b]}\n          files:\n            doc: {file: files/hello.csv, content_type: text/csv}\n            blob: {file: files/blob.bin, filename: \"my \\\"blob\\\".bin\"}\n", "n")
	if c := again.Classes[0].Tasks[0].Steps[0].ContentType; c != up.ContentType {
		t.Errorf("boundary differs between two loads: %q, %q", c, up.ContentType)
	}
}

func TestParse_PerIterationFeed(t *testing.T) {
	p := parseIn(t, "host: http://x\ndata:\n  creds: {file: users.csv}\n  other: {file: users.csv}\nusers:\n  - name: a\n    feed: {creds: per_iteration, other: per_user}\n    tasks:\n      - get: /\n")
	c := p.Classes[0]
	if !cmp.Equal(c.IterationFeeds, []string{"creds"}) || !cmp.Equal(c.Feeds, []string{"other"}) {
		t.Errorf("IterationFeeds %v Feeds %v", c.IterationFeeds, c.Feeds)
	}
}

func TestParse_RequestOptionErrors(t *testing.T) {
	const head = "host: http://x\nusers:\n  - name: a\n    tasks:\n      - get: /\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"auth two kinds", head + "        auth: {basic: [a, b], bearer: t}\n", []string{"6:31: auth has both basic and bearer; use one"}},
		{"auth unknown", head + "        auth: {digest: x}\n", []string{`6:16: unknown key "digest" in auth`}},
		{"auth basic not a pair", head + "        auth: {basic: alice}\n", []string{"6:23: basic must be [user, password]"}},
		{"auth and header", head + "        headers: {authorization: x}\n        auth: {bearer: t}\n", []string{"7:9: auth and an Authorization header; use one"}},
		{"auth bad template", head + "        auth: {bearer: \"{{ .t \"}\n", []string{"6:24: bad template: unclosed action"}},
		{"follow_redirects not bool", head + "        follow_redirects: no thanks\n", []string{`6:27: follow_redirects must be true or false, got a string ("no thanks")`}},
		{"on_failure typo", head + "        on_failure: stop\n", []string{`6:21: unknown on_failure "stop"; did you mean "stop_task"?`}},
		{"bad cookie name", head + "        cookies: {\"a b\": x}\n", []string{`6:18: bad cookie name "a b"`}},
		{"body_file missing", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        body_file: nope.bin\n", []string{`6:20: body_file "nope.bin": no such file or directory`}},
		{"body_file a device", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        body_file: /dev/zero\n", []string{`6:20: body_file "/dev/zero": is not a regular file`}},
		{"body_file a directory", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        body_file: files\n", []string{`6:20: body_file "files": is a directory`}},
		{"body_file and json", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        json: {}\n        body_file: files/blob.bin\n", []string{"7:9: request has two bodies, json and body_file; use one"}},
		{"multipart file missing", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        multipart: {files: {doc: {file: nope.pdf}}}\n", []string{`6:41: file "nope.pdf": no such file or directory`}},
		{"multipart no file", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        multipart: {files: {doc: {filename: x}}}\n", []string{"6:29: multipart file doc has no file: name the file to send"}},
		{"multipart empty", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        multipart: {}\n", []string{"6:20: multipart is empty: add fields or files"}},
		{"multipart unknown key", "host: http://x\nusers:\n  - name: a\n    tasks:\n      - post: /\n        multipart: {field: {a: b}}\n", []string{`6:21: unknown key "field" in multipart; did you mean "fields"?`}},
		{"sleep as a task", head + "      - sleep: 1s\n", []string{"6:9: sleep is a step: write the task with steps: [..., {sleep: 1s}, ...]"}},
		{"sleep with a request", head + "      - steps:\n          - sleep: 1s\n            get: /\n", []string{"8:13: a sleep step cannot have get: put the request in a step of its own"}},
		{"sleep min > max", head + "      - steps: [{sleep: [2s, 1s]}]\n", []string{"6:25: sleep min 2s is greater than max 1s"}},
		{"sleep three", head + "      - steps: [{sleep: [1s, 2s, 3s]}]\n", []string{"6:25: sleep must be a duration or [min, max], got a list of 3"}},
		{"sleep bad duration", head + "      - steps: [{sleep: soon}]\n", []string{`6:25: bad duration "soon": want a number with a unit (use e.g. 20, 90s, 1h30m, 7d)`}},
		{"feed bad timing", "host: http://x\ndata:\n  creds: {file: users.csv}\nusers:\n  - name: a\n    feed: {creds: per_iteraton}\n    tasks:\n      - get: /\n",
			[]string{`6:19: unknown feed timing "per_iteraton" for creds; did you mean "per_iteration"?`}},
		{"check header no name", head + "        check: {header: {equals: x}}\n", []string{"6:25: check header has no name: add name:"}},
		{"check header bad regex", head + "        check: {header: {name: X, matches: \"(\"}}\n", []string{"6:44: bad regex \"(\": missing closing ): `(`"}},
		{"check max_duration zero", head + "        check: {max_duration: 0s}\n", []string{"6:31: max_duration must be > 0"}},
		{"check json < string", head + "        check: {json: {n: {\"<\": ten}}}\n", []string{`6:33: < wants a number, got a string ("ten")`}},
		{"check json in empty", head + "        check: {json: {n: {in: []}}}\n", []string{"6:32: in wants a non-empty list of values"}},
		{"check json exists not bool", head + "        check: {json: {n: {exists: 1}}}\n", []string{"6:36: exists must be true or false, got a number (1)"}},
		{"capture json with regex", head + "        capture: {x: {json: a, regex: b}}\n", []string{"6:32: capture x: regex applies to a header, a cookie or the body, not to json"}},
		{"hmac unknown hash", head + "        headers: {X-Sig: \"{{ hmac \\\"md5\\\" .k .m }}\"}\n", []string{`6:35: hmac: hash "md5" is not sha256, sha1 or sha512`}},
		{"hmac arity", head + "        headers: {X-Sig: \"{{ hmac \\\"sha256\\\" .k }}\"}\n", []string{"6:30: hmac wants 3 arguments, got 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", "testdata", []byte(tt.src), Options{})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err %v, want an ErrorList", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, strings.TrimPrefix(e.Error(), "f.yaml:"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nsource:\n%s", diff, tt.src)
			}
		})
	}
}

func TestTemplate_EncodingFunctions(t *testing.T) {
	env := &Env{Vars: Vars{"user": "alice", "pw": "s3cret", "q": "a b&c", "key": "k", "msg": "hello", "b64": "aGk="}}
	tests := []struct{ text, want string }{
		{`{{ base64 "alice:s3cret" }}`, "YWxpY2U6czNjcmV0"},
		{`{{ base64 (printf "%s:%s" .user .pw) }}`, "YWxpY2U6czNjcmV0"},
		{`{{ base64decode .b64 }}`, "hi"},
		{`{{ base64decode "aGk" }}`, "hi"},
		{`{{ base64decode "-_8" }}`, "\xfb\xff"},
		{`{{ urlquery .q }}`, "a+b%26c"},
		{`{{ .q | urlquery }}`, "a+b%26c"},
		{`{{ urlquery .missing }}`, ""},
		{`{{ sha256 "abc" }}`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{`{{ hmac "sha256" .key .msg }}`, "406e4b43f87095aa86ca6299d25e875921fefa180f02043bb29bec5681c0c2d0"},
	}
	for _, tt := range tests {
		tm, cerr := compileTemplate(tt.text, defaultRuntime)
		if cerr != nil {
			t.Errorf("%s: %v", tt.text, cerr)
			continue
		}
		got, err := tm.Append(nil, env)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.text, got, err, tt.want)
		}
	}
	tm, _ := compileTemplate(`{{ base64decode "!!" }}`, defaultRuntime)
	if _, err := tm.Append(nil, env); err == nil || !strings.Contains(err.Error(), `base64decode: "!!" is not base64`) {
		t.Errorf("bad base64: %v", err)
	}
	if _, cerr := compileTemplate(`{{ hmac "md4" "k" "m" }}`, defaultRuntime); cerr == nil || cerr.msg != `hmac: hash "md4" is not sha256, sha1 or sha512` {
		t.Errorf("a literal bad hash compiles: %v", cerr)
	}
	env.Vars["algo"] = "md4"
	tm, _ = compileTemplate(`{{ hmac .algo "k" "m" }}`, defaultRuntime)
	if _, err := tm.Append(nil, env); err == nil || !strings.Contains(err.Error(), `hmac: hash "md4" is not sha256, sha1 or sha512`) {
		t.Errorf("bad hash: %v", err)
	}
}

func TestParse_DefaultAuth(t *testing.T) {
	p := parseIn(t, `host: http://x
defaults:
  auth: {basic: [ops, pw]}
users:
  - name: a
    tasks:
      - get: /inherits
      - get: /own-header
        headers: {authorization: Token t}
      - get: /own-auth
        auth: {bearer: tok}
      - get: /templated
`, "u")
	steps := func(i int) *Step { return p.Classes[0].Tasks[i].Steps[0] }
	for i, want := range []string{BasicAuth("ops", "pw"), "Token t", "Bearer tok", BasicAuth("ops", "pw")} {
		if got := headerOf(steps(i), "Authorization"); got != want {
			t.Errorf("%s: Authorization %q, want %q", steps(i).URL, got, want)
		}
		if n := countHeader(steps(i), "Authorization"); n != 1 {
			t.Errorf("%s: %d Authorization headers", steps(i).URL, n)
		}
	}
	q := parseIn(t, "host: http://x\ndefaults:\n  auth: {basic: [\"{{ .u }}\", pw]}\nusers:\n  - name: a\n    tasks:\n      - get: /\n", "u")
	if s := q.Classes[0].Tasks[0].Steps[0]; s.BasicUser == nil || s.BasicUser.String() != "{{ .u }}" {
		t.Errorf("templated default basic auth not inherited: %+v", s)
	}
	_, err := Parse("f.yaml", "testdata", []byte("host: http://x\ndefaults:\n  headers: {Authorization: x}\n  auth: {bearer: t}\nusers:\n  - name: a\n    tasks:\n      - get: /\n      - get: /b\n"), Options{})
	if err == nil || err.Error() != "f.yaml:4:3: auth and an Authorization header; use one" {
		t.Errorf("defaults with both: %v, want one error at 4:3", err)
	}
}

func countHeader(s *Step, name string) int {
	n := 0
	for _, h := range s.Header {
		if strings.EqualFold(h.Name, name) {
			n++
		}
	}
	return n
}
