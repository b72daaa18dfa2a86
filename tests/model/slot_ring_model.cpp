// Model of the bounded mpsc ring, channels/detail/slot_ring.hpp's SlotRing (the real header, its
// atomics replaced by Relacy's), with capacity 2: two producers and the consumer race through
// claims, publishes, a permit reserved, used or given back, and the receiver closing. Checked:
// every published message is taken exactly once, each producer's messages in order, a message's
// contents were published to the consumer with it, capacity is never exceeded (a claim fails as
// full rather than overwriting), nothing is claimed after the close, and the capacity comes back
// (the ring ends empty, with no permit held).
#include "support/relacy_sync.hpp"

#include <weft/channels/detail/slot_ring.hpp>

#include <gtest/gtest.h>

#include <optional>

namespace {

using Ring = weft::detail::SlotRing<int>;

constexpr const char* kHeader = "channels/detail/slot_ring.hpp";
constexpr int kMessages = 6;  // ids 0..5: producer 0 sends 0..2, producer 1 sends 3..5

struct ProducersConsumerAndPermits : rl::test_suite<ProducersConsumerAndPermits, 3> {
    Ring* ring = nullptr;
    rl::var<int> contents[kMessages];  // written before a message is sent, read once it is taken
    int taken_count[kMessages] = {};
    bool sent[kMessages] = {};
    int last_taken[2] = {-1, -1};
    bool close_first = false;

    void before() { ring = new Ring(2); }

    bool send(int id) {
        contents[id]($) = id * 10;
        std::uint64_t pos = 0;
        for (int attempt = 0; attempt < 3; ++attempt) {
            switch (ring->try_claim(pos)) {
                case Ring::Claim::kClaimed: ring->publish(pos, id); return true;
                case Ring::Claim::kClosed: return false;
                case Ring::Claim::kFull: rl::yield(1, $); break;
            }
        }
        return false;  // still full: give up (a real sender would wait in line)
    }

    void take_one() {
        std::optional<int> out;
        if (ring->try_take(out) != Ring::Take::kValue) return;
        const int id = *out;
        RL_ASSERT(id >= 0 && id < kMessages);
        RL_ASSERT(contents[id]($) == id * 10);  // published with the message
        ++taken_count[id];
        const int producer = id / 3;
        RL_ASSERT(id > last_taken[producer]);  // each producer's messages in order
        last_taken[producer] = id;
    }

    void thread(unsigned index) {
        if (index == 0) {
            // Reserve a permit, send, then use the permit (or give it back if none was granted).
            const bool permit = ring->try_reserve(1) == Ring::Claim::kClaimed;
            sent[0] = send(0);
            if (permit) {
                contents[1]($) = 10;
                ring->publish(ring->claim_with_permit(), 1);  // a permit sends even after a close
                sent[1] = true;
            }
            sent[2] = send(2);
        } else if (index == 1) {
            for (int id = 3; id < 6; ++id) sent[id] = send(id);
        } else {
            for (int i = 0; i < 4; ++i) take_one();
            ring->close(Ring::kRxClosed);
        }
    }

    void after() {
        for (int i = 0; i < kMessages; ++i) take_one();  // drain what is left
        for (int id = 0; id < kMessages; ++id) RL_ASSERT(taken_count[id] == (sent[id] ? 1 : 0));
        RL_ASSERT(ring->len() == 0);
        RL_ASSERT(ring->permits() == 0);
        std::uint64_t pos = 0;
        RL_ASSERT(ring->try_claim(pos) == Ring::Claim::kClosed);
        delete ring;
    }
};

TEST(SlotRingModel, ClaimsPermitsTakesAndCloseLoseNothingAndKeepOrder) {
    const auto o = weft::model::simulate<ProducersConsumerAndPermits>(weft::model::iterations(200000));
    EXPECT_TRUE(o.passed) << o.report;
}

// Permits and claims racing for capacity 2 while the consumer frees one slot: every unit is
// granted at most once (the capacity check sees the permits and the tail in one word), and a claim
// never overwrites a message not yet taken.
struct PermitsAndClaimsShareTheCapacity : rl::test_suite<PermitsAndClaimsShareTheCapacity, 3> {
    Ring* ring = nullptr;
    int reserved = 0, claimed = 0, taken = 0;
    bool published[2] = {};

    void before() { ring = new Ring(2); }

    void thread(unsigned index) {
        if (index == 0) {
            for (int i = 0; i < 2; ++i)
                if (ring->try_reserve(1) == Ring::Claim::kClaimed) ++reserved;
        } else if (index == 1) {
            std::uint64_t pos = 0;
            for (int i = 0; i < 2; ++i)
                if (ring->try_claim(pos) == Ring::Claim::kClaimed) {
                    ring->publish(pos, i);
                    published[i] = true;
                    ++claimed;
                }
        } else {
            std::optional<int> out;
            if (ring->try_take(out) == Ring::Take::kValue) ++taken;
        }
    }

    void after() {
        RL_ASSERT(reserved + claimed <= 2 + taken);  // never more than the capacity plus what was freed
        RL_ASSERT(ring->permits() == static_cast<std::size_t>(reserved));
        std::optional<int> out;
        while (ring->try_take(out) == Ring::Take::kValue) {
            ++taken;
            out.reset();
        }
        RL_ASSERT(taken == claimed);  // nothing overwritten, nothing lost
        ring->release(reserved);
        RL_ASSERT(ring->len() == 0 && ring->permits() == 0);
        delete ring;
    }
};

TEST(SlotRingModel, PermitsAndClaimsNeverExceedTheCapacity) {
    const auto o = weft::model::simulate<PermitsAndClaimsShareTheCapacity>(weft::model::iterations(200000));
    EXPECT_TRUE(o.passed) << o.report;
}

// Seeded bug: publish stores the stamp relaxed. The consumer then takes a message whose contents
// were not published to it.
TEST(SlotRingModel, SeededBugRelaxedPublishIsCaught) {
    const unsigned line = weft::model::line_of(kHeader, "s.stamp.store((pos + 1) & kPosMask, std::memory_order_seq_cst);");
    const auto [o, hits] = weft::model::simulate_with_fault<ProducersConsumerAndPermits>(
        weft::model::iterations(200000), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed publish";
}

}  // namespace
