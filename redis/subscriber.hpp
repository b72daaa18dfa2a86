// weft::redis::Subscriber: Pub/Sub on a connection of its own, messages delivered on a weft channel.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/task.hpp>
#include "client.hpp"
#include "url.hpp"

namespace weft::redis {

/// One Pub/Sub message.
struct Message {
    std::string channel;  ///< The channel it was published on.
    std::string payload;  ///< What was published.
    /// The pattern that matched (a PSUBSCRIBE message); none for SUBSCRIBE and SSUBSCRIBE.
    std::optional<std::string> pattern;
    /// True for a sharded message (SSUBSCRIBE, SPUBLISH).
    bool sharded = false;
};

/// How a Subscriber buffers and reconnects.
struct SubscriberOptions {
    /// Messages the channel holds before the subscriber stops reading the socket. A subscriber
    /// that falls behind holds at most this many messages plus one read's bytes: the rest waits
    /// in the server, which disconnects a subscriber past its `client-output-buffer-limit pubsub`
    /// (then the subscriber reconnects, if it may, and the messages in between are lost, as
    /// Redis Pub/Sub is at most once). At least 1.
    std::size_t capacity = 1024;
    /// Reconnect after the connection fails, and subscribe again to everything it was
    /// subscribed to. On by default: a subscription is meant to outlive a server restart.
    bool reconnect = true;
    /// First wait before reconnecting; doubled after each failed attempt, up to max_backoff.
    /// Each wait is jittered down to half, so many subscribers do not reconnect in step.
    std::chrono::milliseconds min_backoff{50};
    /// Longest wait between two attempts.
    std::chrono::milliseconds max_backoff{5'000};
    /// Limits and push handler of the connection (see ClientOptions).
    ClientOptions client;
};

namespace detail {
struct SubscriberState;
struct SubscriberControl;
}  // namespace detail

/// Pub/Sub on a connection of its own (redis-rs's PubSub, Tokio-style): subscribe to channels,
/// patterns and shard channels, and receive their messages on a weft mpsc channel.
///
///     Subscriber sub = co_await Subscriber::connect("redis://127.0.0.1:6379");
///     std::vector<std::string> topics{"news", "weather"};   // not a braced list in co_await (g++ 12)
///     co_await sub.subscribe(topics);                  // once the server confirmed them
///     std::vector<std::string> patterns{"logs.*"};
///     co_await sub.psubscribe(patterns);
///     mpsc::Receiver<Message> messages = sub.take_messages();
///     while (std::optional<Message> m = co_await messages.recv())
///         handle(m->channel, m->payload);              // in the order the server sent them
///
/// A task owns the connection: it reads messages into the channel (and stops reading while the
/// channel is full, so a slow consumer costs bounded memory), and sends the subscription commands
/// the handle asks for. If the connection fails and SubscriberOptions::reconnect is on, it
/// reconnects with exponential backoff and jitter and subscribes again to everything; messages
/// published while it was away are lost (Redis Pub/Sub keeps nothing). With reconnect off, or
/// once the handle is gone, the task ends and the message channel closes after the messages
/// already in it; failure() then says why (null when the handle was dropped).
///
/// The connection speaks RESP2 whatever the ConnectionInfo says (a RESP2 subscriber connection
/// carries only Pub/Sub). Await the calls inside tasks of the runtime it was connected on, one
/// task at a time or several (the requests queue); the Subscriber must outlive their awaits.
class Subscriber {
public:
    /// Connects and logs in (AUTH, CLIENT SETNAME) as Client::connect does, then starts the task.
    /// @throws IoError, ServerError as Client::connect; std::invalid_argument for a bad URL or a
    /// capacity of 0; all when awaited.
    static Task<Subscriber> connect(ConnectionInfo info, SubscriberOptions options = {});
    /// Connects to a `redis://` or `unix://` URL (see redis/url.hpp).
    static Task<Subscriber> connect(std::string_view url, SubscriberOptions options = {});

    /// Takes over `other`'s task and channels (`other` is then empty: its calls throw).
    Subscriber(Subscriber&&) noexcept;
    /// Stops this subscriber's task (as the destructor does) and takes over `other`'s.
    Subscriber& operator=(Subscriber&&) noexcept;
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;
    /// Stops the task: it unsubscribes by closing the connection, and the message channel closes.
    ~Subscriber();

    /// SUBSCRIBE: completes once the server confirmed every channel. Messages for a channel may
    /// arrive in the message channel before this completes.
    /// @throws std::invalid_argument for an empty list; IoError if the connection failed for
    /// good (reconnect off); when awaited.
    Task<void> subscribe(std::vector<std::string> channels);
    /// PSUBSCRIBE: glob-style patterns (`news.*`).
    Task<void> psubscribe(std::vector<std::string> patterns);
    /// SSUBSCRIBE: shard channels (Redis 7; SPUBLISH sends to them).
    Task<void> ssubscribe(std::vector<std::string> channels);
    /// UNSUBSCRIBE the channels given, or every channel for an empty list.
    Task<void> unsubscribe(std::vector<std::string> channels = {});
    /// PUNSUBSCRIBE the patterns given, or every pattern for an empty list.
    Task<void> punsubscribe(std::vector<std::string> patterns = {});
    /// SUNSUBSCRIBE the shard channels given, or every one for an empty list.
    Task<void> sunsubscribe(std::vector<std::string> channels = {});

    /// The receiver of the messages; once (later calls throw std::logic_error).
    mpsc::Receiver<Message> take_messages();

    /// How many times the task reconnected. From any thread.
    std::uint64_t reconnects() const noexcept;
    /// True while the task has a working connection. From any thread.
    bool is_connected() const noexcept;
    /// The error that ended the task (reconnect off), or null. From any thread.
    std::exception_ptr failure() const noexcept;

private:
    static Subscriber start(Client client, ConnectionInfo info, SubscriberOptions options);
    Subscriber(mpsc::Sender<detail::SubscriberControl> control, std::shared_ptr<detail::SubscriberState> state,
               mpsc::Receiver<Message> messages, JoinHandle<void> task) noexcept;
    Task<void> request(int kind, std::vector<std::string> names);

    std::optional<mpsc::Sender<detail::SubscriberControl>> control_;
    std::shared_ptr<detail::SubscriberState> state_;
    std::optional<mpsc::Receiver<Message>> messages_;
    std::optional<JoinHandle<void>> task_;
};

}  // namespace weft::redis
