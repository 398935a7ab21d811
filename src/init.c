// Native routine registration: symbols are looked up only through this table.

#include "mangoro.h"
#include <R_ext/Rdynload.h>

static const R_CallMethodDef call_entries[] = {
  {"mangoro_c_envelope_pack", (DL_FUNC) &mangoro_c_envelope_pack, 4},
  {"mangoro_c_envelope_parse", (DL_FUNC) &mangoro_c_envelope_parse, 2},
  {"mangoro_c_message_decode", (DL_FUNC) &mangoro_c_message_decode, 2},
  {"mangoro_c_message_encode", (DL_FUNC) &mangoro_c_message_encode, 4},
  {"mangoro_c_ipc_write", (DL_FUNC) &mangoro_c_ipc_write, 3},
  {"mangoro_c_arrow_kind", (DL_FUNC) &mangoro_c_arrow_kind, 1},
  {"mangoro_c_ipc_read", (DL_FUNC) &mangoro_c_ipc_read, 3},
  {NULL, NULL, 0}
};

void R_init_mangoro(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_entries, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
}
