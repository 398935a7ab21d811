// Native routine registration: symbols are looked up only through this table.

#include "mangoro.h"
#include <R_ext/Rdynload.h>
#include "shm.h"

SEXP mangoro_c_shm_create(SEXP), mangoro_c_shm_write(SEXP, SEXP, SEXP), mangoro_c_shm_open(SEXP, SEXP),
  mangoro_c_shm_view(SEXP, SEXP, SEXP, SEXP), mangoro_c_shm_unlink(SEXP), mangoro_c_shm_sweep(SEXP),
  mangoro_c_shm_status(void), mangoro_c_lazy_utf8(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP),
  mangoro_c_lazy_materialize(SEXP), mangoro_c_shm_call_payload(SEXP, SEXP, SEXP, SEXP),
  mangoro_c_call_encode(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP),
  mangoro_c_call_fast(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP), mangoro_c_call_reply(SEXP, SEXP), mangoro_c_request_id(SEXP),
  mangoro_c_new_call_id(void), mangoro_c_request_header(SEXP, SEXP, SEXP);


static const R_CallMethodDef call_entries[] = {
  {"mangoro_c_envelope_pack", (DL_FUNC) &mangoro_c_envelope_pack, 4},
  {"mangoro_c_envelope_parse", (DL_FUNC) &mangoro_c_envelope_parse, 2},
  {"mangoro_c_message_decode", (DL_FUNC) &mangoro_c_message_decode, 3},
  {"mangoro_c_message_encode", (DL_FUNC) &mangoro_c_message_encode, 4},
  {"mangoro_c_ipc_write", (DL_FUNC) &mangoro_c_ipc_write, 3},
  {"mangoro_c_arrow_kind", (DL_FUNC) &mangoro_c_arrow_kind, 1},
  {"mangoro_c_ipc_read", (DL_FUNC) &mangoro_c_ipc_read, 3},
  {"mangoro_c_shm_create", (DL_FUNC) &mangoro_c_shm_create, 1},
  {"mangoro_c_shm_write", (DL_FUNC) &mangoro_c_shm_write, 3},
  {"mangoro_c_shm_open", (DL_FUNC) &mangoro_c_shm_open, 2},
  {"mangoro_c_shm_view", (DL_FUNC) &mangoro_c_shm_view, 4},
  {"mangoro_c_shm_unlink", (DL_FUNC) &mangoro_c_shm_unlink, 1},
  {"mangoro_c_shm_sweep", (DL_FUNC) &mangoro_c_shm_sweep, 1},
  {"mangoro_c_shm_status", (DL_FUNC) &mangoro_c_shm_status, 0},
  {"mangoro_c_lazy_utf8", (DL_FUNC) &mangoro_c_lazy_utf8, 7},
  {"mangoro_c_lazy_materialize", (DL_FUNC) &mangoro_c_lazy_materialize, 1},
  {"mangoro_c_shm_call_payload", (DL_FUNC) &mangoro_c_shm_call_payload, 4},
  {"mangoro_c_call_encode", (DL_FUNC) &mangoro_c_call_encode, 8},
  {"mangoro_c_call_fast", (DL_FUNC) &mangoro_c_call_fast, 6},
  {"mangoro_c_call_reply", (DL_FUNC) &mangoro_c_call_reply, 2},
  {"mangoro_c_request_id", (DL_FUNC) &mangoro_c_request_id, 1},
  {"mangoro_c_new_call_id", (DL_FUNC) &mangoro_c_new_call_id, 0},
  {"mangoro_c_request_header", (DL_FUNC) &mangoro_c_request_header, 3},
  {NULL, NULL, 0}
};

void R_init_mangoro(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_entries, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
  mangoro_init_altrep_shm(dll);
  mangoro_init_altrep_string(dll);
}
