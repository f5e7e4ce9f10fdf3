package serve

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
	"github.com/keygate/keygate/internal/gateway"
)

// Reload timing: file events come in bursts (an editor's write-rename, a
// Kubernetes ConfigMap's symlink swap), so a reload waits for quiet; a new
// remote JWKS gets a moment to load before its gateway takes traffic.
const (
	reloadDebounce  = 250 * time.Millisecond
	reloadReadyWait = 10 * time.Second
)

// reloader rebuilds the gateway from its sources and swaps it in; an
// invalid configuration leaves the running one in place.
type reloader struct {
	src     Source
	opts    gateway.Options
	live    *gateway.Live
	log     *slog.Logger
	metrics *gateway.Metrics
	history *gateway.ConfigHistory

	mu      sync.Mutex
	version string
	// secrets are the live configuration's secret values (secretValues):
	// a rotated secret is a change that Version does not show.
	secrets map[string]string
	listen  string
	files   []string
	// responseCache is the response cache's settings at start-up.
	responseCache *config.ResponseCache
	// loaded, when set, sees every configuration that loads, changed or
	// not (its secrets were read again). Default nil.
	loaded func(*config.Gateway)
}

func newReloader(src Source, opts gateway.Options, cfg *config.Gateway, live *gateway.Live, metrics *gateway.Metrics,
	history *gateway.ConfigHistory) *reloader {
	r := &reloader{src: src, opts: opts, live: live, log: opts.Logger, metrics: metrics, history: history,
		version: Version(cfg), secrets: secretValues(cfg), listen: cfg.Listen, files: src.Files(cfg),
		responseCache: cfg.ResponseCache}
	metrics.ConfigLive(r.version)
	history.Add(gateway.ConfigEvent{Time: time.Now(), Cause: "start-up", Result: "loaded", Version: r.version})
	return r
}

// reload loads, validates and compiles the configuration again and swaps
// it in. It reports whether a new configuration went live.
func (r *reloader) reload(cause string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, g, err := r.src.Load(r.opts)
	if err != nil {
		var problems config.Problems
		var lines []string
		if errors.As(err, &problems) {
			for _, p := range problems {
				r.log.Error("reload: "+p.Error(), "cause", cause, "reason", "invalid_config")
				lines = append(lines, p.Error())
			}
		} else {
			lines = []string{err.Error()}
		}
		r.history.Add(gateway.ConfigEvent{Time: time.Now(), Cause: cause, Result: "refused", Version: r.version, Problems: lines})
		r.log.Error("reload refused; the running configuration stays live", "cause", cause,
			"version", r.version, "error", err.Error())
		r.metrics.ConfigLoaded(r.version, false)
		r.retainLive() // key sets the refused configuration started
		return false
	}
	if r.loaded != nil {
		r.loaded(cfg)
	}
	version, secrets := Version(cfg), secretValues(cfg)
	if version == r.version && maps.Equal(secrets, r.secrets) {
		r.log.Info("reload: configuration unchanged", "cause", cause, "version", version)
		r.history.Add(gateway.ConfigEvent{Time: time.Now(), Cause: cause, Result: "unchanged", Version: version})
		r.retainLive()
		return false
	}
	if !reflect.DeepEqual(cfg.ResponseCache, r.responseCache) {
		r.log.Warn("reload: responseCache changes need a restart; the response cache keeps its server and settings")
	}
	if cfg.Listen != r.listen {
		r.log.Warn("reload: listen address changes need a restart; still listening on the old one",
			"listen", r.listen, "configured", cfg.Listen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reloadReadyWait)
	if !g.WaitReady(ctx) {
		r.log.Warn("reload: a remote JWKS of the new configuration has not loaded yet; its routes answer 503 until it does")
	}
	cancel()
	if reg, ok := r.opts.Functions.(*function.Registry); ok {
		// Before the swap: the new configuration's functions are
		// registered when its routes take traffic.
		if err := applyFunctions(reg, cfg, r.log); err != nil {
			r.log.Error("reload: function registry", "error", err.Error())
		}
	}
	r.live.Swap(g)
	// Tokens verified under the old configuration are checked afresh.
	r.opts.TokenCache.Purge()
	if r.opts.KeySets != nil {
		r.opts.KeySets.Retain(g)
	}
	r.version, r.secrets, r.files = version, secrets, r.src.Files(cfg)
	r.metrics.ConfigLoaded(version, true)
	r.log.Info("configuration reloaded", "cause", cause, "version", version)
	r.history.Add(gateway.ConfigEvent{Time: time.Now(), Cause: cause, Result: "loaded", Version: version})
	return true
}

// retainLive stops the key sets a configuration that did not go live
// started, so they fetch nothing more.
func (r *reloader) retainLive() {
	if r.opts.KeySets != nil {
		r.opts.KeySets.Retain(r.live.Current())
	}
}

// watch reloads on SIGHUP and on changes of the configuration's files until
// ctx is done. It watches the files' directories, which also sees editors
// that replace a file and Kubernetes' ConfigMap "..data" symlink swap.
func (r *reloader) watch(ctx context.Context, hup <-chan os.Signal) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Error("file watching is off; reload with SIGHUP", "error", err.Error())
		w = nil
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		defer w.Close()
		r.watchDirs(w)
		events, errs = w.Events, w.Errors
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload("SIGHUP")
		case ev := <-events:
			if r.concerns(ev.Name) {
				debounce.Reset(reloadDebounce)
			}
		case err := <-errs:
			r.log.Warn("file watcher", "error", err.Error())
		case <-debounce.C:
			if r.reload("file change") && w != nil {
				r.watchDirs(w)
			}
		}
	}
}

// watchDirs adds the directory of every configuration file to w.
func (r *reloader) watchDirs(w *fsnotify.Watcher) {
	r.mu.Lock()
	files := r.files
	r.mu.Unlock()
	for _, f := range files {
		if err := w.Add(filepath.Dir(f)); err != nil {
			r.log.Warn("cannot watch for changes; reload with SIGHUP", "dir", filepath.Dir(f), "error", err.Error())
		}
	}
}

// concerns reports whether a change of name can change the configuration.
func (r *reloader) concerns(name string) bool {
	if filepath.Base(name) == "..data" {
		return true
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.files {
		if f == abs {
			return true
		}
	}
	return false
}
