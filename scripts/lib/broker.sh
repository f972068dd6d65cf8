# Sourced by the benchmark scripts. delete_broker_prefix PREFIX deletes the queues, and the exchanges MassTransit
# binds to them, that a service instance declared under its own Messaging:EndpointPrefix. Best effort: cleanup must
# never fail the script that calls it.
delete_broker_prefix() {
  command -v rabbitmqctl >/dev/null || return 0
  local prefix="$1" name
  [ -n "$prefix" ] || return 0
  for name in $(rabbitmqctl -q list_queues name 2>/dev/null | grep "^$prefix" || true); do
    rabbitmqctl -q delete_queue "$name" >/dev/null 2>&1 || true
  done
  for name in $(rabbitmqctl -q list_exchanges name 2>/dev/null | grep "^$prefix" || true); do
    rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$name\">>), false, <<\"cleanup\">>)." \
      >/dev/null 2>&1 || true
  done
}

# wait_broker_idle PREFIX SECONDS: until the queues under PREFIX hold no message, ready or in work (at most SECONDS),
# so that background work a phase left behind (summaries, say) does not run during the next measurement.
wait_broker_idle() {
  command -v rabbitmqctl >/dev/null || return 0
  local prefix="$1" waited=0
  while [ "$waited" -lt "$2" ]; do
    [ "$(rabbitmqctl -q list_queues name messages 2>/dev/null | awk -v p="$prefix" 'index($1, p) == 1 { n += $2 } END { print n + 0 }')" = 0 ] && return 0
    sleep 1; waited=$((waited + 1))
  done
}
