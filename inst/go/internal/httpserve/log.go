package httpserve

import (
	"log"
	"net/http"
	"time"
)

// LogRequests wraps h so that each request, once answered, writes one line
// to logger:
//
//	GET "/data.csv" 206 1024B 1.204ms 127.0.0.1:51234
//
// The path is quoted as a Go string so that no request can forge log lines.
func LogRequests(h http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			logger.Printf("%s %q %d %dB %.3fms %s", r.Method, r.URL.RequestURI(), status, rec.bytes, ms, r.RemoteAddr)
		}()
		h.ServeHTTP(rec, r)
	})
}

// recorder notes the status and body size written through it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
