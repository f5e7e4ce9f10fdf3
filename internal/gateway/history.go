package gateway

import (
	"slices"
	"sync"
	"time"
)

// configHistorySize is how many configuration events ConfigHistory keeps.
const configHistorySize = 50

// ConfigEvent is one configuration load: at start-up or a reload.
type ConfigEvent struct {
	Time time.Time
	// Cause is what started it: "start-up", "SIGHUP", "file change".
	Cause string
	// Result is "loaded", "unchanged" or "refused".
	Result string
	// Version is the version live after the event.
	Version string
	// Problems are what refused the configuration, one line each, with
	// their JSON paths; never a secret (validation never quotes keys).
	Problems []string
}

// ConfigHistory is a bounded list of configuration events, newest kept:
// the serve runtime adds them, the admin console reads them. A nil
// *ConfigHistory records nothing.
type ConfigHistory struct {
	mu     sync.Mutex
	events []ConfigEvent
}

// NewConfigHistory returns an empty history.
func NewConfigHistory() *ConfigHistory { return &ConfigHistory{} }

// Add records e, dropping the oldest event beyond the bound.
func (h *ConfigHistory) Add(e ConfigEvent) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == configHistorySize {
		h.events = slices.Delete(h.events, 0, 1)
	}
	h.events = append(h.events, e)
}

// Events returns the events, newest first.
func (h *ConfigHistory) Events() []ConfigEvent {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	out := slices.Clone(h.events)
	h.mu.Unlock()
	slices.Reverse(out)
	return out
}
