// Package rgoipc serves Go functions to R over NNG (mangos) with Arrow IPC
// data. It is the Go half of the mangoro R package.
//
// # Shape
//
// The package reads like net/http. A Handler (or HandlerFunc) receives the
// validated arguments of one call as an Arrow record (Args) plus a context
// and returns a result record. A Registry maps function names to handlers
// and their Signatures, refuses duplicate names (ErrDuplicate), and
// generates the manifest that R uses to discover functions. A Server
// answers requests on a mangos REP socket; Main wraps it all for a
// program's main function:
//
//	func main() {
//		reg := rgoipc.NewRegistry()
//		err := reg.Func("add", func(x, y []float64) []float64 {
//			out := make([]float64, len(x))
//			for i := range x {
//				out[i] = x[i] + y[i]
//			}
//			return out
//		}, rgoipc.ArgNames("x", "y"), rgoipc.Describe("Element-wise x + y"))
//		if err != nil {
//			log.Fatal(err)
//		}
//		rgoipc.Main(reg) // URL from os.Args[1]
//	}
//
// Registry.Func derives the signature from Go types; Registry.HandleFunc
// takes an explicit Signature and works on Arrow arrays directly (typed
// getters on Args, ResultBuilder for the result) when a function needs
// types Func does not cover or wants to avoid any copy.
//
// # Wire format
//
// Every message is an Envelope:
//
//	[type:1][name_len:uint32 BE][name][error_len:uint32 BE][error][payload]
//
// with types MsgManifest (0), MsgCall (1), MsgResult (2), MsgError (3) and
// MsgInfo (4). A call's payload is one Arrow IPC stream whose columns are
// the arguments; a result's payload is a complete Arrow IPC stream, ending
// with the end-of-stream marker. Manifest and info replies carry JSON.
// DecodeEnvelope never trusts a length it has not checked against the
// message; the Arrow payload is decoded by a reader that also checks every
// length and buffer before use, aliasing the request bytes instead of
// copying them.
//
// # Validation
//
// Arguments are checked against the signature before the handler runs:
// names (columns may come in any order; unnamed ones fill declared
// arguments in order), count, and types. An R integer (int32) column is
// accepted where float64 is declared and cast, NAs kept. Omitted optional
// arguments are filled with their default. A mismatch never reaches the
// handler; the client gets an error such as
//
//	add: argument "y": expected float64, got string
//	unknown function "foo"; available: add, echoString
//
// Types: int32, int64, float64, string, bool, date32, timestamp (unit and
// time zone kept), binary, dictionary (R factors: int32 indices, string
// levels), list, struct, and any (passed through unchecked).
//
// # Errors
//
// Go API errors start with "rgoipc: " and wrap a sentinel (ErrMalformed,
// ErrDuplicate, ErrInvalidSignature, ErrServerClosed, ...). Error replies to
// clients start with the function name. A handler that returns an error or
// panics produces an error reply ("<fn>: panic: <value>"); the server keeps
// serving. So do malformed envelopes and Arrow streams.
//
// # Memory
//
// The arguments (Args and every array reached from it) belong to the
// server and are released after the reply is written: a handler must not
// release them, and must Retain any it returns or keeps. The record a
// handler returns passes to the server, which releases it after writing
// the reply. Arrays may alias the request message, so nothing from Args
// may be used after the handler returns. Tests run whole calls, error paths
// and panics included, against memory.NewCheckedAllocator.
//
// # Concurrency and lifecycle
//
// The server runs WithWorkers(n) workers, each receiving and replying on
// its own mangos context, so concurrent replies never reach the wrong
// caller. Shutdown stops receiving, lets calls in flight finish, closes the
// socket and removes the ipc:// socket file. Main also handles SIGINT and
// SIGTERM, writes the ready line for MANGORO_READY=stdout, exits when
// standard input closes for MANGORO_PARENT=stdin (so a server never
// outlives its R session), and honours MANGORO_MAX_MESSAGE_SIZE.
package rgoipc
