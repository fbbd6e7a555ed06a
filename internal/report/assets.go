package report

import _ "embed"

//go:embed assets/uPlot.LICENSE
var uPlotLicense string

// UPlotJS returns the vendored uPlot library (dist/uPlot.iife.min.js, version
// UPlotVersion), so the web UI serves the same build the HTML report inlines.
func UPlotJS() string { return uPlotJS }

// UPlotCSS returns the vendored uPlot style sheet (dist/uPlot.min.css).
func UPlotCSS() string { return uPlotCSS }

// UPlotLicense returns uPlot's licence text (MIT).
func UPlotLicense() string { return uPlotLicense }
