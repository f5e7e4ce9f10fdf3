// Package lru is a bounded map whose entries carry a deadline: the least
// recently used entry goes first when it is full, and an entry read at or
// after its deadline is dropped. The authorizer's verdicts and the
// introspection answers are kept in one.
package lru

import (
	"container/list"
	"time"
)

// Cache holds at most max entries. It is not safe for concurrent use: its
// users hold their own lock, which also guards the calls they have in
// flight.
type Cache[K comparable, V any] struct {
	max     int
	entries map[K]*list.Element // of *entry[K, V]
	order   list.List           // front: most recently used
}

type entry[K comparable, V any] struct {
	key   K
	value V
	until time.Time
}

// New returns an empty cache of at most size entries (at least one).
func New[K comparable, V any](size int) *Cache[K, V] {
	return &Cache[K, V]{max: max(size, 1), entries: map[K]*list.Element{}}
}

// Get returns the value stored under k and marks it most recently used;
// false when there is none or now is not before its deadline (then the
// entry is dropped).
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	el, ok := c.entries[k]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !now.Before(e.until) {
		c.order.Remove(el)
		delete(c.entries, k)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// Put stores v under k until the deadline, as the most recently used
// entry, dropping the least recently used ones to make room.
func (c *Cache[K, V]) Put(k K, v V, until time.Time) {
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*entry[K, V])
		e.value, e.until = v, until
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*entry[K, V]).key)
	}
	c.entries[k] = c.order.PushFront(&entry[K, V]{key: k, value: v, until: until})
}

// Len returns the number of entries, expired ones not yet read included.
func (c *Cache[K, V]) Len() int { return c.order.Len() }
