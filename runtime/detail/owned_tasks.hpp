// Every unfinished spawned task of a runtime, so shutdown can destroy their frames.
//
// Sharded intrusive doubly-linked lists, each under its own spin lock: spawn and completion touch
// one shard, picked by the task's address, so workers rarely contend (and no shared id counter is
// written on every spawn). A spin lock, not std::mutex: the critical section is four pointer
// writes, taken twice per task, and an uncontended std::mutex costs several times that. Closing marks every shard closed under its
// lock; an insert into a closed shard fails, which is how spawn after shutdown is refused.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "../../channels/detail/spin_lock.hpp"

#include "task_header.hpp"

namespace weft::detail {

class OwnedTasks {
public:
    // Returns false (and does not insert) once the list is closed.
    bool insert(TaskHeader* task) noexcept {
        Shard& shard = shard_for(task);
        std::lock_guard lock(shard.lock);
        if (shard.closed) return false;
        task->owned_prev = nullptr;
        task->owned_next = shard.head;
        if (shard.head) shard.head->owned_prev = task;
        shard.head = task;
        return true;
    }

    void remove(TaskHeader* task) noexcept {
        Shard& shard = shard_for(task);
        std::lock_guard lock(shard.lock);
        if (task->owned_prev) task->owned_prev->owned_next = task->owned_next;
        else shard.head = task->owned_next;
        if (task->owned_next) task->owned_next->owned_prev = task->owned_prev;
        task->owned_prev = task->owned_next = nullptr;
    }

    void close() noexcept {
        for (Shard& shard : shards_) {
            std::lock_guard lock(shard.lock);
            shard.closed = true;
        }
    }

    // Removes and returns some task, or nullptr when none is left.
    TaskHeader* pop_any() noexcept {
        for (Shard& shard : shards_) {
            std::lock_guard lock(shard.lock);
            if (TaskHeader* task = shard.head) {
                shard.head = task->owned_next;
                if (shard.head) shard.head->owned_prev = nullptr;
                task->owned_prev = task->owned_next = nullptr;
                return task;
            }
        }
        return nullptr;
    }

private:
    static constexpr std::size_t kShards = 64;
    struct alignas(64) Shard {
        SpinLock lock;
        TaskHeader* head = nullptr;
        bool closed = false;
    };
    Shard& shard_for(const TaskHeader* task) noexcept {
        // Task cells are at least 64-byte apart: drop the low bits that never differ.
        return shards_[(reinterpret_cast<std::uintptr_t>(task) >> 6) % kShards];
    }

    std::array<Shard, kShards> shards_;
};

}  // namespace weft::detail
