package httpserve

import (
	"errors"
	"syscall"
)

// wsaeaddrinuse is Winsock's "address already in use"; syscall.EADDRINUSE
// is a value Go invented for Windows and bind never returns it.
const wsaeaddrinuse = syscall.Errno(10048)

func isAddrInUse(err error) bool {
	return errors.Is(err, wsaeaddrinuse) || errors.Is(err, syscall.EADDRINUSE)
}
