package lru

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := t0.Add(time.Minute)
	type step struct {
		op    string // put, get
		key   string
		value int
		until time.Time
		now   time.Time
		want  int // get: the value, 0 for none
		len   int // entries after the step
	}
	tests := []struct {
		name  string
		size  int
		steps []step
	}{
		{"miss", 2, []step{{op: "get", key: "a", now: t0, want: 0, len: 0}}},
		{"hit before the deadline", 2, []step{
			{op: "put", key: "a", value: 1, until: later, len: 1},
			{op: "get", key: "a", now: later.Add(-time.Nanosecond), want: 1, len: 1},
		}},
		{"dropped at the deadline", 2, []step{
			{op: "put", key: "a", value: 1, until: later, len: 1},
			{op: "get", key: "a", now: later, want: 0, len: 0},
		}},
		{"least recently used goes first", 2, []step{
			{op: "put", key: "a", value: 1, until: later, len: 1},
			{op: "put", key: "b", value: 2, until: later, len: 2},
			{op: "get", key: "a", now: t0, want: 1, len: 2},
			{op: "put", key: "c", value: 3, until: later, len: 2},
			{op: "get", key: "b", now: t0, want: 0, len: 2},
			{op: "get", key: "a", now: t0, want: 1, len: 2},
			{op: "get", key: "c", now: t0, want: 3, len: 2},
		}},
		{"put again replaces value and deadline, no eviction", 2, []step{
			{op: "put", key: "a", value: 1, until: t0, len: 1},
			{op: "put", key: "b", value: 2, until: later, len: 2},
			{op: "put", key: "a", value: 9, until: later, len: 2},
			{op: "get", key: "a", now: t0, want: 9, len: 2},
			{op: "get", key: "b", now: t0, want: 2, len: 2},
		}},
		{"size below one holds one", 0, []step{
			{op: "put", key: "a", value: 1, until: later, len: 1},
			{op: "put", key: "b", value: 2, until: later, len: 1},
			{op: "get", key: "b", now: t0, want: 2, len: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](tt.size)
			for i, s := range tt.steps {
				switch s.op {
				case "put":
					c.Put(s.key, s.value, s.until)
				case "get":
					got, ok := c.Get(s.key, s.now)
					if ok != (s.want != 0) || got != s.want {
						t.Errorf("step %d: Get(%q) = %d, %v; want %d", i, s.key, got, ok, s.want)
					}
				}
				if n := c.Len(); n != s.len {
					t.Errorf("step %d: Len() = %d, want %d", i, n, s.len)
				}
			}
		})
	}
}
