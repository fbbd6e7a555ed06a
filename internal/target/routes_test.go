package target

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

func TestServer_routes(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{})
	good := login(t, ts)
	const (
		none = ""
		bad  = "not-a-live-token"
	)
	tests := []struct {
		method, path string
		token        string // none, bad, or a live one
		contentType  string // "" with a body means JSON
		body         string
		want         int
	}{
		{"GET", "/", none, "", "", 200},
		{"GET", "/nope", none, "", "", 404},
		{"GET", "/api/nope", good, "", "", 404},

		{"POST", "/api/login", none, "", `{"username":"u","password":"p"}`, 200},
		{"POST", "/api/login", none, "", `{"username":"u"}`, 200},
		{"POST", "/api/login", none, "", `{"username":"","password":"p"}`, 400},
		{"POST", "/api/login", none, "", `{"password":"p"}`, 400},
		{"POST", "/api/login", none, "", `{"username":`, 400},
		{"POST", "/api/login", none, "", `not json`, 400},
		{"POST", "/api/login", none, "", "", 400},
		{"POST", "/api/login", none, "", `{"username":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413},
		{"GET", "/api/login", none, "", "", 405},

		{"POST", "/api/logout", none, "", "", 401},
		{"POST", "/api/logout", bad, "", "", 401},

		{"GET", "/api/data/1", good, "", "", 200},
		{"GET", "/api/data/1000", good, "", "", 200},
		{"GET", "/api/data/1", none, "", "", 401},
		{"GET", "/api/data/1", bad, "", "", 401},
		{"GET", "/api/data/0", good, "", "", 404},
		{"GET", "/api/data/1001", good, "", "", 404},
		{"GET", "/api/data/-1", good, "", "", 404},
		{"GET", "/api/data/abc", good, "", "", 404},

		{"GET", "/api/items", good, "", "", 200},
		{"GET", "/api/items?page=3&limit=20", good, "", "", 200},
		{"GET", "/api/items?page=100000&limit=100", good, "", "", 200},
		{"GET", "/api/items?limit=1000", good, "", "", 200},
		{"GET", "/api/items", none, "", "", 401},
		{"GET", "/api/items", bad, "", "", 401},
		{"GET", "/api/items?page=0", good, "", "", 400},
		{"GET", "/api/items?page=x", good, "", "", 400},
		{"GET", "/api/items?limit=-5", good, "", "", 400},
		{"GET", "/api/items?limit=1.5", good, "", "", 400},
		{"GET", "/api/items?page=99999999999", good, "", "", 400},

		{"POST", "/api/items", good, "", `{"title":"t","description":"d","value":5}`, 201},
		{"POST", "/api/items", none, "", `{"title":"t"}`, 401},
		{"POST", "/api/items", bad, "", `{"title":"t"}`, 401},
		{"POST", "/api/items", good, "", `{"description":"d"}`, 400},
		{"POST", "/api/items", good, "", `{"title":"t","value":"high"}`, 400},
		{"POST", "/api/items", good, "", `[`, 400},

		{"PATCH", "/api/items/1", good, "", `{"value":7}`, 200},
		{"PATCH", "/api/items/1000", good, "", `{"title":"x"}`, 200},
		{"PATCH", "/api/items/1", none, "", `{"value":7}`, 401},
		{"PATCH", "/api/items/1", bad, "", `{"value":7}`, 401},
		{"PATCH", "/api/items/0", good, "", `{"value":7}`, 404},
		{"PATCH", "/api/items/999999", good, "", `{"value":7}`, 404},
		{"PATCH", "/api/items/abc", good, "", `{"value":7}`, 404},
		{"PATCH", "/api/items/1", good, "", `{"value":`, 400},

		{"POST", "/login", none, "application/x-www-form-urlencoded", "deviceid=dev-1", 200},
		{"POST", "/login", none, "", `{"deviceid":"dev-1"}`, 200},
		{"POST", "/login", none, "application/x-www-form-urlencoded", "other=1", 400},
		{"POST", "/login", none, "", `{"deviceid":""}`, 400},
		{"POST", "/login", none, "", `{`, 400},
		{"POST", "/metrics", none, "application/x-www-form-urlencoded", "deviceid=dev-1&timestamp=2026-01-02+03:04:05", 200},
		{"POST", "/metrics", none, "", `{"deviceid":"dev-1","timestamp":1767322800,"temperature":21.5}`, 200},
		{"POST", "/metrics", none, "", `{"timestamp":1767322800}`, 400},
		{"GET", "/metrics", none, "", "", 405},

		{"GET", "/delay/0", none, "", "", 200},
		{"GET", "/delay/1", none, "", "", 200},
		{"GET", "/delay/-1", none, "", "", 400},
		{"GET", "/delay/60001", none, "", "", 400},
		{"GET", "/delay/abc", none, "", "", 400},
		{"POST", "/delay/0", none, "", "", 405},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s token=%q", tt.method, tt.path, tt.token)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, body := call(t, ts.Client(), tt.method, ts.URL+tt.path, tt.token, tt.contentType, tt.body)
			if got != tt.want {
				t.Fatalf("got %d %s, want %d", got, body, tt.want)
			}
		})
	}
}

// TestServer_contentTypes checks that the API answers JSON, errors included,
// and that the text routes answer text.
func TestServer_contentTypes(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		wantCode           int
		wantType           string
		wantBody           string // exact, when set
	}{
		{"GET", "/delay/0", "", 200, "text/plain; charset=utf-8", "ok\n"},
		{"GET", "/", "", 200, "text/plain; charset=utf-8", ""},
		{"GET", "/delay/x", "", 400, "application/json", ""},
		{"GET", "/api/data/1", "", 401, "application/json", "{\"error\":\"unauthorized\"}\n"},
		{"POST", "/api/login", "{", 400, "application/json", ""},
		{"POST", "/api/login", `{"username":"u"}`, 200, "application/json", ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
		if rec.Code != tt.wantCode {
			t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, rec.Code, tt.wantCode)
		}
		if got := rec.Header().Get("Content-Type"); got != tt.wantType {
			t.Errorf("%s %s: got Content-Type %q, want %q", tt.method, tt.path, got, tt.wantType)
		}
		if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
			t.Errorf("%s %s: got body %q, want %q", tt.method, tt.path, rec.Body, tt.wantBody)
		}
	}
}

func TestServer_sessionFlow(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	c := ts.Client()
	token := login(t, ts)
	if other := login(t, ts); other == token {
		t.Fatalf("two logins: got the same token %q twice, want distinct tokens", token)
	}
	if got, want := s.sessions.count(), int64(2); got != want {
		t.Errorf("live sessions: got %d, want %d", got, want)
	}

	code, body := call(t, c, "GET", ts.URL+"/api/data/42", token, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/data/42: got %d %s, want 200", code, body)
	}
	var data struct {
		ID    int64  `json:"id"`
		Value *int64 `json:"value"`
		Data  string `json:"data"`
	}
	decode(t, body, &data)
	if data.ID != 42 || data.Value == nil || data.Data == "" {
		t.Errorf("GET /api/data/42: got %s, want id 42 with a value and data", body)
	}

	steps := []struct {
		method, path string
		want         int
	}{
		{"POST", "/api/logout", http.StatusOK},
		{"GET", "/api/data/42", http.StatusUnauthorized},
		{"POST", "/api/logout", http.StatusUnauthorized},
	}
	for _, st := range steps {
		if code, body := call(t, c, st.method, ts.URL+st.path, token, "", ""); code != st.want {
			t.Errorf("%s %s after login: got %d %s, want %d", st.method, st.path, code, body, st.want)
		}
	}
	if got, want := s.sessions.count(), int64(1); got != want {
		t.Errorf("live sessions after logout: got %d, want %d", got, want)
	}
}

func TestServer_items(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{})
	c := ts.Client()
	token := login(t, ts)

	var created []item
	for i := range 3 {
		body := fmt.Sprintf(`{"title":"Item %d","description":"Test item for soak testing","value":%d}`, i, i*10)
		code, resp := call(t, c, "POST", ts.URL+"/api/items", token, "", body)
		if code != http.StatusCreated {
			t.Fatalf("POST /api/items: got %d %s, want 201", code, resp)
		}
		var it item
		decode(t, resp, &it)
		want := item{ID: it.ID, Title: fmt.Sprintf("Item %d", i), Description: "Test item for soak testing", Value: float64(i * 10)}
		if diff := cmp.Diff(want, it); diff != "" {
			t.Errorf("POST /api/items: created item mismatch (-want +got):\n%s", diff)
		}
		if it.ID <= seedItems || (len(created) > 0 && it.ID <= created[len(created)-1].ID) {
			t.Errorf("POST /api/items: got id %d, want ids above %d that increase", it.ID, seedItems)
		}
		created = append(created, it)
	}

	// The created items follow the seed items in the listing.
	code, resp := call(t, c, "GET", ts.URL+"/api/items?page=51&limit=20", token, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/items: got %d %s, want 200", code, resp)
	}
	var list struct {
		Page, Limit int
		Items       []item
	}
	decode(t, resp, &list)
	if list.Page != 51 || list.Limit != 20 {
		t.Errorf("GET /api/items: got page %d limit %d, want 51 and 20", list.Page, list.Limit)
	}
	if diff := cmp.Diff(created, list.Items); diff != "" {
		t.Errorf("GET /api/items page 51: items mismatch (-want +got):\n%s", diff)
	}

	// The default page is the first 20 seed items; limit is capped at 100.
	limits := []struct {
		query             string
		wantLen, wantLim  int
		wantFirst, wantID int64
	}{
		{"", 20, 20, 1, 20},
		{"?page=2&limit=10", 10, 10, 11, 20},
		{"?limit=500", 100, 100, 1, 100},
		{"?page=1000", 0, 20, 0, 0},
	}
	for _, l := range limits {
		_, resp := call(t, c, "GET", ts.URL+"/api/items"+l.query, token, "", "")
		var got struct {
			Limit int
			Items []item
		}
		decode(t, resp, &got)
		if len(got.Items) != l.wantLen || got.Limit != l.wantLim {
			t.Errorf("GET /api/items%s: got %d items, limit %d; want %d items, limit %d", l.query, len(got.Items), got.Limit, l.wantLen, l.wantLim)
			continue
		}
		if l.wantLen > 0 && (got.Items[0].ID != l.wantFirst || got.Items[len(got.Items)-1].ID != l.wantID) {
			t.Errorf("GET /api/items%s: got ids %d..%d, want %d..%d", l.query, got.Items[0].ID, got.Items[len(got.Items)-1].ID, l.wantFirst, l.wantID)
		}
	}

	// PATCH changes only the given fields, of seed and created items alike.
	patches := []struct {
		id   int64
		body string
		want func(item) item
	}{
		{5, `{"value":7}`, func(it item) item { it.Value = 7; return it }},
		{created[1].ID, `{"title":"renamed","description":"new"}`, func(it item) item { it.Title, it.Description = "renamed", "new"; return it }},
	}
	for _, p := range patches {
		path := fmt.Sprintf("%s/api/items/%d", ts.URL, p.id)
		before := itemAt(t, ts, token, p.id)
		code, resp := call(t, c, "PATCH", path, token, "", p.body)
		if code != http.StatusOK {
			t.Fatalf("PATCH %s: got %d %s, want 200", path, code, resp)
		}
		var got item
		decode(t, resp, &got)
		if diff := cmp.Diff(p.want(before), got); diff != "" {
			t.Errorf("PATCH %s %s: answer mismatch (-want +got):\n%s", path, p.body, diff)
		}
		if diff := cmp.Diff(got, itemAt(t, ts, token, p.id)); diff != "" {
			t.Errorf("PATCH %s %s: stored item mismatch (-want +got):\n%s", path, p.body, diff)
		}
	}
}

// itemAt finds an item through the listing (there is no GET /api/items/{id}).
func itemAt(t *testing.T, ts *httptest.Server, token string, id int64) item {
	t.Helper()
	page := (id-1)/maxLimit + 1
	_, resp := call(t, ts.Client(), "GET", fmt.Sprintf("%s/api/items?page=%d&limit=%d", ts.URL, page, maxLimit), token, "", "")
	var list struct{ Items []item }
	decode(t, resp, &list)
	for _, it := range list.Items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("item %d not listed on page %d", id, page)
	return item{}
}

func TestItemStore_bounded(t *testing.T) {
	t.Parallel()
	st := newItemStore()
	const extra = 5
	for i := range maxCreatedItems + extra {
		it := st.create(item{Title: "t"})
		if want := int64(seedItems + 1 + i); it.ID != want {
			t.Fatalf("create #%d: got id %d, want %d", i, it.ID, want)
		}
	}
	firstLive := int64(seedItems + 1 + extra)
	lastLive := int64(seedItems + maxCreatedItems + extra)
	tests := []struct {
		id   int64
		want bool
	}{
		{0, false},
		{1, true},
		{seedItems, true},
		{seedItems + 1, false}, // forgotten: the oldest created ones
		{firstLive - 1, false},
		{firstLive, true},
		{lastLive, true},
		{lastLive + 1, false},
	}
	for _, tt := range tests {
		if _, got := st.get(tt.id); got != tt.want {
			t.Errorf("get(%d): got found=%v, want %v", tt.id, got, tt.want)
		}
		if _, got := st.update(tt.id, itemPatch{}); got != tt.want {
			t.Errorf("update(%d): got found=%v, want %v", tt.id, got, tt.want)
		}
	}
	total := int64(seedItems + maxCreatedItems)
	last := st.page(total-2, maxLimit)
	if len(last) != 2 || last[0].ID != lastLive-1 || last[1].ID != lastLive {
		t.Errorf("page(%d, %d): got %v, want ids %d and %d", total-2, maxLimit, last, lastLive-1, lastLive)
	}
	if got := st.page(seedItems, 1); len(got) != 1 || got[0].ID != firstLive {
		t.Errorf("page(%d, 1): got %v, want id %d", seedItems, got, firstLive)
	}
	if got := st.page(total, maxLimit); len(got) != 0 {
		t.Errorf("page past the end: got %d items, want 0", len(got))
	}
}

func TestServer_deviceToken(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	code, body := call(t, ts.Client(), "POST", ts.URL+"/login", "", "application/x-www-form-urlencoded", "deviceid=3f0c")
	if code != http.StatusOK {
		t.Fatalf("POST /login: got %d %s, want 200", code, body)
	}
	var out struct{ Token string }
	decode(t, body, &out)
	if len(out.Token) != 32 {
		t.Errorf("POST /login: got token %q, want 32 hex digits", out.Token)
	}
	if got := s.sessions.count(); got != 0 {
		t.Errorf("live sessions after a device login: got %d, want 0 (device tokens are not kept)", got)
	}
}
