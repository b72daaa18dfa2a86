// The spawned tasks of a runtime that are suspended somewhere, so shutdown can destroy their frames.
//
// A task joins the list at the end of its first poll that did not finish it, not at spawn: until
// then it sits in a run queue, where shutdown finds it by draining the queues. A task that runs to
// completion in its first poll (the common short task) never touches the list. Joining there is
// race-free: until the worker ends the poll (transition_to_idle), no other thread can poll the
// task, so its completion, and the removal, always come after the insertion.
//
// Sharded intrusive doubly-linked lists, each under its own spin lock: insertion and removal touch
// one shard, picked by the task's address, so workers rarely contend (and no shared id counter is
// written). A spin lock, not std::mutex: the critical section is four pointer writes, and an
// uncontended std::mutex costs several times that. Shutdown closes every shard under its lock,
// after the workers stopped; a later insert (a current-thread runtime's block_on still polling)
// fails, and the caller cancels the task instead.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "spin_lock.hpp"

#include "task_header.hpp"

namespace weft::detail {

class OwnedTasks {
public:
    // Returns false (and does not insert) once the list is closed: the runtime is shutting down.
    bool insert(TaskHeader* task) noexcept {
        Shard& shard = shard_for(task);
        std::lock_guard lock(shard.lock);
        if (shard.closed) return false;
        task->owned_prev = nullptr;
        task->owned_next = shard.head;
        if (shard.head) shard.head->owned_prev = task;
        shard.head = task;
        task->is_owned = true;
        return true;
    }

    void remove(TaskHeader* task) noexcept {
        Shard& shard = shard_for(task);
        std::lock_guard lock(shard.lock);
        if (task->owned_prev) task->owned_prev->owned_next = task->owned_next;
        else shard.head = task->owned_next;
        if (task->owned_next) task->owned_next->owned_prev = task->owned_prev;
        task->owned_prev = task->owned_next = nullptr;
        task->is_owned = false;
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
                task->is_owned = false;
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
