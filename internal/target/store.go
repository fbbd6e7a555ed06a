package target

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
)

// newToken returns 128 random bits in hex.
func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return hex.EncodeToString(b[:])
}

// sessions are the live /api/login tokens, kept until /api/logout. Its
// zero value is empty and ready to use.
type sessions struct {
	tokens sync.Map // token → username
	n      atomic.Int64
}

func (s *sessions) create(user string) string {
	t := newToken()
	s.tokens.Store(t, user)
	s.n.Add(1)
	return t
}

func (s *sessions) valid(token string) bool {
	_, ok := s.tokens.Load(token)
	return ok
}

func (s *sessions) delete(token string) {
	if _, ok := s.tokens.LoadAndDelete(token); ok {
		s.n.Add(-1)
	}
}

func (s *sessions) count() int64 { return s.n.Load() }

// Item store bounds.
const (
	// seedItems exist from the start with ids 1 to seedItems.
	seedItems = 1000
	// maxCreatedItems is how many created items are kept; creating more
	// forgets the oldest, so the store's memory stays bounded.
	maxCreatedItems = 10_000
)

type item struct {
	ID          int64   `json:"id"`
	Title       string  `json:"title"`
	Description string  `json:"description,omitempty"`
	Value       float64 `json:"value"`
}

// itemPatch holds the fields a PATCH sets; nil fields are left alone.
type itemPatch struct {
	Title       *string  `json:"title"`
	Description *string  `json:"description"`
	Value       *float64 `json:"value"`
}

func (p itemPatch) apply(it *item) {
	if p.Title != nil {
		it.Title = *p.Title
	}
	if p.Description != nil {
		it.Description = *p.Description
	}
	if p.Value != nil {
		it.Value = *p.Value
	}
}

// itemStore is the in-memory items collection: the seed items followed by
// the last maxCreatedItems created ones, in id order. Memory is fixed at
// creation apart from the strings items hold.
type itemStore struct {
	mu   sync.RWMutex
	seed [seedItems]item
	// created is a ring: created item id lives at (id-seedItems-1) % maxCreatedItems.
	created [maxCreatedItems]item
	next    int64 // id of the next created item
}

func newItemStore() *itemStore {
	st := &itemStore{next: seedItems + 1}
	for i := range st.seed {
		id := int64(i + 1)
		st.seed[i] = item{ID: id, Title: fmt.Sprintf("Item %d", id), Value: float64(seedValue(id))}
	}
	return st
}

// seedValue is a deterministic pseudo-random value in [1, 1000] for an id.
func seedValue(id int64) int64 { return id*7919%1000 + 1 }

// oldestLive is the id of the oldest created item still kept; the caller
// holds mu.
func (st *itemStore) oldestLive() int64 {
	return max(seedItems+1, st.next-maxCreatedItems)
}

// slot returns the item with id, nil when there is none; the caller holds mu.
func (st *itemStore) slot(id int64) *item {
	switch {
	case id >= 1 && id <= seedItems:
		return &st.seed[id-1]
	case id >= st.oldestLive() && id < st.next:
		return &st.created[(id-seedItems-1)%maxCreatedItems]
	}
	return nil
}

func (st *itemStore) get(id int64) (item, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if p := st.slot(id); p != nil {
		return *p, true
	}
	return item{}, false
}

func (st *itemStore) create(it item) item {
	st.mu.Lock()
	defer st.mu.Unlock()
	it.ID = st.next
	st.next++
	*st.slot(it.ID) = it
	return it
}

func (st *itemStore) update(id int64, p itemPatch) (item, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	it := st.slot(id)
	if it == nil {
		return item{}, false
	}
	p.apply(it)
	return *it, true
}

// page returns up to limit items starting at the offset-th one in id order.
func (st *itemStore) page(offset, limit int64) []item {
	st.mu.RLock()
	defer st.mu.RUnlock()
	oldest := st.oldestLive()
	total := seedItems + st.next - oldest
	out := make([]item, 0, max(0, min(limit, total-offset)))
	for i := offset; i < total && i < offset+limit; i++ {
		id := i + 1
		if i >= seedItems {
			id = oldest + i - seedItems
		}
		out = append(out, *st.slot(id))
	}
	return out
}
