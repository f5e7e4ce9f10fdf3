package gateway

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Activity sizes: an hour of per-minute buckets, and the latest rejections.
const (
	activityMinutes  = 60
	recentRejections = 100
)

// Activity keeps what the admin console shows of the traffic: requests and
// rejections by reason per minute over the last hour, and the latest
// rejections. It holds no token, path or header: a rejection keeps its
// request id, where it happened, its reason, and the kid, iss and sub the
// execution log names. A nil *Activity records nothing.
type Activity struct {
	now func() time.Time

	// requests are per-minute request counts, indexed by minute modulo
	// activityMinutes; a bucket whose minute is not the current one is
	// stale and reset under mu before use.
	requests [activityMinutes]minuteCount

	mu         sync.Mutex
	rejections [activityMinutes]minuteReasons
	recent     [recentRejections]Rejection
	next       int // index of recent the next rejection goes to
	total      int // rejections ever recorded, to tell a full ring
}

type minuteCount struct {
	minute atomic.Int64
	n      atomic.Int64
}

type minuteReasons struct {
	minute   int64
	byReason map[string]int
}

// Rejection is one refused request, as the console lists it.
type Rejection struct {
	Time                 time.Time
	RequestID            string
	Method               string
	Status               int
	Deployment, Route    string
	Reason               string
	KID, Issuer, Subject string
}

// NewActivity returns an empty Activity on the clock now (time.Now if nil).
func NewActivity(now func() time.Time) *Activity {
	if now == nil {
		now = time.Now
	}
	return &Activity{now: now}
}

// request counts one answered request, in the minute it started (the
// gateway's clock read once per request already: no second reading).
func (a *Activity) request(start time.Time) {
	if a == nil {
		return
	}
	m := start.Unix() / 60
	b := &a.requests[m%activityMinutes]
	if b.minute.Load() != m {
		a.mu.Lock()
		if b.minute.Load() != m {
			b.n.Store(0)
			b.minute.Store(m)
		}
		a.mu.Unlock()
	}
	b.n.Add(1)
}

// reject records a refused request: its reason in the minute's counts and
// the rejection in the ring.
func (a *Activity) reject(ex *exchange, e *httpError) {
	if a == nil {
		return
	}
	now := a.now()
	rj := Rejection{Time: now, RequestID: ex.requestID, Method: metricMethod(ex.method), Status: e.status, Reason: string(e.reason)}
	if ex.dep != nil {
		rj.Deployment = ex.dep.prefix
	}
	if ex.route != nil {
		rj.Route = ex.route.path
	}
	for _, attr := range e.attrs {
		if attr.Value.Kind() != slog.KindString {
			continue
		}
		switch attr.Key {
		case "kid":
			rj.KID = bounded(attr.Value.String())
		case "iss":
			rj.Issuer = bounded(attr.Value.String())
		case "sub":
			rj.Subject = bounded(attr.Value.String())
		}
	}
	m := now.Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	b := &a.rejections[m%activityMinutes]
	if b.minute != m || b.byReason == nil {
		b.minute, b.byReason = m, map[string]int{}
	}
	b.byReason[rj.Reason]++
	a.recent[a.next] = rj
	a.next = (a.next + 1) % recentRejections
	a.total++
}

// Minute is one minute of traffic.
type Minute struct {
	// Start is the minute's first instant.
	Start    time.Time
	Requests int
	// Rejections counts the minute's rejections by reason.
	Rejections map[string]int
}

// Minutes returns the last n minutes (at most an hour), oldest first, the
// current minute last; minutes without traffic are there with zero counts.
func (a *Activity) Minutes(n int) []Minute {
	n = min(max(n, 0), activityMinutes)
	now := a.now().Unix() / 60
	out := make([]Minute, 0, n)
	a.mu.Lock()
	defer a.mu.Unlock()
	for m := now - int64(n) + 1; m <= now; m++ {
		i := ((m % activityMinutes) + activityMinutes) % activityMinutes
		min := Minute{Start: time.Unix(m*60, 0), Rejections: map[string]int{}}
		if b := &a.requests[i]; b.minute.Load() == m {
			min.Requests = int(b.n.Load())
		}
		if b := &a.rejections[i]; b.minute == m {
			for reason, c := range b.byReason {
				min.Rejections[reason] = c
			}
		}
		out = append(out, min)
	}
	return out
}

// Recent returns the latest rejections, newest first.
func (a *Activity) Recent() []Rejection {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := min(a.total, recentRejections)
	out := make([]Rejection, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, a.recent[(a.next-i+recentRejections)%recentRejections])
	}
	return slices.Clip(out)
}
