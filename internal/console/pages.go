package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/gateway"
)

// pageData is what every page template gets; Body is the page's own.
type pageData struct {
	Title string
	// Nav names the page in the navigation ("" for none).
	Nav string
	// Message is a notice for the page ("" for none).
	Message string
	Version string
	Now     time.Time
	// Session: the console is behind a token, so a log-out button shows.
	Session bool
	Body    any
}

func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"clock": func(t time.Time) string { return t.UTC().Format("15:04:05") },
		"ago":   func(t time.Time) string { return ago(c.opts.Now(), t) },
		"join":  strings.Join,
		// explainMethod is the method the explainer starts with for a
		// route: its first, or GET when it takes any.
		"explainMethod": func(methods []string) string {
			if len(methods) == 0 || !slices.Contains(explainMethods, methods[0]) {
				return "GET"
			}
			return methods[0]
		},
		// routePath is a route's full path under its deployment's prefix.
		"routePath": func(prefix, path string) string {
			return strings.TrimSuffix(prefix, "/") + path
		},
	}
}

// render writes page name with data; a template error is a 500 with a
// plain message (the templates are tested, so it does not happen).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	data.Now = c.opts.Now()
	data.Version = c.version()
	data.Session = c.opts.Token != ""
	var b bytes.Buffer
	if err := c.pages[name].Execute(&b, data); err != nil {
		http.Error(w, "the console could not render "+name, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}

// version is the live configuration's version, from the history.
func (c *Console) version() string {
	for _, e := range c.opts.History.Events() {
		if e.Version != "" {
			return e.Version
		}
	}
	return "unknown"
}

// ago says how long before now t was, for people: "12s ago", "3m ago".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Truncate(time.Second)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds ago", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

type overviewData struct {
	Deployments, Routes int
	KeySets             []keySetView
	Traffic             trafficData
	Recent              []gateway.Rejection
	LastConfig          *gateway.ConfigEvent
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	d := overviewData{KeySets: c.keySets(), Traffic: c.trafficData()}
	for _, dep := range c.opts.Live.Current().Summary() {
		d.Deployments++
		d.Routes += len(dep.Routes)
	}
	if c.opts.Activity != nil {
		d.Recent = c.opts.Activity.Recent()
		d.Recent = d.Recent[:min(len(d.Recent), 10)]
	}
	if events := c.opts.History.Events(); len(events) > 0 {
		d.LastConfig = &events[0]
	}
	c.render(w, r, http.StatusOK, "overview", pageData{Title: "Overview", Nav: "overview", Body: d})
}

func (c *Console) deployments(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "deployments", pageData{Title: "Deployments", Nav: "deployments", Body: c.opts.Live.Current().Summary()})
}

// keySetView is a remote key set with its state in a word.
type keySetView struct {
	gateway.RemoteStatus
	// State is "loaded", "stale" (refresh failing, last good keys in use),
	// "failing" (never loaded) or "loading".
	State string
}

func (c *Console) keySets() []keySetView {
	if c.opts.KeySets == nil {
		return nil
	}
	var out []keySetView
	for _, s := range c.opts.KeySets.Status() {
		v := keySetView{RemoteStatus: s, State: "loaded"}
		switch {
		case s.Loaded && s.LastError != "":
			v.State = "stale"
		case !s.Loaded && s.LastError != "":
			v.State = "failing"
		case !s.Loaded:
			v.State = "loading"
		}
		out = append(out, v)
	}
	return out
}

type deploymentKeys struct {
	Prefix string
	Auth   *gateway.AuthSummary
	// Remote is the deployment's JWKS, nil for static keys.
	Remote *keySetView
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request) {
	sets := c.keySets()
	var out []deploymentKeys
	for _, dep := range c.opts.Live.Current().Summary() {
		dk := deploymentKeys{Prefix: dep.PathPrefix, Auth: dep.Auth}
		if dep.Auth != nil && dep.Auth.JWKS != "" {
			for i := range sets {
				if sets[i].URI == dep.Auth.JWKS {
					dk.Remote = &sets[i]
				}
			}
		}
		out = append(out, dk)
	}
	c.render(w, r, http.StatusOK, "keys", pageData{Title: "Keys", Nav: "keys", Body: out})
}

func (c *Console) configPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "config", pageData{Title: "Configuration", Nav: "config", Body: c.opts.History.Events()})
}

func (c *Console) rejections(w http.ResponseWriter, r *http.Request) {
	var recent []gateway.Rejection
	if c.opts.Activity != nil {
		recent = c.opts.Activity.Recent()
	}
	c.render(w, r, http.StatusOK, "rejections", pageData{Title: "Rejections", Nav: "rejections", Body: recent})
}

func (c *Console) traffic(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "traffic", pageData{Title: "Traffic", Nav: "traffic", Body: c.trafficData()})
}
