// Model of the bounded mpsc channel's waiting-sender hand-off: the real BoundedChannel
// (channels/detail/bounded_channel.hpp) with its SenderWaitList, SpinLock, WaiterList and
// SlotRing, their atomics replaced by Relacy's. Two senders send three messages each through a
// channel of capacity 1 (or 2) while the receiver takes them (poll_front, front, pop_front, whose
// after_take hands freed capacity to the first waiter). A sender transcribes Sender::send's
// awaiter (channels/mpsc.hpp, AcquireAwaiterBase and SendAwaiter): try_claim; else an Acquirer
// in line (optionally offering its value for direct hand-off), and after the wake poll(); kPermits
// sends with the permit, kSent is done. In two cases a sender cancels while in line, racing the
// hand-off (settle_for_abort's path). The receiver spins instead of registering its waker (its
// Dekker pair is not what this model checks) and stops once the channel reports kClosed, which
// the last sender's drop_sender causes.
//
// Checked: every message sent (fast path, permit, or delivered) is received exactly once and a
// message not sent (a cancel before any hand-off) never is; each sender's messages arrive in
// order and with what the sender wrote before sending; a delivered value (the receiver can tell
// it: the offered copy carries +kDeliveredMark) was reported kSent to its sender, and a send
// reported kSent was delivered, never also sent with a permit; a woken waiter always finds its
// hand-off (poll never reports kWait after the wake: one wake per message); no lost wake-up
// (every sender finishes; a sender waiting for ever makes Relacy report a livelock); the buffer
// never holds more than the capacity; at the end nothing is buffered, no permit is held, every
// waiter has left the line and every waker reference was dropped. An over-granted capacity
// shows as a lost message (a claim overwriting a slot) or as a permit spinning for ever in
// claim_with_permit (a livelock).
//
// The wait list's SpinLock, Waiter::state and the waiting count use detail::atomic so that
// Relacy sees them; the channel's handle counts and rx_waiting_ stay std::atomic (not modelled).
//
// FINDING (fixed in slot_ring.hpp): with the tail word's CASes relaxed, the model lost a wake-up
// (Relacy: LIVELOCK, a waiting sender never woken while the channel is empty). The no-lost-wake-up
// argument in sender_wait_list.hpp pairs the waiter's seq_cst increment of the waiting count and
// its seq_cst re-read of the ring with the freer's seq_cst stamp store and seq_cst read of the
// count. But the waiter's retry (SlotRing::acquire via try_reserve) decides from the tail word
// first, and relaxed CASes (acquire's claim, claim_with_permit) are not in the seq_cst order, so
// the waiter's seq_cst load could return a tail word older than one the freer's take already
// depended on, and report kFull while the receiver's has_waiters() read 0. Sequence found
// (capacity 1, no offers): R reserves a permit for waiter S1 and wakes it; S1's claim_with_permit
// moves the word on (relaxed) and publishes; R takes it (its has_waiters() reads 0); S0 enqueues,
// then its try_reserve reads the word from before S1's claim: one permit held, capacity 1, kFull.
// S0 waits for ever. Both CASes are seq_cst now (either alone still loses the wake-up);
// SeededBugRelaxedTailCasesAreCaught puts them back to relaxed and must fail.
#include "support/model_waker.hpp"

#include <weft/channels/detail/bounded_channel.hpp>

#include <gtest/gtest.h>

namespace {

using Channel = weft::detail::BoundedChannel<int>;
using weft::Waker;
using weft::detail::AcquireStatus;
using weft::detail::RecvStatus;
using weft::model::atomic;
using weft::model::FlagTarget;

constexpr int kPerSender = 3;
constexpr int kMessages = 2 * kPerSender;  // sender s sends ids s * kPerSender + 0..2
constexpr int kDeliveredMark = 100;         // added to the offered copy of a message

// How a message left its sender.
enum class How { kNone, kFast, kPermit, kSent, kNotSent };

// Which paths the iterations reached, so a test can show it exercised them (a model whose senders
// never waited would check nothing).
struct Coverage {
    long permit = 0, sent = 0, not_sent = 0, cancel_delivered = 0, cancel_passed_on = 0;
};
Coverage coverage;

// Capacity; whether each sender offers its values for direct hand-off; whether sender 0 cancels
// its second message while in line.
template <int Capacity, bool Offer0, bool Offer1, bool Cancel>
struct SendersAndReceiver : rl::test_suite<SendersAndReceiver<Capacity, Offer0, Offer1, Cancel>, 3> {
    Channel* ch = nullptr;
    FlagTarget targets[kMessages];     // the wait of message id, if it waited
    rl::var<int> contents[kMessages];  // written before a send, read once received
    How how[kMessages] = {};
    bool waited[kMessages] = {};
    int received[kMessages] = {};
    int received_delivered[kMessages] = {};
    int last_received[2] = {-1, -1};

