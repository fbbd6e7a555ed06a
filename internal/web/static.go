package web

import (
	"embed"
	"net/http"

	"github.com/horde-load/horde/internal/report"
)

// uiFS holds the page and its script and style sheet. uPlot comes from
// internal/report, which vendors it for the HTML report (one copy).
//
//go:embed ui/index.html ui/app.js ui/app.css
var uiFS embed.FS

type asset struct {
	contentType string
	body        string
}

// assets are the files under /static/, read once.
var assets = func() map[string]asset {
	read := func(name string) string {
		b, err := uiFS.ReadFile("ui/" + name)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		return string(b)
	}
	return map[string]asset{
		"app.js":            {"text/javascript; charset=utf-8", read("app.js")},
		"app.css":           {"text/css; charset=utf-8", read("app.css")},
		"uPlot.iife.min.js": {"text/javascript; charset=utf-8", report.UPlotJS()},
		"uPlot.min.css":     {"text/css; charset=utf-8", report.UPlotCSS()},
		"uPlot.LICENSE":     {"text/plain; charset=utf-8", report.UPlotLicense()},
	}
}()

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	// The assets change only with the binary; a reload revalidates the page,
	// which names them, so a short cache is enough.
	w.Header().Set("Cache-Control", "no-cache")
	writeText(w, http.StatusOK, a.contentType, a.body)
}
