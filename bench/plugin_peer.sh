# Sourced by the plugin peers (peer-tern-milter.sh, peer-tern-policy.sh,
# peer-postfix-milter.sh): the pass-through plugin they run beside the
# server, started before it and stopped after it.
# plugin_start NAME CMD...: runs CMD in the background, pid in
# $BENCH_DIR/NAME.pid, and waits (5 s at most) until PLUGIN_PORT listens.
plugin_start() {
  name=$1; shift
  plugin_stop "$name"
  setsid "$@" > "${BENCH_DIR:-/var/tmp/bench}/$name.log" 2>&1 &
  echo $! > "${BENCH_DIR:-/var/tmp/bench}/$name.pid"
  for _ in $(seq 50); do
    ss -ltn "sport = :$PLUGIN_PORT" | grep -q LISTEN && return 0
    sleep 0.1
  done
  echo "$name did not listen on $PLUGIN_PORT" >&2
  return 1
}

# plugin_stop NAME: its CPU seconds (user+system, all threads) appended to
# $BENCH_DIR/plugin-cpu.log, then it is stopped.
plugin_stop() {
  f=${BENCH_DIR:-/var/tmp/bench}/$1.pid
  [ -f "$f" ] || return 0
  awk -v n="$1" -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); \
    printf "%d %s_cpu_s=%.2f\n", systime(), n, ($12 + $13) / t }' \
    "/proc/$(cat "$f")/stat" >> "${BENCH_DIR:-/var/tmp/bench}/plugin-cpu.log" 2>/dev/null || true
  kill -TERM "$(cat "$f")" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$(cat "$f")" 2>/dev/null || true
  rm -f "$f"
}
