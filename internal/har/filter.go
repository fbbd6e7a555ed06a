// This file decides which entries a scenario keeps, and which headers.

package har

import (
	"encoding/base64"
	"mime"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// staticTypes are Chromium's resource types of static assets.
var staticTypes = map[string]bool{
	"image": true, "stylesheet": true, "script": true, "font": true, "media": true,
	"texttrack": true, "manifest": true,
}

// staticExts are file extensions of static assets.
var staticExts = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".ico": true,
	".webp": true, ".avif": true, ".bmp": true, ".css": true, ".js": true, ".mjs": true,
	".map": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".mp4": true, ".webm": true, ".mp3": true, ".ogg": true, ".wav": true, ".vtt": true,
	".webmanifest": true,
}

// isStatic reports whether an entry fetched a static asset: by Chromium's
// resource type, the response's MIME type or the URL's extension.
func isStatic(e *Entry) bool {
	if staticTypes[e.ResourceType] {
		return true
	}
	mt := mediaType(e.Response.Content.MimeType)
	if mt == "" {
		mt = mediaType(header(e.Response.Headers, "Content-Type"))
	}
	switch {
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "font/"), strings.HasPrefix(mt, "audio/"),
		strings.HasPrefix(mt, "video/"), mt == "text/css", strings.Contains(mt, "javascript"),
		mt == "application/font-woff", mt == "application/x-font-ttf", mt == "application/manifest+json":
		return true
	}
	if e.URL != nil && staticExts[strings.ToLower(path.Ext(e.URL.Path))] {
		return true
	}
	return false
}

// isNavigation reports whether an entry loaded a document (a page).
func isNavigation(e *Entry) bool {
	if e.ResourceType != "" {
		return e.ResourceType == "document"
	}
	return e.Request.Method == "GET" && mediaType(e.Response.Content.MimeType) == "text/html"
}

// isPreflight reports a CORS preflight, which the browser sends by itself.
func isPreflight(e *Entry) bool {
	return e.Request.Method == "OPTIONS" && header(e.Request.Headers, "Access-Control-Request-Method") != ""
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.TrimSpace(mt)
	}
	return strings.ToLower(mt)
}

func header(hs []NameValue, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// dropHeaders are request headers horde's client sets itself, or that
// describe the recording browser rather than the user's request.
var dropHeaders = map[string]bool{
	"host": true, "content-length": true, "connection": true, "keep-alive": true,
	"accept-encoding": true, "transfer-encoding": true, "te": true, "trailer": true,
	"upgrade": true, "proxy-connection": true, "proxy-authorization": true,
	"cookie":                    true, // the user's cookie jar sends them (below, cookies: for the others)
	"upgrade-insecure-requests": true, "priority": true, "dnt": true,
	"referer": true, "origin": true, // they name the recorded host
	"if-none-match": true, "if-modified-since": true, // the browser's cache; replayed, they turn 200s into 304s
	"cache-control": true, "pragma": true,
	"purpose": true, "sec-purpose": true, "x-client-data": true,
}

// keptHeader reports whether a recorded request header belongs in the
// scenario (HTTP/2 pseudo-headers and sec-* are the browser's).
func keptHeader(name string) bool {
	n := strings.ToLower(name)
	return isToken(n) && !strings.HasPrefix(n, "sec-") && !dropHeaders[n]
}

// origin is scheme://host[:port] of a URL, with default ports dropped.
func origin(u *url.URL) string {
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	if scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	} else if scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	}
	return scheme + "://" + host
}

// matchHost reports whether the host flag value h (host, host:port or a
// URL) names the origin o.
func matchHost(h, o string) bool {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), "/")
	if strings.Contains(h, "://") {
		if u, err := url.Parse(h); err == nil {
			return origin(u) == o
		}
		return false
	}
	_, hostport, _ := strings.Cut(o, "://")
	if hostport == h {
		return true
	}
	// a host without a port matches it on any port
	hostOnly := hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		hostOnly = hostport[:i]
	}
	return hostOnly == h
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hexRE  = regexp.MustCompile(`^[0-9a-fA-F]{16,}$`)
	numRE  = regexp.MustCompile(`^[0-9]+$`)
	// long tokens with letters and digits (base64url ids, ULIDs, ...)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{20,}$`)
	digitRE = regexp.MustCompile(`[0-9]`)
)

// isID reports whether a path segment or query value is an identifier:
// a number, a UUID, a long hex string or a long token with digits in it.
func isID(s string) bool {
	return numRE.MatchString(s) || uuidRE.MatchString(s) || hexRE.MatchString(s) ||
		tokenRE.MatchString(s) && digitRE.MatchString(s)
}

// idKey reports whether a JSON key names an identifier.
func idKey(k string) bool {
	l := strings.ToLower(k)
	return l == "id" || l == "uuid" || l == "key" || strings.HasSuffix(l, "_id") || strings.HasSuffix(l, "-id") ||
		strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "ID") || strings.HasSuffix(l, "uuid")
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
