package httpload

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"
)

func encodeFor(t testing.TB, enc string, b []byte) []byte {
	var out bytes.Buffer
	switch enc {
	case "gzip":
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
	case "br":
		w := brotli.NewWriter(&out)
		w.Write(b)
		w.Close()
	case "zstd":
		w, err := zstd.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.Close()
	}
	return out.Bytes()
}

// FuzzDecode: a body compressed by each encoder comes back as it was (or
// fails the size limit when longer), and arbitrary bytes under any
// Content-Encoding either decode within the limit or fail, never panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "a", `{"ok":true}`, "hello hello hello hello"} {
		for _, enc := range []string{"gzip", "br", "zstd", "deflate", "gzip, br", "identity", "x-gzip"} {
			f.Add([]byte(s), enc, false)
			f.Add([]byte(s), enc, true)
		}
	}
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte, enc string, encodeFirst bool) {
		body := data
		if encodeFirst {
			switch enc {
			case "gzip", "br", "zstd":
				body = encodeFor(t, enc, data)
			default:
				return
			}
		}
		resp := &fasthttp.Response{}
		resp.Header.Set("Content-Encoding", enc)
		resp.SetBody(body)
		err := decode(resp, limit)
		if encodeFirst {
			if len(data) > limit {
				if err == nil {
					t.Fatalf("%s: %d decoded bytes passed the %d limit", enc, len(data), limit)
				}
				return
			}
			if err != nil || !bytes.Equal(resp.Body(), data) {
				t.Fatalf("%s round trip: err %v, got %q, want %q", enc, err, resp.Body(), data)
			}
			return
		}
		if err == nil && len(resp.Body()) > limit {
			t.Fatalf("%s: %d decoded bytes passed the %d limit", enc, len(resp.Body()), limit)
		}
	})
}
