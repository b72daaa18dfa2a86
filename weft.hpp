// Everything weft offers, in one include: #include <weft/weft.hpp>. Each part has its own header
// too (e.g. <weft/channels/mpsc.hpp>), which builds faster where only that part is used.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <weft/channels/barrier.hpp>
#include <weft/channels/broadcast.hpp>
#include <weft/channels/broadcast_errors.hpp>
#include <weft/channels/errors.hpp>
#include <weft/channels/mpsc.hpp>
#include <weft/channels/mpsc_permit.hpp>
#include <weft/channels/mutex.hpp>
#include <weft/channels/notify.hpp>
#include <weft/channels/once_cell.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/channels/rwlock.hpp>
#include <weft/channels/semaphore.hpp>
#include <weft/channels/unbounded.hpp>
#include <weft/channels/watch.hpp>
#include <weft/redis/batch.hpp>
#include <weft/redis/client.hpp>
#include <weft/redis/cluster.hpp>
#include <weft/redis/cluster_slot.hpp>
#include <weft/redis/errors.hpp>
#include <weft/redis/manager.hpp>
#include <weft/redis/resp_encoder.hpp>
#include <weft/redis/resp_parser.hpp>
#include <weft/redis/subscriber.hpp>
#include <weft/redis/url.hpp>
#include <weft/redis/value.hpp>
#include <weft/runtime/errors.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/metrics.hpp>
#include <weft/runtime/net/buffered.hpp>
#include <weft/runtime/net/errors.hpp>
#include <weft/runtime/net/socket_address.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/waker.hpp>
#include <weft/runtime/yield.hpp>
