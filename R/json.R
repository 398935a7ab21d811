# A small, strict JSON reader for manifest and info replies (jsonlite is not a
# dependency). The text is split into tokens with one vectorised regex, then
# a recursive-descent parser walks the tokens. Objects become named lists,
# arrays lists, null NULL, true/false logicals, numbers doubles.

json_token_re <- paste0(
  '"(?:[^"\\\\]|\\\\.)*"',                                  # string
  '|-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?', # number
  '|true|false|null|[][{}:,]'                               # literals, punctuation
)

json_abort <- function(what, text) {
  mangoro_abort(
    c(sprintf("Malformed JSON from the server: %s.", what),
      sprintf("Text starts: %s", substr(text, 1L, 80L))),
    class = "mangoro_protocol_error"
  )
}

json_parse <- function(text) {
  if (is.raw(text)) text <- rawToChar(text)
  Encoding(text) <- "UTF-8"
  if (!validUTF8(text)) json_abort("not valid UTF-8", "")
  m <- gregexpr(json_token_re, text, perl = TRUE)[[1L]]
  if (m[1L] == -1L) json_abort("no JSON value", text)
  tokens <- regmatches(text, list(m))[[1L]]
  # Everything between tokens must be JSON whitespace, else it is garbage.
  gaps <- regmatches(text, list(m), invert = TRUE)[[1L]]
  if (any(grepl("[^ \t\r\n]", gaps))) json_abort("unexpected characters", text)

  pos <- 1L
  n <- length(tokens)
  peek <- function() if (pos <= n) tokens[[pos]] else ""
  take <- function(expected = NULL) {
    if (pos > n) json_abort("unexpected end of input", text)
    tok <- tokens[[pos]]
    if (!is.null(expected) && tok != expected) {
      json_abort(sprintf("expected '%s' but found '%s'", expected, substr(tok, 1L, 20L)), text)
    }
    pos <<- pos + 1L
    tok
  }
  value <- function() {
    tok <- take()
    first <- substr(tok, 1L, 1L)
    switch(
      first,
      "{" = {
        out <- list()
        keys <- character()
        if (peek() == "}") { take(); return(structure(list(), names = character())) }
        repeat {
          key <- take()
          if (substr(key, 1L, 1L) != '"') json_abort("object keys must be strings", text)
          take(":")
          keys <- c(keys, json_string(key, text))
          out[length(keys)] <- list(value())
          sep <- take()
          if (sep == "}") break
          if (sep != ",") json_abort("expected ',' or '}' in an object", text)
        }
        names(out) <- keys
        out
      },
      "[" = {
        out <- list()
        if (peek() == "]") { take(); return(out) }
        repeat {
          out[length(out) + 1L] <- list(value())
          sep <- take()
          if (sep == "]") break
          if (sep != ",") json_abort("expected ',' or ']' in an array", text)
        }
        out
      },
      '"' = json_string(tok, text),
      "t" = TRUE,
      "f" = FALSE,
      "n" = NULL,
      "-" = ,
      "0" = , "1" = , "2" = , "3" = , "4" = , "5" = , "6" = , "7" = , "8" = , "9" = as.numeric(tok),
      json_abort(sprintf("unexpected '%s'", tok), text)
    )
  }
  out <- value()
  if (pos <= n) json_abort("trailing content after the JSON value", text)
  out
}

json_escape_re <- '\\\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)'

# A JSON string token (with quotes) -> R string, escapes decoded.
json_string <- function(tok, text) {
  s <- substr(tok, 2L, nchar(tok, "bytes") - 1L)
  if (!grepl("\\", s, fixed = TRUE)) return(s)
  if (!grepl('^(?:[^\\\\\\x00-\\x1f]|\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4}))*$', s, perl = TRUE)) {
    json_abort("invalid escape or control character in a string", text)
  }
  m <- gregexpr(json_escape_re, s, perl = TRUE)
  regmatches(s, m) <- list(vapply(regmatches(s, m)[[1L]], json_unescape, ""))
  Encoding(s) <- "UTF-8"
  s
}

json_unescape <- function(esc) {
  ch <- substr(esc, 2L, 2L)
  if (ch != "u") {
    return(switch(ch, b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ch))
  }
  cp <- strtoi(substr(esc, 3L, 6L), 16L)
  if (nchar(esc) == 12L) {
    lo <- strtoi(substr(esc, 9L, 12L), 16L)
    cp <- 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
  } else if (cp >= 0xD800 && cp <= 0xDFFF) {
    return("\uFFFD") # a lone surrogate is not a character
  }
  intToUtf8(cp)
}