    void before() {
        ch = new Channel(Capacity);  // one sender and the receiver
        ch->add_sender();            // the second sender
    }

    // Sender::send(id), as its awaiter drives the channel.
    How send(int id, bool offer, bool cancel) {
        contents[id]($) = id * 10;
        std::uint64_t pos = 0;
        AcquireStatus status = ch->try_claim(pos);
        if (status == AcquireStatus::kClaimed) {
            ch->publish(pos, id);
            return How::kFast;
        }
        RL_ASSERT(status == AcquireStatus::kWait);  // nobody closes
        waited[id] = true;
        int offered = id + kDeliveredMark;  // the value the freer would move, told apart on receipt
        Channel::Acquirer acquirer(*ch, 1);
        if (offer) acquirer.offer(&offered);
        FlagTarget& target = targets[id];
        target.publish();
        {
            const Waker waker = target.waker();
            status = acquirer.wait_in_line(waker);
        }  // the task's own reference: the line holds a clone
        if (status == AcquireStatus::kWait) {
            if (cancel) {
                // Aborted while in line, maybe after the wake, before polling (settle_for_abort).
                for (int i = 0; i < 2 && !target.woken(); ++i) rl::yield(1, $);
                const bool was_woken = target.woken();
                const bool delivered = acquirer.cancel();
                if (delivered) ++coverage.cancel_delivered;
                else if (was_woken) ++coverage.cancel_passed_on;  // handed permits it gave back
                return delivered ? How::kSent : How::kNotSent;
            }
            while (!target.woken()) rl::yield(1, $);
            status = acquirer.poll();
            RL_ASSERT(status == AcquireStatus::kPermits || status == AcquireStatus::kSent);  // woken once
        }
        if (status == AcquireStatus::kSent) {
            RL_ASSERT(offer);
            return How::kSent;
        }
        RL_ASSERT(status == AcquireStatus::kPermits);
        ch->send_with_permit(id);
        return How::kPermit;
    }

    void receive_one() {
        int v = ch->front();
        ch->pop_front();
        const bool delivered = v >= kDeliveredMark;
        if (delivered) v -= kDeliveredMark;
        RL_ASSERT(v >= 0 && v < kMessages);
        RL_ASSERT(contents[v]($) == v * 10);  // what the sender wrote came with the message
        ++received[v];
        if (delivered) ++received_delivered[v];
        const int sender = v / kPerSender;
        RL_ASSERT(v > last_received[sender]);  // each sender's messages in order
        last_received[sender] = v;
    }

    void thread(unsigned index) {
        if (index < 2) {
            const bool offer = index == 0 ? Offer0 : Offer1;
            for (int i = 0; i < kPerSender; ++i) {
                const int id = static_cast<int>(index) * kPerSender + i;
                how[id] = send(id, offer, Cancel && index == 0 && i == 1);
            }
            ch->drop_sender();  // the last one closes the channel for the receiver
            return;
        }
        for (;;) {
            RL_ASSERT(ch->len() <= static_cast<std::size_t>(Capacity));
            switch (ch->poll_front()) {
                case RecvStatus::kValue: receive_one(); break;
                case RecvStatus::kEmpty: rl::yield(1, $); break;
                case RecvStatus::kClosed: return;
            }
        }
    }

