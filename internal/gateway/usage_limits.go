package gateway

import (
	"context"
	"errors"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keygate/keygate/internal/config"
)

// usageOutcome is what an entitlement's limits decide for one request.
type usageOutcome int

const (
	usagePermitted usageOutcome = iota
	// usageRateLimited: over the entitlement's rate limit (429).
	usageRateLimited
	// usageQuotaExceeded: the quota is used up, operationOnBreach REJECT (429).
	usageQuotaExceeded
	// usageBreachedAllowed: the quota is used up, operationOnBreach ALLOW.
	usageBreachedAllowed
)

// usageLimit is one subscriber's entitlement as its counters see it.
type usageLimit struct {
	// key names the counters: plan, entitlement and subscriber (limits are
	// shared by all targets of an entitlement and all clients of a
	// subscriber).
	key string
	// rateKey and quotaKey are the in-process keys, made once: the rate's
	// (apart from rateLimiting's), the quota's (with its unit: a changed
	// unit starts a count of its own).
	rateKey, quotaKey string
	// rate is requests per second; 0 for no rate limit.
	rate int
	// quota is requests per period of unit; 0 for no quota.
	quota  int
	unit   string
	reject bool
}

// usageDecision is a decision and what the response needs to say about it.
type usageDecision struct {
	outcome usageOutcome
	// wait is how long until a refused request could pass.
	wait time.Duration
	// period is the start of the quota period counted (unix seconds), for
	// a refund.
	period int64
}

// quotaPeriod is the calendar period of unit holding now, in UTC: MINUTE,
// HOUR, DAY from midnight, WEEK from Monday 00:00 (ISO 8601), MONTH from
// the 1st (oci-policies.md §11).
func quotaPeriod(now time.Time, unit string) (start, end time.Time) {
	t := now.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch unit {
	case config.QuotaMinute:
		start = t.Truncate(time.Minute)
		return start, start.Add(time.Minute)
	case config.QuotaHour:
		start = t.Truncate(time.Hour)
		return start, start.Add(time.Hour)
	case config.QuotaWeek:
		start = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return start, start.AddDate(0, 0, 7)
	case config.QuotaMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	return day, day.AddDate(0, 0, 1)
}

// quotaCounters count requests per quota key and period in-process.
// Their keys come from the configuration (plan, entitlement, subscriber,
// unit), never from the network, so they need no bound of their own.
type quotaCounters struct {
	shards [limitShards]quotaShard
}

type quotaShard struct {
	mu sync.Mutex
	n  map[string]*quotaCount
}

type quotaCount struct {
	period int64 // unix seconds of the period's start
	used   int64
}

// decideUsage decides one request of an entitlement at now: in Redis when
// the limits are shared, else (or while Redis fails) in-process.
func (l *Limits) decideUsage(ctx context.Context, u *usageLimit, now time.Time) usageDecision {
	s := l.shared.Load()
	if s == nil {
		return l.usageLocal(u, now)
	}
	if !s.usage.ask(time.Now()) {
		return l.usageLocal(u, now)
	}
	n := s.usage.begin()
	d, err := s.decideUsage(ctx, u, now)
	if err != nil {
		if s.usage.failed(n, time.Now()) {
			s.log.Warn("usage plans: Redis does not answer; each replica counts rate limits and quotas on its own until it does",
				"code", "usagePlans.sharedStateFailed", "error", err.Error())
		}
		return l.usageLocal(u, now)
	}
	if s.usage.succeeded(n) {
		s.log.Info("usage plans: Redis answers again; rate limits and quotas are shared", "code", "usagePlans.sharedStateRestored")
	}
	return d
}

// refundQuota gives back the quota a request took (its response was a 5xx,
// which OCI counts toward the rate limit only).
func (l *Limits) refundQuota(ctx context.Context, u *usageLimit, period int64) {
	if s := l.shared.Load(); s != nil && !s.usage.failing.Load() {
		if err := s.refund(ctx, u, period); err == nil {
			return
		}
		s.usage.errors.Add(1)
	}
	sh := l.quotaShard(u)
	sh.mu.Lock()
	if c := sh.n[u.quotaKey]; c != nil && c.period == period && c.used > 0 {
		c.used--
	}
	sh.mu.Unlock()
}

func (l *Limits) quotaShard(u *usageLimit) *quotaShard {
	return &l.quotas.shards[maphash.String(l.seed, u.key)%limitShards]
}

// usageLocal decides in-process: the quota is checked, the rate limit
// taken, then the quota counted, so a refused request uses up neither.
func (l *Limits) usageLocal(u *usageLimit, now time.Time) usageDecision {
	var d usageDecision
	var count *quotaCount
	var end time.Time
	if u.quota > 0 {
		var start time.Time
		start, end = quotaPeriod(now, u.unit)
		d.period = start.Unix()
		sh := l.quotaShard(u)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		count = sh.n[u.quotaKey]
		if count == nil {
			count = &quotaCount{}
			sh.n[u.quotaKey] = count
		}
		if count.period != d.period {
			count.period, count.used = d.period, 0
		}
		if count.used >= int64(u.quota) && u.reject {
			d.outcome, d.wait = usageQuotaExceeded, end.Sub(now)
			return d
		}
	}
	if u.rate > 0 {
		if ok, wait := l.allow(u.rateKey, u.rate, now); !ok {
			d.outcome, d.wait = usageRateLimited, wait
			return d
		}
	}
	if count != nil {
		count.used++
		if count.used > int64(u.quota) {
			d.outcome = usageBreachedAllowed
		}
	}
	return d
}

// usageScript is usageLocal inside Redis, so that every replica shares
// one rate (GCRA on Redis's clock, as gcraScript) and one quota counter per
// period and one round trip decides both. KEYS: the rate key, the quota
// key (one hash tag: one cluster slot). ARGV: the emission interval and
// the burst in microseconds (0: no rate limit), the quota (0: none), the
// quota key's lifetime in milliseconds, 1 to reject a breach. It returns
// {outcome, microseconds to wait}: 0 permitted, 1 rate limited, 2 quota
// exceeded, 3 breached but allowed.
var usageScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local quota = tonumber(ARGV[3])
local now, nxt
if interval > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat < now then tat = now end
  nxt = tat + interval
  local allow_at = nxt - tonumber(ARGV[2])
  if now < allow_at then return {1, allow_at - now} end
end
local used = 0
if quota > 0 then
  used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= quota and ARGV[5] == '1' then return {2, 0} end
  used = redis.call('INCR', KEYS[2])
  if used == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
end
if interval > 0 then
  redis.call('SET', KEYS[1], nxt, 'PX', math.floor((nxt - now) / 1000) + 1)
end
if quota > 0 and used > quota then return {3, 0} end
return {0, 0}
`)

// refundScript takes one back from a quota counter that still exists.
var refundScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
`)

