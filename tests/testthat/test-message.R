test_that("pack/unpack int32 cover the full unsigned 32-bit range", {
  cases <- c(0, 1, 255, 256, 258, 65535, 2^31 - 1, 2^31, 4294967295)
  for (x in cases) {
    raw4 <- mangoro_pack_int32(x)
    expect_length(raw4, 4L)
    expect_identical(mangoro_unpack_int32(raw4), x)
  }
  expect_identical(mangoro_pack_int32(258L), as.raw(c(0, 0, 1, 2)))
  expect_identical(mangoro_pack_int32(4294967295), as.raw(c(255, 255, 255, 255)))
  # same bytes as R's own big-endian writer for the signed range
  expect_identical(mangoro_pack_int32(123456789), writeBin(123456789L, raw(), endian = "big"))
})

test_that("pack_int32 rejects what does not fit", {
  for (bad in list(-1, NA_real_, NA_integer_, 1.5, 2^32, "1", c(1, 2), NULL, Inf)) {
    expect_error(mangoro_pack_int32(bad), class = "mangoro_input_error")
  }
  expect_error(mangoro_unpack_int32(as.raw(1:3)), class = "mangoro_input_error")
  expect_error(mangoro_unpack_int32(1:4), class = "mangoro_input_error")
})

envelope_cases <- function() {
  list(
    list(0L, "", "", NULL),
    list(1L, "add", "", as.raw(1:10)),
    list(2L, "echoString", "", as.raw(sample.int(256, 1000, TRUE) - 1L)),
    list(3L, "f", "add: argument \"x\": expected float64, got string", NULL),
    list(3L, "\u00e9t\u00e9", "erreur \u2013 \u00fcnicode \U0001F600", raw(0)),
    list(4L, "", "", charToRaw("{}"))
  )
}

test_that("C and pure-R envelope builders give identical bytes", {
  for (case in envelope_cases()) {
    c_bytes <- do.call(mangoro:::envelope_pack, case)
    r_bytes <- do.call(envelope_pack_r, case)
    expect_identical(c_bytes, r_bytes)
    expect_identical(c_bytes[1], as.raw(case[[1]]))
  }
  big <- as.raw(rep_len(0:255, 3e6))
  expect_identical(mangoro:::envelope_pack(2L, "x", "", big), envelope_pack_r(2L, "x", "", big))
})

test_that("C and pure-R parsers agree and round-trip", {
  for (case in envelope_cases()) {
    bytes <- do.call(mangoro:::envelope_pack, case)
    p_c <- mangoro_rpc_parse_response(bytes)
    p_r <- envelope_parse_r(bytes)
    expect_identical(p_c, p_r)
    expect_identical(p_c$type, case[[1]])
    expect_identical(p_c$name, enc2utf8(case[[2]]))
    expect_identical(p_c$error, enc2utf8(case[[3]]))
    expect_identical(p_c$payload, if (is.null(case[[4]])) raw(0) else case[[4]])
    expect_identical(Encoding(p_c$error)[nzchar(p_c$error) & grepl("[^ -~]", p_c$error)],
                     rep("UTF-8", sum(nzchar(p_c$error) & grepl("[^ -~]", p_c$error))))
    # offset/length form points into the original vector
    nc <- .Call(mangoro:::mangoro_c_envelope_parse, bytes, FALSE)
    expect_identical(bytes[nc$offset + seq_len(nc$length)], p_c$payload)
  }
})

