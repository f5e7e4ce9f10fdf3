package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is the GCRA decision of Limits.allow done inside Redis, so that
// every replica shares one timestamp per key and one round trip decides:
// the clock is Redis's (TIME), so replicas' clocks need not agree. It
// returns {1, 0} to allow, {0, microseconds to wait} to refuse. The key
// expires once its bucket is full again.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local allow_at = nxt - burst
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], nxt, 'PX', math.floor((nxt - now) / 1000) + 1)
return {1, 0}
`)

// sharedLimits decides with Redis. When Redis does not answer in time, a
// replica decides alone with its in-process state (fails open to the local
// limit): an outage of the shared store must not take the APIs down, and
// each replica still holds the rate on its own, so the cluster admits at
// most N times the rate until Redis is back.
type sharedLimits struct {
	client  redis.UniversalClient
	timeout time.Duration
	log     *slog.Logger
	// rate and usage follow Redis outages as rate limiting and usage
	// plans see them, each logged under its own codes.
	rate, usage outage
}

// outage follows whether Redis is failing, so that an outage is logged
// once when it starts and once when it ends, also under concurrent
// decisions, which finish in any order: a decision that began before the
// latest success cannot start an outage (Redis has answered since), and
// one that began before the latest failure cannot end it.
type outage struct {
	// seq numbers the decisions as they begin.
	seq atomic.Uint64
	// lastFailed and lastOK are the numbers of the latest decisions that
	// failed and that succeeded.
	lastFailed, lastOK atomic.Uint64
	failing            atomic.Bool
	errors             atomic.Uint64
	// probedAt is when, during an outage, a decision last asked Redis
	// (unix nanoseconds).
	probedAt atomic.Int64
}

// probeEvery is how often, while Redis is failing, one decision asks it
// again; the others decide alone at once. An outage where Redis does not
// answer at all (a dead host, a partition) then costs one timeout per
// probe, not one per request.
const probeEvery = time.Second

// ask reports whether a decision at now should ask Redis: always, but
// during an outage only the first decision of each probeEvery. A decision
// that does not ask counts as one Redis did not make.
func (o *outage) ask(now time.Time) bool {
	if !o.failing.Load() {
		return true
	}
	last := o.probedAt.Load()
	if now.UnixNano()-last >= int64(probeEvery) && o.probedAt.CompareAndSwap(last, now.UnixNano()) {
		return true
	}
	o.errors.Add(1)
	return false
}

// begin numbers a decision about to ask Redis.
func (o *outage) begin() uint64 { return o.seq.Add(1) }

// failed counts decision n's failure at now and reports whether it starts
// an outage.
func (o *outage) failed(n uint64, now time.Time) bool {
	o.errors.Add(1)
	raise(&o.lastFailed, n)
	if n > o.lastOK.Load() && o.failing.CompareAndSwap(false, true) {
		o.probedAt.Store(now.UnixNano())
		return true
	}
	return false
}

// succeeded notes decision n's success and reports whether it ends an
// outage.
func (o *outage) succeeded(n uint64) bool {
	raise(&o.lastOK, n)
	return o.failing.Load() && n > o.lastFailed.Load() && o.failing.CompareAndSwap(true, false)
}

// raise sets v to n if n is larger.
func raise(v *atomic.Uint64, n uint64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// UseRedis makes l decide in Redis, with local state as the fallback.
// Call it before serving.
func (l *Limits) UseRedis(client redis.UniversalClient, timeout time.Duration, log *slog.Logger) {
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	l.shared.Store(&sharedLimits{client: client, timeout: timeout, log: log})
}

// SharedErrors counts the decisions Redis did not make (for metrics).
func (l *Limits) SharedErrors() uint64 {
	if s := l.shared.Load(); s != nil {
		return s.rate.errors.Load()
	}
	return 0
}

// SharedUsageErrors counts the usage plan decisions Redis did not make
// (for metrics).
func (l *Limits) SharedUsageErrors() uint64 {
	if s := l.shared.Load(); s != nil {
		return s.usage.errors.Load()
	}
	return 0
}

// decide is allow through Redis when it is configured, else locally.
func (l *Limits) decide(ctx context.Context, key string, rate int, now time.Time) (bool, time.Duration) {
	s := l.shared.Load()
	if s == nil {
		return l.allow(key, rate, now)
	}
	if !s.rate.ask(time.Now()) {
		return l.allow(key, rate, now)
	}
	n := s.rate.begin()
	ok, wait, err := s.allow(ctx, key, rate)
	if err != nil {
		if s.rate.failed(n, time.Now()) {
			s.log.Warn("rate limiting: Redis does not answer; each replica limits on its own until it does",
				"code", "rateLimiting.sharedStateFailed", "error", err.Error())
		}
		return l.allow(key, rate, now)
	}
	if s.rate.succeeded(n) {
		s.log.Info("rate limiting: Redis answers again; limits are shared", "code", "rateLimiting.sharedStateRestored")
	}
	return ok, wait
}

func (s *sharedLimits) allow(ctx context.Context, key string, rate int) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	interval := int64(time.Second/time.Microsecond) / int64(rate)
	res, err := gcraScript.Run(ctx, s.client, []string{"keygate:rl:" + key},
		strconv.FormatInt(interval, 10), strconv.FormatInt(int64(time.Second/time.Microsecond), 10)).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, errors.New("unexpected answer from the rate limiting script")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
