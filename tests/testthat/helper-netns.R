# Test hosts on this machine: Linux network namespaces joined by a bridge, in
# 10.213.7.0/24 only (bridge .1, hosts .2, .3, ...). Made per test, removed
# when the test ends, even on failure. Root only.

netns_subnet <- "10.213.7"

skip_if_no_netns <- function() {
  if (Sys.info()[["sysname"]] != "Linux") skip("network namespaces need Linux")
  if (!identical(unname(Sys.info()[["effective_user"]]), "root")) {
    skip("network namespaces need root")
  }
  if (!nzchar(Sys.which("ip"))) skip("the `ip` command (iproute2) is missing")
  if (!nzchar(Sys.which("perl"))) skip("perl is missing (used to wait for processes in namespaces)")
  skip_if_not_installed("mirai")
  used <- ip_run(c("-4", "addr", "show", "to", paste0(netns_subnet, ".0/24")))
  if (length(used$stdout) && nzchar(trimws(used$stdout))) {
    skip(paste0(netns_subnet, ".0/24 is in use on this machine (another test run?)"))
  }
}

ip_run <- function(args, error = FALSE) {
  processx::run("ip", args, error_on_status = error, stderr_to_stdout = TRUE)
}

# Creates a bridge and `n` namespaces; returns list(names, addresses, host).
# Everything is removed when `.local_envir` ends.
local_netns_hosts <- function(n = 2L, .local_envir = parent.frame()) {
  skip_if_no_netns()
  tag <- substr(nanonext::random(3L), 1L, 6L)
  bridge <- paste0("mgbr", tag)
  names <- sprintf("mangoro-%s-%d", tag, seq_len(n))
  addrs <- sprintf("%s.%d", netns_subnet, seq_len(n) + 1L)
  withr::defer(netns_remove(names, bridge), envir = .local_envir)
  # The mirai daemons the pool launches are child R sessions: they find this
  # mangoro where this session found it (R CMD check sets the library path
  # for its own session only), and they are not tests (R CMD check's R_TESTS
  # startup file is not where a child would look for it).
  withr::local_envvar(R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep), R_TESTS = NA,
                      .local_envir = .local_envir)
  made <- ip_run(c("link", "add", bridge, "type", "bridge"))
  if (made$status != 0L) skip(paste("cannot create a bridge here:", made$stdout))
  ip_run(c("addr", "add", paste0(netns_subnet, ".1/24"), "dev", bridge), error = TRUE)
  ip_run(c("link", "set", bridge, "up"), error = TRUE)
  for (i in seq_len(n)) {
    ns <- names[[i]]
    outer <- sprintf("mgv%s%do", tag, i)
    inner <- sprintf("mgv%s%di", tag, i)
    ip_run(c("netns", "add", ns), error = TRUE)
    ip_run(c("link", "add", outer, "type", "veth", "peer", "name", inner), error = TRUE)
    ip_run(c("link", "set", outer, "master", bridge), error = TRUE)
    ip_run(c("link", "set", outer, "up"), error = TRUE)
    ip_run(c("link", "set", inner, "netns", ns), error = TRUE)
    ip_run(c("-n", ns, "addr", "add", paste0(addrs[[i]], "/24"), "dev", inner), error = TRUE)
    ip_run(c("-n", ns, "link", "set", inner, "up"), error = TRUE)
    ip_run(c("-n", ns, "link", "set", "lo", "up"), error = TRUE)
  }
  list(names = names, addresses = addrs, host = paste0(netns_subnet, ".1"), bridge = bridge)
}

netns_pids <- function(ns) {
  out <- ip_run(c("netns", "pids", ns))$stdout
  as.integer(strsplit(trimws(out), "\\s+")[[1L]])
}

# Kill whatever runs in the namespaces, then remove them and the bridge
# (removing a namespace removes its end of the veth pair, and so the pair).
netns_remove <- function(names, bridge) {
  for (ns in names) {
    pids <- netns_pids(ns)
    pids <- pids[!is.na(pids)]
    if (length(pids)) {
      tools::pskill(pids, tools::SIGKILL)
      wait_pids_exit(pids, 5000)
    }
    ip_run(c("netns", "del", ns))
  }
  ip_run(c("link", "del", bridge))
}

# Waits for processes that are not our children to exit: Linux pidfds
# (pidfd_open is syscall 434 on every architecture) become readable when the
# process exits. Returns the pids still running after `timeout` ms.
wait_pids_exit <- function(pids, timeout = 10000) {
  if (!length(pids)) return(integer())
  script <- paste(
    "my $t = shift; my %fh;",
    "for my $p (@ARGV) { my $fd = syscall(434, $p, 0); next if $fd < 0;",
    "  open(my $h, '<&=', $fd) or next; $fh{$p} = $h; }",
    "my $end = time + $t;",
    "while (%fh) { my $rin = ''; vec($rin, fileno($fh{$_}), 1) = 1 for keys %fh;",
    "  my $left = $end - time; last if $left <= 0;",
    "  my $n = select(my $rout = $rin, undef, undef, $left); last if $n <= 0;",
    "  for (keys %fh) { delete $fh{$_} if vec($rout, fileno($fh{$_}), 1) } }",
    "print join(' ', keys %fh), \"\\n\";"
  )
  res <- processx::run("perl", c("-e", script, as.character(timeout / 1000), as.character(pids)))
  left <- trimws(res$stdout)
  if (nzchar(left)) as.integer(strsplit(left, " ")[[1L]]) else integer()
}

# mirai launch configurations: one daemon command per namespace.
netns_configs <- function(hosts) {
  lapply(hosts$names, function(ns) {
    mirai::remote_config(command = "ip", args = c("netns", "exec", ns, "."))
  })
}
