package httpload

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"
)

// AcceptEncoding is what a request asks for unless its scenario sets its
// own Accept-Encoding or turns compression off: what Locust's session and
// k6 send.
const AcceptEncoding = "gzip, deflate"

var (
	decodeBufs  sync.Pool // *bytes.Buffer
	gzipReaders sync.Pool // *gzip.Reader
	zstdReaders sync.Pool // *zstd.Decoder
)

// decode replaces a compressed response body by its decoded form, at most
// limit bytes. Unknown encodings are left as they came. The
// Content-Encoding header is kept, as k6 and Locust's requests keep it.
func decode(resp *fasthttp.Response, limit int) error {
	ce := resp.Header.ContentEncoding()
	if len(ce) == 0 || len(resp.Body()) == 0 {
		return nil
	}
	enc := strings.ToLower(strings.TrimSpace(string(ce)))
	if enc == "identity" {
		return nil
	}
	if strings.IndexByte(enc, ',') >= 0 {
		// Several codings, applied in order: undo them from the last.
		parts := strings.Split(enc, ",")
		for i := len(parts) - 1; i >= 0; i-- {
			if err := decodeOne(resp, strings.TrimSpace(parts[i]), limit); err != nil {
				return err
			}
		}
		return nil
	}
	return decodeOne(resp, enc, limit)
}

func decodeOne(resp *fasthttp.Response, enc string, limit int) error {
	body := resp.Body()
	src := bytes.NewReader(body)
	var r io.Reader
	var release func()
	switch enc {
	case "gzip", "x-gzip":
		zr, err := pooledReader(&gzipReaders, src, gzip.NewReader)
		if err != nil {
			return fmt.Errorf("gzip body: %v", err)
		}
		r, release = zr, func() { gzipReaders.Put(zr) }
	case "deflate":
		// HTTP's deflate is zlib; some servers send raw deflate instead.
		if len(body) >= 2 && (uint16(body[0])<<8|uint16(body[1]))%31 == 0 && body[0]&0x0f == 8 {
			zr, err := zlib.NewReader(src)
			if err != nil {
				return fmt.Errorf("deflate body: %v", err)
			}
			r, release = zr, func() {}
		} else {
			fr := flate.NewReader(src)
			r, release = fr, func() { fr.Close() }
		}
	case "br":
		r, release = brotli.NewReader(src), func() {}
	case "zstd":
		zd, err := pooledReader(&zstdReaders, src, newZstdReader)
		if err != nil {
			return fmt.Errorf("zstd body: %v", err)
		}
		r, release = zd, func() { zd.Reset(nil); zstdReaders.Put(zd) }
	default:
		return nil
	}
	buf, _ := decodeBufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r, int64(limit)+1))
	release()
	if err == nil && n > int64(limit) {
		err = fmt.Errorf("decoded body above %d bytes", limit)
	}
	if err != nil {
		decodeBufs.Put(buf)
		return fmt.Errorf("%s body: %v", enc, err)
	}
	resp.SetBody(buf.Bytes())
	if buf.Cap() <= 1<<20 {
		decodeBufs.Put(buf)
	}
	return nil
}

// pooledReader takes a decompressing reader from pool and resets it to
// read src, or makes one with newReader when the pool is empty.
func pooledReader[R interface{ Reset(io.Reader) error }](pool *sync.Pool, src io.Reader, newReader func(io.Reader) (R, error)) (R, error) {
	v := pool.Get()
	if v == nil {
		return newReader(src)
	}
	r := v.(R)
	if err := r.Reset(src); err != nil {
		pool.Put(r)
		var zero R
		return zero, err
	}
	return r, nil
}

func newZstdReader(src io.Reader) (*zstd.Decoder, error) {
	// RFC 9659: HTTP's zstd uses windows of at most 8 MB; the decoded size
	// is capped by the reader decodeOne reads through.
	return zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(8<<20))
}