// quotaKeyGrace keeps a quota counter past its period's end, so replicas
// whose clocks are a little behind still find it.
const quotaKeyGrace = time.Minute

// usageKeys are the Redis keys of u's rate and of its quota in period
// (unix seconds).
func usageKeys(u *usageLimit, period int64) []string {
	base := "keygate:up:{" + u.key + "}:"
	return []string{base + "r", base + "q:" + u.unit + ":" + strconv.FormatInt(period, 10)}
}

// decideUsage decides in Redis. The quota's period comes from now (the
// replica's clock, which may be injected), the rate's clock is Redis's.
func (s *sharedLimits) decideUsage(ctx context.Context, u *usageLimit, now time.Time) (usageDecision, error) {
	var d usageDecision
	interval, burst, ttl := int64(0), int64(0), int64(0)
	var end time.Time
	if u.rate > 0 {
		interval = int64(time.Second/time.Microsecond) / int64(u.rate)
		burst = int64(time.Second / time.Microsecond)
	}
	if u.quota > 0 {
		var start time.Time
		start, end = quotaPeriod(now, u.unit)
		d.period = start.Unix()
		ttl = (end.Sub(now) + quotaKeyGrace).Milliseconds()
	}
	reject := "0"
	if u.reject {
		reject = "1"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	res, err := usageScript.Run(ctx, s.client, usageKeys(u, d.period),
		interval, burst, u.quota, ttl, reject).Int64Slice()
	if err != nil {
		return d, err
	}
	if len(res) != 2 || res[0] < 0 || res[0] > 3 {
		return d, errors.New("unexpected answer from the usage plan script")
	}
	d.outcome = usageOutcome(res[0])
	switch d.outcome {
	case usageRateLimited:
		d.wait = time.Duration(res[1]) * time.Microsecond
	case usageQuotaExceeded:
		d.wait = end.Sub(now)
	}
	return d, nil
}

func (s *sharedLimits) refund(ctx context.Context, u *usageLimit, period int64) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	return refundScript.Run(ctx, s.client, usageKeys(u, period)[1:]).Err()
}
