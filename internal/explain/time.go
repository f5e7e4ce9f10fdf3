package explain

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/keygate/keygate/internal/token"
)

// DescribeTime renders a NumericDate claim as RFC 3339 and its distance
// from now, or says why it cannot.
func DescribeTime(name string, claims token.Claims, now time.Time) string {
	raw, present := claims[name]
	if !present {
		if name == "exp" {
			return "(none: the gateway rejects a token without exp)"
		}
		return "(none)"
	}
	n, ok := raw.(json.Number)
	f, err := strconv.ParseFloat(string(n), 64)
	if !ok || err != nil || math.Abs(f) > 1e15 {
		return fmt.Sprintf("%s is not a NumericDate (seconds since 1970)", compactJSON(raw))
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(frac*1e9))
	d := t.Sub(now)
	var rel string
	switch name {
	case "exp":
		rel = "expires in " + humanSpan(t, now)
		if d <= 0 {
			rel = "expired " + humanSpan(t, now) + " ago"
		}
	case "nbf":
		rel = "valid since " + humanSpan(t, now) + " ago"
		if d > 0 {
			rel = "not valid for another " + humanSpan(t, now)
		}
	default:
		rel = "issued " + humanSpan(t, now) + " ago"
		if d > 0 {
			rel = "issued " + humanSpan(t, now) + " in the future (the signer's clock is ahead)"
		}
	}
	return t.UTC().Format(time.RFC3339) + "  " + rel
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// humanSpan is the distance between t and now for humans: humanDuration,
// or whole years beyond two (where a time.Duration would saturate at about
// 292 years and claim a far-future exp expires sooner than it does).
func humanSpan(t, now time.Time) string {
	if years := t.Year() - now.Year(); years > 2 || years < -2 {
		return fmt.Sprintf("about %d years", max(years, -years))
	}
	d := t.Sub(now)
	return humanDuration(max(d, -d))
}

// humanDuration is d, not negative, to the largest two units that matter:
// "45s", "59m", "2h5m", "3d4h". Smaller parts are cut, not rounded, so a
// fresh one-hour token "expires in 59m".
func humanDuration(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}