test_that("truncated and malformed envelopes are protocol errors", {
  good <- mangoro:::envelope_pack(1L, "add", "oops", as.raw(1:5))
  for (n in 0:8) {
    expect_error(mangoro_rpc_parse_response(good[seq_len(n)]), class = "mangoro_protocol_error")
    expect_error(envelope_parse_r(good[seq_len(n)]), class = "mangoro_protocol_error")
  }
  # cut inside the name or the error: the lengths overrun
  for (n in c(9, 10, 12, 13, 15)) {
    expect_error(mangoro_rpc_parse_response(good[seq_len(n)]), class = "mangoro_protocol_error")
  }
  # name length that would overflow a signed 32-bit offset
  huge <- c(as.raw(2), mangoro_pack_int32(4294967295), raw(20))
  expect_error(mangoro_rpc_parse_response(huge), "name length", class = "mangoro_protocol_error")
  bad_type <- good; bad_type[1] <- as.raw(9)
  expect_error(mangoro_rpc_parse_response(bad_type), "type byte", class = "mangoro_protocol_error")
  nul <- envelope_pack_r(3L, "ab", "", NULL); nul[6] <- as.raw(0)
  expect_error(mangoro_rpc_parse_response(nul), "NUL", class = "mangoro_protocol_error")
  expect_error(mangoro_rpc_parse_response("not raw"), class = "mangoro_protocol_error")
})

test_that("random garbage never crashes the parser", {
  set.seed(42)
  outcomes <- character()
  for (i in 1:1500) {
    if (i %% 2 == 0) {
      # a valid message, then one byte changed and maybe truncated
      x <- mangoro:::envelope_pack(sample(0:4, 1), strrep("n", sample(0:5, 1)),
                                   strrep("e", sample(0:5, 1)), as.raw(sample.int(256, sample(0:8, 1), TRUE) - 1L))
      at <- sample(length(x), 1)
      x[at] <- as.raw(sample(0:12, 1))
      if (i %% 3 == 0) x <- x[seq_len(sample(0:length(x), 1))]
    } else {
      x <- as.raw(sample.int(256, sample(0:40, 1), TRUE) - 1L)
    }
    res <- tryCatch(mangoro_rpc_parse_response(x), mangoro_protocol_error = function(e) "error")
    outcomes[i] <- if (identical(res, "error")) "error" else "ok"
    if (!identical(res, "error")) expect_identical(res, envelope_parse_r(x))
  }
  expect_true(all(c("ok", "error") %in% outcomes))
})

test_that("manifest and call messages have the documented layout", {
  expect_identical(mangoro_rpc_manifest_request(), as.raw(c(0, 0, 0, 0, 0, 0, 0, 0, 0)))
  msg <- mangoro_rpc_call_message("add", data.frame(x = c(1.5, NA), y = 2))
  expect_identical(msg[1:12], c(as.raw(1), mangoro_pack_int32(3), charToRaw("add"), mangoro_pack_int32(0)))
  parsed <- mangoro_rpc_parse_response(msg)
  expect_identical(parsed$type, 1L)
  expect_identical(parsed$name, "add")
  expect_identical(mangoro_ipc_read(parsed$payload), data.frame(x = c(1.5, NA), y = c(2, 2)))
  # an Arrow IPC stream ends with the end-of-stream marker
  n <- length(msg)
  expect_identical(msg[(n - 7):n], as.raw(c(255, 255, 255, 255, 0, 0, 0, 0)))
  expect_error(mangoro_rpc_call_message(NA_character_, data.frame(x = 1)), class = "mangoro_input_error")
  expect_error(mangoro_rpc_call_message("", data.frame(x = 1)), class = "mangoro_input_error")
})

test_that("golden envelopes written by the Go tests parse and re-pack identically", {
  dir <- system.file("go", "pkg", "rgoipc", "testdata", package = "mangoro")
  files <- list.files(dir, pattern = "\\.bin$", full.names = TRUE)
  expect_gt(length(files), 0L)
  for (f in files) {
    bytes <- readBin(f, "raw", file.size(f))
    p <- mangoro_rpc_parse_response(bytes)
    expect_identical(p, envelope_parse_r(bytes), info = basename(f))
    expect_identical(mangoro:::envelope_pack(p$type, p$name, p$error, p$payload), bytes,
                     info = basename(f))
    if (p$type %in% c(1L, 2L) && length(p$payload)) {
      expect_s3_class(mangoro_ipc_read(p$payload), "data.frame")
    }
    if (p$type %in% c(0L, 4L) && length(p$payload)) {
      expect_type(mangoro:::json_parse(p$payload), "list")
    }
  }
})

