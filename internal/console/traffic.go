package console

import (
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/gateway"
)

// trafficData are the counters over the last 5 and 60 minutes, with charts.
type trafficData struct {
	Requests5, Requests60 int
	Rejected5, Rejected60 int
	Reasons               []reasonRow
	Chart5, Chart60       template.HTML
	HaveActivity          bool
}

// reasonRow is one rejection reason's counts.
type reasonRow struct {
	Reason        string
	Last5, Last60 int
}

func (c *Console) trafficData() trafficData {
	if c.opts.Activity == nil {
		return trafficData{}
	}
	minutes := c.opts.Activity.Minutes(60)
	d := trafficData{HaveActivity: true}
	byReason := map[string]*reasonRow{}
	for i, m := range minutes {
		recent := i >= len(minutes)-5
		d.Requests60 += m.Requests
		if recent {
			d.Requests5 += m.Requests
		}
		for reason, n := range m.Rejections {
			row := byReason[reason]
			if row == nil {
				row = &reasonRow{Reason: reason}
				byReason[reason] = row
			}
			row.Last60 += n
			d.Rejected60 += n
			if recent {
				row.Last5 += n
				d.Rejected5 += n
			}
		}
	}
	for _, row := range byReason {
		d.Reasons = append(d.Reasons, *row)
	}
	slices.SortFunc(d.Reasons, func(a, b reasonRow) int {
		if a.Last60 != b.Last60 {
			return b.Last60 - a.Last60
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	d.Chart60 = barChart(minutes, "Requests and rejections per minute, last 60 minutes")
	d.Chart5 = barChart(minutes[len(minutes)-5:], "Requests and rejections per minute, last 5 minutes")
	return d
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 600
	chartHeight = 120
	chartTop    = 12 // room for the scale's label
)

// barChart draws one bar per minute: its requests, and in front of them its
// rejections. It is inline SVG made here, so it needs no script; each bar's
// <title> gives the numbers. Every text in it is escaped.
func barChart(minutes []gateway.Minute, title string) template.HTML {
	peak := 1
	for _, m := range minutes {
		peak = max(peak, m.Requests, total(m.Rejections))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartWidth, chartHeight+16, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" class="axis"/>`, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="2" y="10" class="scale">%d/min</text>`, peak)
	slot := float64(chartWidth) / float64(max(len(minutes), 1))
	bar := max(slot*0.8, 1)
	for i, m := range minutes {
		x := float64(i)*slot + (slot-bar)/2
		rejected := total(m.Rejections)
		var reasons []string
		for reason, n := range m.Rejections {
			reasons = append(reasons, fmt.Sprintf("%s %d", reason, n))
		}
		slices.Sort(reasons)
		label := fmt.Sprintf("%s: %d requests, %d rejected", m.Start.UTC().Format("15:04"), m.Requests, rejected)
		if len(reasons) > 0 {
			label += " (" + strings.Join(reasons, ", ") + ")"
		}
		fmt.Fprintf(&b, `<g><title>%s</title>`, html.EscapeString(label))
		fmt.Fprintf(&b, `<rect x="0" y="%d" width="%.1f" height="%d" class="slot" transform="translate(%.1f 0)"/>`, chartTop, bar, chartHeight-chartTop, x)
		if h := barHeight(m.Requests, peak); h > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="requests"/>`, x, chartHeight-h, bar, h)
		}
		if h := barHeight(rejected, peak); h > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="rejections"/>`, x, chartHeight-h, bar, h)
		}
		b.WriteString(`</g>`)
	}
	if len(minutes) > 0 {
		fmt.Fprintf(&b, `<text x="0" y="%d" class="time">%s</text>`, chartHeight+13, minutes[0].Start.UTC().Format("15:04"))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="time end">%s</text>`, chartWidth, chartHeight+13, minutes[len(minutes)-1].Start.UTC().Format("15:04"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built above from numbers, times and escaped text
}

func barHeight(n, peak int) float64 {
	if n <= 0 {
		return 0
	}
	return max(float64(n)/float64(peak)*float64(chartHeight-chartTop), 1)
}

func total(byReason map[string]int) int {
	n := 0
	for _, c := range byReason {
		n += c
	}
	return n
}