    void after() {
        for (int id = 0; id < kMessages; ++id) {
            RL_ASSERT(how[id] != How::kNone);                              // every sender finished
            RL_ASSERT(received[id] == (how[id] == How::kNotSent ? 0 : 1));  // exactly once, or never
            RL_ASSERT(received_delivered[id] == (how[id] == How::kSent ? 1 : 0));  // kSent iff delivered
            RL_ASSERT(targets[id].wake_count() <= 1);
            RL_ASSERT(targets[id].ref_count() == 0);  // the line kept no waker
            if (how[id] == How::kFast) RL_ASSERT(!waited[id]);
        }
        for (int id = 0; id < kMessages; ++id) {
            if (how[id] == How::kPermit) ++coverage.permit;
            if (how[id] == How::kSent) ++coverage.sent;
            if (how[id] == How::kNotSent) ++coverage.not_sent;
        }
        RL_ASSERT(ch->len() == 0);
        RL_ASSERT(ch->available() == static_cast<std::size_t>(Capacity));  // no permit left held
        RL_ASSERT(ch->is_closed());
        ch->drop_receiver();  // the last reference: frees the channel
    }
};

// Without offers: a freed slot goes to the first waiter as a permit.
using PermitHandOff = SendersAndReceiver<1, false, false, false>;
// Both offer: the receiver moves a waiter's value into the slot it freed (kSent).
using DirectHandOff = SendersAndReceiver<1, true, true, false>;
// One offers, one does not, capacity 2.
using MixedHandOffCapacity2 = SendersAndReceiver<2, true, false, false>;
// Sender 0 offers and cancels its second message while in line; sender 1 waits for permits.
using CancelRacesDelivery = SendersAndReceiver<1, true, false, true>;
// Sender 0 waits for permits and cancels its second message, maybe after they were handed to it
// (an offering waiter is only ever delivered to, never handed permits); sender 1 offers.
using CancelRacesPermitHandOff = SendersAndReceiver<1, false, true, true>;

constexpr int kIterations = 200000;
constexpr const char* kRing = "channels/detail/slot_ring.hpp";
constexpr const char* kWaitList = "channels/detail/sender_wait_list.hpp";

// The two CASes that move the ring's tail word have the same text: each is found by its neighbour.
unsigned permit_cas_line() {  // claim_with_permit's
    return weft::model::line_of(kRing, "// The consumer has taken the slot's previous value (the invariant") - 1;
}
unsigned claim_cas_line() {  // acquire's (try_claim, try_reserve)
    return weft::model::line_of(kRing, "const std::uint64_t next = reserve ? tail + n * kPermitOne") + 1;
}

template <class Test>
weft::model::Outcome run() {
    coverage = Coverage{};
    return weft::model::simulate<Test>(weft::model::iterations(kIterations));
}

// The finding in the header comment, seeded back: both tail-word CASes relaxed again.
TEST(SenderHandOffModel, SeededBugRelaxedTailCasesAreCaught) {
    const weft::model::ScopedOrderOverrides relaxed{{kRing, permit_cas_line(), std::memory_order_relaxed},
                                                    {kRing, claim_cas_line(), std::memory_order_relaxed}};
    const auto o = weft::model::simulate<PermitHandOff>(weft::model::iterations(kIterations));
    EXPECT_FALSE(o.passed) << "the model did not catch relaxed CASes on the tail word";
}

TEST(SenderHandOffModel, PermitHandOffLosesNothingAndKeepsOrder) {
    const auto o = run<PermitHandOff>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.permit, 0);
    EXPECT_EQ(coverage.sent, 0);
}

TEST(SenderHandOffModel, DirectHandOffIsReportedSentAndReceivedOnce) {
    const auto o = run<DirectHandOff>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.sent, 0);
    EXPECT_GT(coverage.permit, 0);  // the waiter's own retry, or a slot not free for a delivery
}

TEST(SenderHandOffModel, MixedHandOffWithCapacityTwo) {
    const auto o = run<MixedHandOffCapacity2>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.sent, 0);
    EXPECT_GT(coverage.permit, 0);
}

// The cancel either finds the value delivered (the send happened) or leaves before any hand-off.
TEST(SenderHandOffModel, CancelEitherWasDeliveredOrLeavesNothingSent) {
    const auto o = run<CancelRacesDelivery>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.cancel_delivered, 0);
    EXPECT_GT(coverage.not_sent, 0);
}

// A cancel after permits were handed over gives them back and they pass to the next waiter
// (sender 1, which must still finish).
TEST(SenderHandOffModel, CancelAfterPermitHandOffPassesItOn) {
    const auto o = run<CancelRacesPermitHandOff>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.cancel_passed_on, 0);
    EXPECT_EQ(coverage.cancel_delivered, 0);
    EXPECT_GT(coverage.sent, 0);
}

// Seeded bug: the store that frees a slot loses its seq_cst
// (release only). The waiter's retry can then still read the slot as taken while the receiver
// reads the waiting count before the waiter's increment: a lost wake-up.
TEST(SenderHandOffModel, SeededBugReleaseFreeStoreIsCaught) {
    const unsigned line =
        weft::model::line_of(kRing, "slot(head).stamp.store((head + one_lap_) & kPosMask, std::memory_order_seq_cst);");
    const auto [o, hits] = weft::model::simulate_with_fault<PermitHandOff>(
        weft::model::iterations(kIterations), kRing, line, std::memory_order_release);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a release-only store freeing a slot";
}

// Seeded bug: the receiver's "are senders waiting" load after
// freeing a slot loses its seq_cst (acquire only). The Dekker pair with a waiter (count
// incremented, then its reservation retried) breaks: both can read the old values, the waiter is
// never handed the slot and waits for ever.
TEST(SenderHandOffModel, SeededBugAcquireWaitingCountIsCaught) {
    const unsigned line = weft::model::line_of(kWaitList, "return waiting_.load(std::memory_order_seq_cst) != 0;");
    const auto [o, hits] = weft::model::simulate_with_fault<PermitHandOff>(
        weft::model::iterations(kIterations), kWaitList, line, std::memory_order_acquire);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a non-seq_cst load of the waiting count";
}

}  // namespace