test_that("the JSON reader handles the manifest format", {
  txt <- paste0(
    '{"add":{"Args":[{"Name":"x","Type":{"Type":"float64","Nullable":true,',
    '"StructDef":null,"ListSchema":null},"Optional":false,"Default":null}],',
    '"ReturnType":{"Type":"timestamp","Unit":"us","TimeZone":"Europe/Paris"},',
    '"Vectorized":true,"Metadata":{"description":"x \\"plus\\" y\\n\\u00e9\\ud83d\\ude00\\/\\\\"}},',
    '"n":[1,-2.5,3e2,0],"e":{},"a":[]}'
  )
  m <- mangoro:::json_parse(txt)
  expect_identical(m$add$Args[[1]]$Name, "x")
  expect_null(m$add$Args[[1]]$Type$StructDef)
  expect_true("StructDef" %in% names(m$add$Args[[1]]$Type))
  expect_false(m$add$Args[[1]]$Optional)
  expect_true(m$add$Vectorized)
  expect_identical(m$add$Metadata$description, "x \"plus\" y\n\u00e9\U0001F600/\\")
  expect_identical(m$n, list(1L, -2.5, 300, 0L)) # jsonlite: whole numbers are integers
  expect_identical(m$e, structure(list(), names = character()))
  expect_identical(m$a, list())
  # Refused: malformed JSON, raw control characters in strings, \u0000
  # (R strings cannot hold it; jsonlite would cut the string), NUL bytes,
  # invalid UTF-8.
  bad <- c('{"a":1', '{"a" 1}', '[1,]', '{"a":tru}', '"\\x"', '{} x', '', '{"a":01}',
           '{"a":"x\ty"}', '{"a":"x\ny"}', '{"a":"x\\u0000y"}', '["\\\\\\u0000"]')
  for (b in bad) {
    expect_error(mangoro:::json_parse(b), class = "mangoro_protocol_error", label = b)
  }
  expect_identical(mangoro:::json_parse('["\\\\u0000"]'), list("\\u0000")) # an escaped backslash
  expect_error(mangoro:::json_parse(c(charToRaw('{"a":"'), as.raw(0), charToRaw('"}'))),
               "NUL", class = "mangoro_protocol_error")
  expect_error(mangoro:::json_parse(as.raw(c(0x22, 0xff, 0x22))), "UTF-8", class = "mangoro_protocol_error")
  expect_identical(mangoro:::json_parse(charToRaw('{"a":[1,2]}'), simplify = TRUE), list(a = 1:2))
  # A file name or URL is text, never read (as jsonlite::fromJSON() would).
  f <- withr::local_tempfile(lines = '{"a":1}')
  expect_error(mangoro:::json_parse(f), class = "mangoro_protocol_error")
})

test_that("a manifest reply with malformed JSON is a protocol error", {
  skip_if_no_go()
  # A rep socket that answers every request with a manifest envelope (type
  # 0, empty name and error) whose JSON is cut short.
  src <- withr::local_tempfile(fileext = ".go", lines = c(
    "package main",
    "import (",
    "\t\"os\"",
    "\t\"go.nanomsg.org/mangos/v3/protocol/rep\"",
    "\t_ \"go.nanomsg.org/mangos/v3/transport/ipc\"",
    ")",
    "func main() {",
    "\tsock, err := rep.NewSocket()",
    "\tif err != nil || sock.Listen(os.Args[1]) != nil {",
    "\t\tos.Exit(1)",
    "\t}",
    "\treply := append(make([]byte, 9), `{\"add\": {\"Args\": [`...)",
    "\tfor {",
    "\t\tif _, err := sock.Recv(); err != nil || sock.Send(reply) != nil {",
    "\t\t\treturn",
    "\t\t}",
    "\t}",
    "}"))
  bin <- test_program_file(src)
  url <- create_ipc_path()
  p <- processx::process$new(bin, url, cleanup = TRUE)
  withr::defer(p$kill())
  sock <- nanonext::socket("req", dial = url) # dials until the program listens
  withr::defer(close(sock))
  err <- expect_error(mangoro_rpc_get_manifest(sock, timeout = 10000), class = "mangoro_protocol_error")
  expect_match(conditionMessage(err), "Malformed JSON", fixed = TRUE)
  expect_error(mangoro_rpc_get_manifest(sock, timeout = 10000, simplify = FALSE),
               class = "mangoro_protocol_error")
})

