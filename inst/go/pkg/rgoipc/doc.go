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
// takes an explicit Signature and works on Arrow arrays directly
// (Args.Column gives each argument as an arrow-go array of its declared
// type; the handler builds its result columns with arrow-go's own builders
// and ResultBuilder names them) when a function needs types Func does not
// cover or wants to avoid any copy.
//
// # Wire format
//
// Messages are specified in inst/WIRE.md (in the installed R package,
// system.file("WIRE.md", package = "mangoro")): an envelope holding a
// message type, a function name, an error message and a payload, which is
// an Arrow IPC stream for calls and results and JSON otherwise. The server
// decodes defensively: no length is trusted before it is checked against
// the message, and the Arrow payload is read by a verifying reader that
// aliases the request bytes instead of copying them. Tests talk to a
// server with package rgoipctest.
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
// Go API errors start with "rgoipc: " and wrap a sentinel (ErrDuplicate,
// ErrInvalidSignature, ErrServerClosed). Error replies to clients start
// with the function name and carry a code R classifies them by
// ("bad_arguments", "unknown_function", "panic", ...; WIRE.md lists them).
// A handler that returns an error gets code "handler", or its own with
// Coded; one that panics gets "<fn>: panic: <value>" and code "panic". The
// server keeps serving, as it does after malformed messages.
//
// A registration that fails (an unsupported Go type, a duplicate name) is
// an error from Func or Handle and is also remembered by the Registry: the
// server refuses to listen, and Main exits with the errors on standard
// error, so R's mangoro_server_start() reports them even when the program
// ignored them.
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
// socket and removes the ipc:// socket file. Main serves under RunProcess,
// the process contract R relies on: the ready line, exit when R's end of
// standard input closes, SIGINT and SIGTERM. Main's documentation lists
// the environment variables it reads and what each transport
// authenticates.
package rgoipc
