package target

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request limits.
const (
	// maxBodyBytes bounds request bodies, and so the strings items keep.
	maxBodyBytes = 16 << 10
	// maxDelayMillis is the longest /delay/{ms}.
	maxDelayMillis = 60_000
	defaultLimit   = 20
	maxLimit       = 100
)

// Shared, never modified header values and bodies: assigning them to a
// header map, instead of calling Header().Set, allocates nothing.
var (
	jsonType  = []string{"application/json"}
	textPlain = []string{"text/plain; charset=utf-8"}
	okBody    = []byte("ok\n")
)

// index is the body of GET /.
const index = `horde target: a sample system under test

POST  /api/login          {"username":..,"password":..} -> {"token":..}
POST  /api/logout         (auth) forget the token
GET   /api/data/{id}      (auth) id 1-1000
GET   /api/items          (auth) ?page=1&limit=20 (limit <= 100)
POST  /api/items          (auth) {"title":..,"description":..,"value":..}
PATCH /api/items/{id}     (auth) {"title":..,"description":..,"value":..}
POST  /login              IoT device registration: deviceid (form or JSON)
POST  /metrics            IoT sensor reading: deviceid, timestamp, ... (form or JSON)
GET   /delay/{ms}         wait ms milliseconds (0-60000), answer "ok"
GET   /ws/echo            WebSocket: every message is sent back as it came (?close_after=N)
GET   /events             server-sent events: ?n=COUNT&interval=1s&close_after=M&retry=MS,
                          event "tick", id SEQ, resumes after Last-Event-ID

(auth) means Authorization: Bearer <token from /api/login>.
Prometheus metrics are on the admin listener, not here.
`

// routes builds the main API. Each pattern is also a route label value.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, h)
		s.metrics.addRoute(pattern)
	}
	handle("GET /{$}", s.handleIndex)
	handle("POST /api/login", s.handleLogin)
	handle("POST /api/logout", s.auth(s.handleLogout))
	handle("GET /api/data/{id}", s.auth(s.handleData))
	handle("GET /api/items", s.auth(s.handleListItems))
	handle("POST /api/items", s.auth(s.handleCreateItem))
	handle("PATCH /api/items/{id}", s.auth(s.handlePatchItem))
	handle("POST /login", s.handleDeviceLogin)
	handle("POST /metrics", s.handleDeviceMetrics)
	handle("GET /delay/{ms}", s.handleDelay)
	handle("GET /ws/echo", s.handleWSEcho) // stream.go
	handle("GET /events", s.handleEvents)
	return mux
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = textPlain
	io.WriteString(w, index)
}

// handleDelay is the benchmark route: no JSON and, for /delay/0, no
// allocation of its own.
func (s *Server) handleDelay(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.PathValue("ms"))
	if err != nil || ms < 0 || ms > maxDelayMillis {
		writeError(w, http.StatusBadRequest, "delay must be a whole number of milliseconds from 0 to 60000")
		return
	}
	if ms > 0 {
		if err := sleep(r.Context(), time.Duration(ms)*time.Millisecond); err != nil {
			writeError(w, statusClientClosedRequest, "request canceled")
			return
		}
	}
	w.Header()["Content-Type"] = textPlain
	w.Write(okBody)
}

// auth lets a request through only with a live bearer token.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t, ok := bearer(r); !ok || !s.sessions.valid(t) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="horde-target"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		next(w, r)
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.Username == "" {
		writeError(w, http.StatusBadRequest, "username is required")
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{s.sessions.create(in.Username)})
}

type tokenResponse struct {
	Token string `json:"token"`
}

type okResponse struct {
	OK bool `json:"ok"`
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	t, _ := bearer(r) // auth checked it
	s.sessions.delete(t)
	writeJSON(w, http.StatusOK, okResponse{true})
}

func (s *Server) handleData(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 || id > seedItems {
		writeError(w, http.StatusNotFound, "no data with that id")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID    int64  `json:"id"`
		Value int64  `json:"value"`
		Data  string `json:"data"`
	}{id, seedValue(id), fmt.Sprintf("record %d of %d", id, seedItems)})
}

func (s *Server) handleListItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := positiveQuery(q.Get("page"), 1)
	if err != nil {
		writeError(w, http.StatusBadRequest, "page must be a positive integer")
		return
	}
	limit, err := positiveQuery(q.Get("limit"), defaultLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, "limit must be a positive integer")
		return
	}
	limit = min(limit, maxLimit)
	writeJSON(w, http.StatusOK, struct {
		Page  int64  `json:"page"`
		Limit int64  `json:"limit"`
		Items []item `json:"items"`
	}{page, limit, s.items.page((page-1)*limit, limit)})
}

// positiveQuery parses a query parameter of at most 31 bits, so that
// page*limit cannot overflow; "" means def.
func positiveQuery(v string, def int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, errors.New("not positive")
	}
	return n, nil
}

func (s *Server) handleCreateItem(w http.ResponseWriter, r *http.Request) {
	var in item
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.Title == "" {
		writeError(w, http.StatusBadRequest, "title is required")
		return
	}
	writeJSON(w, http.StatusCreated, s.items.create(in))
}

func (s *Server) handlePatchItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no item with that id")
		return
	}
	if _, ok := s.items.get(id); !ok {
		writeError(w, http.StatusNotFound, "no item with that id")
		return
	}
	var p itemPatch
	if !decodeJSON(w, r, &p) {
		return
	}
	it, ok := s.items.update(id, p)
	if !ok { // forgotten between get and update
		writeError(w, http.StatusNotFound, "no item with that id")
		return
	}
	writeJSON(w, http.StatusOK, it)
}

// handleDeviceLogin is the IoT sample's registration. Devices re-register
// often and never log out, so their tokens are not kept (the sample keeps
// nothing either); a stored token would be a leak nobody asked for.
func (s *Server) handleDeviceLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := deviceID(w, r); !ok {
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{newToken()})
}

// handleDeviceMetrics accepts an IoT sensor reading; like the sample, it
// checks only the device id and persists nothing.
func (s *Server) handleDeviceMetrics(w http.ResponseWriter, r *http.Request) {
	if _, ok := deviceID(w, r); !ok {
		return
	}
	writeJSON(w, http.StatusOK, okResponse{true})
}

// deviceID reads the deviceid of a JSON body, or else of a form (body or
// query), as the Locust IoT sample posts it. On failure it has answered 400
// or 413 and returns false.
func deviceID(w http.ResponseWriter, r *http.Request) (string, bool) {
	var id string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var in struct {
			DeviceID string `json:"deviceid"`
		}
		if !decodeJSON(w, r, &in) {
			return "", false
		}
		id = in.DeviceID
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			writeBodyError(w, err, "invalid form")
			return "", false
		}
		id = r.Form.Get("deviceid")
	}
	if id == "" {
		writeError(w, http.StatusBadRequest, "deviceid is required")
		return "", false
	}
	return id, true
}

// decodeJSON reads a JSON body of at most maxBodyBytes into v. On failure it
// has answered 400 or 413 and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeBodyError(w, err, "invalid JSON body")
		return false
	}
	return true
}

func writeBodyError(w http.ResponseWriter, err error, msg string) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBodyBytes))
		return
	}
	writeError(w, http.StatusBadRequest, msg)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // our response types always encode
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, struct {
		Error string `json:"error"`
	}{msg})
}