test_that("function names are checked before anything is sent", {
  df <- data.frame(x = 1)
  ok <- strrep("a", 256)
  expect_identical(mangoro_rpc_parse_response(mangoro_rpc_call_message(ok, df))$name, ok)
  expect_error(mangoro_rpc_call_message(strrep("a", 257), df), "256 bytes", class = "mangoro_input_error")
  # the limit counts UTF-8 bytes: 128 x e-acute is 256 bytes, 129 is 258
  expect_identical(mangoro_rpc_parse_response(mangoro_rpc_call_message(strrep("\u00e9", 128), df))$name,
                   strrep("\u00e9", 128))
  expect_error(mangoro_rpc_call_message(strrep("\u00e9", 129), df), class = "mangoro_input_error")
  not_utf8 <- rawToChar(as.raw(c(0x61, 0xff, 0x62)))
  Encoding(not_utf8) <- "UTF-8"
  expect_error(mangoro_rpc_call_message(not_utf8, df), "UTF-8", class = "mangoro_input_error")
  for (bad in list(NA_character_, "", c("a", "b"), 1, NULL)) {
    expect_error(mangoro_rpc_call_message(bad, df), class = "mangoro_input_error")
  }
})

test_that("an error reply's JSON payload gives the remote error its code", {
  reply <- function(payload) mangoro:::envelope_pack(3L, "f", "f: it broke", payload)
  code_of <- function(payload) {
    e <- expect_error(mangoro:::message_result(reply(payload), "f"), class = "mangoro_remote_error")
    expect_identical(e$remote_message, "f: it broke")
    e$code
  }
  expect_identical(code_of(charToRaw('{"code":"bad_arguments"}')), "bad_arguments")
  expect_identical(code_of(charToRaw('{"code":"panic","more":[1,2]}')), "panic")
  # old servers send nothing; anything unreadable is "other", still a remote error
  expect_identical(code_of(NULL), "other")
  for (junk in c('{"code":', "[1,2]", '{"code":7}', '"panic"', '{"other":"x"}', "\xff")) {
    expect_identical(code_of(charToRaw(junk)), "other", label = junk)
  }
})

test_that("C entry points give error strings, raised as classed errors in R", {
  expect_type(.Call(mangoro:::mangoro_c_envelope_pack, 300L, "", "", NULL), "character")
  expect_type(.Call(mangoro:::mangoro_c_envelope_pack, 1L, "", "", "x"), "character")
  expect_type(.Call(mangoro:::mangoro_c_ipc_write, "x", list(), 0), "character")
  expect_type(.Call(mangoro:::mangoro_c_message_encode, 1L, "f", list(a = 1:2, b = 1:3), 2), "character")
  expect_error(mangoro:::envelope_pack(300L), class = "mangoro_input_error")
  # a frame whose columns disagree in length, through the C writer
  cols <- structure(list(a = 1:2, b = 1:3), class = "data.frame", row.names = c(NA, -2L))
  expect_error(mangoro_rpc_call_message("f", cols), "different length", class = "mangoro_input_error")
  expect_error(mangoro_rpc_parse_response("not raw"), "not a raw vector", class = "mangoro_protocol_error")
})

test_that("a call is one native encode and a reply one native decode", {
  df <- data.frame(x = c(1.5, NA), f = factor(c("a", NA)))
  msg <- mangoro_rpc_call_message("echo", df)
  expect_identical(msg, c(mangoro:::envelope_pack(1L, "echo"), mangoro_ipc_write(df)))
  reply <- msg
  reply[1] <- as.raw(2)
  expect_identical(mangoro:::message_result(reply, "echo"), df)
  # nanoarrow's path for what the C codec does not cover, chosen inside
  nested <- data.frame(id = 1:2)
  nested$l <- list(1:2, 3L)
  msg <- mangoro_rpc_call_message("echo", nested)
  expect_identical(mangoro_rpc_parse_response(msg)$payload, mangoro_ipc_write(nested))
})
