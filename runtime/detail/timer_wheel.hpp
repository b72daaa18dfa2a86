// A hierarchical timing wheel: O(1) insert and cancel, expiry in time proportional to what fires.
//
// Not synchronised: TimeDriver guards it with its mutex.
//
// Layout: 6 levels of 64 slots. A slot at level L spans 64^L ticks (1 tick = 1 ms), so level 0
// covers the next 64 ms one tick a slot and level 5 reaches about 2.1 years; a later deadline is
// filed at the farthest slot and re-filed when that comes round. Each slot is an intrusive list of
// entries (the entries live in the awaiting coroutine frames: no allocation per timer), and each
// level keeps a 64-bit mask of its non-empty slots, so the next expiry is a few bit scans.
//
// Invariant: an entry with deadline `when` sits at the level of the highest 6-bit group in which
// `when` differs from `elapsed_`, in slot (when >> 6L) & 63. Hence every entry at level L expires
// before every entry at level L+1, and the first non-empty level holds the earliest slot.
// Advancing: when a slot at level L > 0 comes due, its entries are re-filed against the new
// `elapsed_` (they cascade to lower levels); a due slot at level 0 fires all its entries.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <optional>

#include "../waker.hpp"

namespace weft::detail {

struct TimerEntry {
    TimerEntry* prev = nullptr;
    TimerEntry* next = nullptr;
    std::uint64_t when = 0;  // deadline, in ticks since the driver started
    Waker waker;
    bool is_registered = false;  // in the wheel (guarded by the driver's mutex)
    // Set when the entry fires, so its owner can tell a real expiry from a spurious wake without
    // taking the driver's mutex.
    std::atomic<bool> fired{false};
    std::uint8_t level = 0;
    std::uint8_t slot = 0;
};

class TimerWheel {
public:
    static constexpr unsigned kLevels = 6;
    static constexpr unsigned kSlotBits = 6;
    static constexpr unsigned kSlots = 1u << kSlotBits;
    // One slot short of a full turn of the top level, so a clamped deadline never lands in the
    // top-level slot that holds elapsed() (it would look due at once).
    static constexpr std::uint64_t kMaxDuration =
        (std::uint64_t{1} << (kSlotBits * kLevels)) - (std::uint64_t{1} << (kSlotBits * (kLevels - 1))) - 1;

    std::uint64_t elapsed() const noexcept { return elapsed_; }
    bool is_empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }

    // Files `e` (not registered) for `e.when`. Returns false, filing nothing, if that is not later
    // than elapsed(): the caller fires it at once.
    bool insert(TimerEntry& e) noexcept {
        if (e.when <= elapsed_) return false;
        file(e);
        ++count_;
        return true;
    }

    void remove(TimerEntry& e) noexcept {
        Level& lv = levels_[e.level];
        TimerEntry*& head = lv.slots[e.slot];
        if (e.prev) e.prev->next = e.next;
        else head = e.next;
        if (e.next) e.next->prev = e.prev;
        if (!head) lv.occupied &= ~(std::uint64_t{1} << e.slot);
        e.prev = e.next = nullptr;
        e.is_registered = false;
        --count_;
    }

    // The tick at which the earliest entry's slot comes due (no later than its deadline).
    std::optional<std::uint64_t> next_expiration() const noexcept {
        if (const auto exp = next_slot()) return exp->deadline;
        return std::nullopt;
    }

    // Advances to `now`, calling `fire(entry)` for every entry due by then (already unlinked).
    // `fire` returns false to stop early (the wheel stays consistent; call again to continue).
    template <class Fire>
    bool poll(std::uint64_t now, Fire&& fire) {
        while (const auto exp = next_slot()) {
            if (exp->deadline > now) break;
            if (exp->deadline > elapsed_) elapsed_ = exp->deadline;
            Level& lv = levels_[exp->level];
            TimerEntry* list = lv.slots[exp->slot];
            lv.slots[exp->slot] = nullptr;
            lv.occupied &= ~(std::uint64_t{1} << exp->slot);
            while (list) {
                TimerEntry& e = *list;
                list = e.next;
                e.prev = e.next = nullptr;
                if (e.when <= elapsed_) {
                    e.is_registered = false;
                    --count_;
                    if (!fire(e)) {
                        refile_rest(list);
                        return false;
                    }
                } else {
                    file(e);  // cascades to a lower level
                }
            }
        }
        if (now > elapsed_) elapsed_ = now;
        return true;
    }

private:
    struct Level {
        std::uint64_t occupied = 0;
        std::array<TimerEntry*, kSlots> slots{};
    };
    struct Expiration {
        unsigned level;
        unsigned slot;
        std::uint64_t deadline;
    };

    void file(TimerEntry& e) noexcept {
        // The highest 6-bit group in which the deadline and `elapsed_` differ picks the level. A
        // deadline beyond the wheel's reach is filed at the farthest slot and re-filed from there.
        const std::uint64_t when = e.when - elapsed_ > kMaxDuration ? elapsed_ + kMaxDuration : e.when;
        const std::uint64_t masked = (elapsed_ ^ when) | (kSlots - 1);
        unsigned level = static_cast<unsigned>(63 - std::countl_zero(masked)) / kSlotBits;
        if (level >= kLevels) level = kLevels - 1;
        const unsigned slot = static_cast<unsigned>(when >> (level * kSlotBits)) & (kSlots - 1);
        e.level = static_cast<std::uint8_t>(level);
        e.slot = static_cast<std::uint8_t>(slot);
        e.is_registered = true;
        TimerEntry*& head = levels_[level].slots[slot];
        e.prev = nullptr;
        e.next = head;
        if (head) head->prev = &e;
        head = &e;
        levels_[level].occupied |= std::uint64_t{1} << slot;
    }

    void refile_rest(TimerEntry* list) noexcept {
        while (list) {
            TimerEntry& e = *list;
            list = e.next;
            e.prev = e.next = nullptr;
            file(e);
        }
    }

    std::optional<Expiration> next_slot() const noexcept {
        for (unsigned level = 0; level < kLevels; ++level) {
            const std::uint64_t occupied = levels_[level].occupied;
            if (!occupied) continue;
            const unsigned shift = level * kSlotBits;
            const std::uint64_t slot_span = std::uint64_t{1} << shift;
            const unsigned now_slot = static_cast<unsigned>(elapsed_ >> shift) & (kSlots - 1);
            const unsigned slot = (now_slot + static_cast<unsigned>(std::countr_zero(std::rotr(occupied, static_cast<int>(now_slot))))) & (kSlots - 1);
            // The level's window is the run of 64 slots that contains elapsed_; a slot behind the
            // current position belongs to the next turn (only the top level wraps like that).
            const std::uint64_t level_span = slot_span << kSlotBits;
            std::uint64_t deadline = (elapsed_ & ~(level_span - 1)) + slot * slot_span;
            if (slot < now_slot) deadline += level_span;
            return Expiration{level, slot, deadline};
        }
        return std::nullopt;
    }

    std::array<Level, kLevels> levels_{};
    std::uint64_t elapsed_ = 0;
    std::size_t count_ = 0;
};

}  // namespace weft::detail
