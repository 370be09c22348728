package web

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Charts are SVG drawn on the server: the coordinates are computed here
// and the template writes the elements, so every label goes through
// html/template's escaping like the rest of the page, no JavaScript runs
// to draw, and the charts show with scripts off or in a saved page. A JS
// chart library would add a dependency and a build step for two simple
// chart kinds.

// palette is colour-blind-safe (Okabe-Ito) for series.
var palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"}

// barChart is the per-classifier contribution chart: one diverging bar per
// detection vote, its change of the fused probability (Delta).
type barChart struct {
	Width, Height int
	Mid           float64
	Bars          []bar
}

type bar struct {
	Label      string
	Value      string
	Detail     string
	X, Y, W, H float64
	TextX      float64
	Positive   bool
}

func contributionChart(cs []report.Contribution) *barChart {
	if len(cs) == 0 {
		return nil
	}
	const labelW, plotW, rowH = 190.0, 420.0, 26.0
	c := &barChart{Width: int(labelW + plotW + 70), Height: int(rowH*float64(len(cs)) + 10), Mid: labelW + plotW/2}
	maxAbs := 0.0
	for _, x := range cs {
		maxAbs = math.Max(maxAbs, math.Abs(x.Delta))
	}
	if maxAbs == 0 {
		maxAbs = 1
	}
	for i, x := range cs {
		w := math.Abs(x.Delta) / maxAbs * (plotW/2 - 4)
		b := bar{Label: short(x.Classifier, 28), Value: fmt.Sprintf("%+.3f", x.Delta), Y: 5 + float64(i)*rowH, H: rowH - 8,
			W: math.Max(w, 1), Positive: x.Delta >= 0,
			Detail: fmt.Sprintf("%s: raw %.3f, calibrated %.3f, weight %.3f, change of P(malware) %+.3f", Clean(x.Classifier), x.Raw, x.Calibrated, x.Weight, x.Delta)}
		if b.Positive {
			b.X = c.Mid
			b.TextX = c.Mid + b.W + 4
		} else {
			b.X = c.Mid - b.W
			b.TextX = c.Mid + 4
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// lineChart is the timeline: calls per window per process.
type lineChart struct {
	Title         string
	Width, Height int
	Left, Bottom  float64
	Right, Top    float64
	YTicks        []tick
	XTicks        []tick
	Series        []series
	Points        int // data points drawn, all series
}

type tick struct {
	Pos   float64
	Label string
}

type series struct {
	Name   string
	Color  string
	Dash   bool
	Points string // polyline "x,y x,y"
	Dots   []dot
}

type dot struct {
	X, Y  float64
	Title string
}

// timelineChart draws one series per process (the busiest maxSeries, the
// rest summed as "other processes") from the kept calls, and the counted
// total (kept and dropped) as a dashed line.
func timelineChart(title string, wins []winCount, per map[int][]int, total func(winCount) int, names map[int]string) *lineChart {
	if len(wins) == 0 || len(per) == 0 {
		return nil
	}
	const maxSeries = 6
	c := &lineChart{Title: title, Width: 760, Height: 260, Left: 56, Bottom: 220, Right: 740, Top: 12}
	type ps struct {
		pid int
		sum int
	}
	var procs []ps
	for pid, s := range per {
		n := 0
		for _, v := range s {
			n += v
		}
		procs = append(procs, ps{pid, n})
	}
	sort.Slice(procs, func(i, j int) bool {
		if procs[i].sum != procs[j].sum {
			return procs[i].sum > procs[j].sum
		}
		return procs[i].pid < procs[j].pid
	})
	type raw struct {
		name string
		vals []int
		dash bool
	}
	var rs []raw
	tot := make([]int, len(wins))
	for i, w := range wins {
		tot[i] = total(w)
	}
	rs = append(rs, raw{"all calls counted", tot, true})
	other := make([]int, len(wins))
	hasOther := false
	for i, p := range procs {
		if i < maxSeries {
			label := "pid " + strconv.Itoa(p.pid)
			if n := names[p.pid]; n != "" {
				label += " " + short(n, 24)
			}
			rs = append(rs, raw{label, per[p.pid], false})
			continue
		}
		hasOther = true
		for k, v := range per[p.pid] {
			other[k] += v
		}
	}
	if hasOther {
		rs = append(rs, raw{"other processes", other, false})
	}
	maxY := 1
	for _, r := range rs {
		for _, v := range r.vals {
			maxY = max(maxY, v)
		}
	}
	maxY = niceCeil(maxY)
	n := len(wins)
	x := func(i int) float64 {
		if n == 1 {
			return (c.Left + c.Right) / 2
		}
		return c.Left + float64(i)*(c.Right-c.Left)/float64(n-1)
	}
	y := func(v int) float64 { return c.Bottom - float64(v)/float64(maxY)*(c.Bottom-c.Top) }
	nt := 4
	if maxY%5 == 0 {
		nt = 5
	}
	for k := 0; k <= nt; k++ {
		v := maxY * k / nt
		c.YTicks = append(c.YTicks, tick{y(v), strconv.Itoa(v)})
	}
	step := max(1, n/8)
	for i := 0; i < n; i += step {
		c.XTicks = append(c.XTicks, tick{x(i), fmt.Sprintf("%.1fs", float64(wins[i].Start)/1e9)})
	}
	for si, r := range rs {
		s := series{Name: r.name, Dash: r.dash, Color: "#555555"}
		if !r.dash {
			s.Color = palette[(si-1)%len(palette)]
		}
		var pts []string
		for i := 0; i < n && i < len(r.vals); i++ {
			px, py := x(i), y(r.vals[i])
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
			s.Dots = append(s.Dots, dot{px, py, fmt.Sprintf("%s, window %d (%.1fs): %d calls", r.name, i, float64(wins[i].Start)/1e9, r.vals[i])})
		}
		c.Points += len(s.Dots)
		s.Points = strings.Join(pts, " ")
		c.Series = append(c.Series, s)
	}
	return c
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v int) int {
	if v <= 4 {
		return 4
	}
	p := 1
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
