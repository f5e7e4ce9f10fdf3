package gateway

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Limits holds the rate limiters' state: it outlives a reload (a new
// configuration must not hand every client a fresh second's worth) and is
// shared by every deployment (keys carry the deployment). In-process: N
// replicas allow N times the rate.
type Limits struct {
	shards [limitShards]limitShard
	seed   maphash.Seed
	// shared, when set, decides in Redis (UseRedis).
	shared atomic.Pointer[sharedLimits]
	// quotas count usage plan quotas in-process (usage_limits.go).
	quotas quotaCounters
}

// limitShards spreads keys so that concurrent requests rarely share a lock.
const limitShards = 64

// maxLimitKeysPerShard bounds the keys kept (CLIENT_IP keys come from the
// network, so a spoofed-source flood could otherwise grow the map without
// end): 64 × 4,096 = 262,144 client addresses.
const maxLimitKeysPerShard = 4096

type limitShard struct {
	mu  sync.Mutex
	tat map[string]int64 // key → theoretical arrival time, unix nanoseconds
}

// NewLimits returns empty rate limiting state.
func NewLimits() *Limits {
	l := &Limits{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].tat = map[string]int64{}
		l.quotas.shards[i].n = map[string]*quotaCount{}
	}
	return l
}

// allow decides one request of key at now under a limit of rate per
// second with a burst of one second's worth, by the generic cell rate
// algorithm (GCRA): one timestamp per key, the time the bucket would be
// empty again. It returns how long to wait when the request is refused.
// GCRA is the token bucket keygate documents, in a form that needs one
// number per key (and, with Redis, one key and one round trip).
func (l *Limits) allow(key string, rate int, now time.Time) (bool, time.Duration) {
	interval := int64(time.Second) / int64(rate)
	burst := int64(time.Second) // rate requests' worth of intervals
	t := now.UnixNano()
	s := &l.shards[maphash.String(l.seed, key)%limitShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, ok := s.tat[key]
	if !ok || tat < t {
		tat = t
	}
	next := tat + interval
	if allowAt := next - burst; t < allowAt {
		return false, time.Duration(allowAt - t)
	}
	if !ok && len(s.tat) >= maxLimitKeysPerShard {
		s.evict(t)
	}
	s.tat[key] = next
	return true, 0
}

// evict makes room in constant time, as a flood of new keys must not cost
// more per request: of a few entries (map iteration starts at random), one
// whose bucket is full again goes, as it says nothing; else the last one
// looked at (a client forgotten gets a full bucket).
func (s *limitShard) evict(now int64) {
	const sample = 8
	n := 0
	for k, tat := range s.tat {
		n++
		if tat <= now || n == sample {
			delete(s.tat, k)
			return
		}
	}
}
