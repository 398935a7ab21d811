#!/bin/sh
# Instruction counts (callgrind, noise-free on a shared machine) of making
# 1e5 strings: full materialization of a lazy vector (src/altrep_string.c)
# against R_Unserialize of the same vector. Run from the repository root with
# mangoro installed (R_LIBS): sh bench/lazy_callgrind.sh
set -e
dir=$(mktemp -d)
cat > "$dir/op.R" <<'R'
source("tests/testthat/helper-arrow-utf8.R"); ns <- asNamespace("mangoro")
n <- 1e5; x <- sprintf("s%07d-%s", seq_len(n), rep_len(c("alpha", "beta", "gamma"), n))
b <- arrow_utf8_buffers(x); ser <- serialize(x, NULL); rm(x); invisible(gc())
if (Sys.getenv("OP") == "lazy") {
  v <- .Call(ns$mangoro_c_lazy_materialize, ns$lazy_utf8(b$bytes, b$offsets, b$data, b$data_len, b$n, validity = b$validity))
} else v <- unserialize(ser)
R
for op in lazy:mangoro_c_lazy_materialize unserialize:R_Unserialize; do
  name=${op%%:*}; fn=${op#*:}
  OP=$name R -d "valgrind --tool=callgrind --collect-atstart=no --toggle-collect=$fn --callgrind-out-file=$dir/$name.out" \
    --vanilla -f "$dir/op.R" > "$dir/$name.log" 2>&1
  echo "$name: $(grep 'Collected' "$dir/$name.log" | sed 's/.*: //') instructions for 1e5 strings"
done
rm -rf "$dir"
