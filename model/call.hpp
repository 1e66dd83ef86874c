// A resolved step: a scenario step with task ids and fd numbers instead of names,
// the one form in which replay, the explorer, the property tests and validate hand
// a step to the model (model::perform).
#pragma once

#include "format/scenario.hpp"

namespace pidlab::model {

using TaskId = int;
inline constexpr TaskId kNoTask = -1;

struct Call : scenario::StepArgs {
    TaskId actor = 1;           // the calling task (T)
    TaskId target = kNoTask;    // kill, wait, pidfd_open, ptrace, observe
    int fd = -1;                // an fd number in the actor's table
    bool new_fd = false;        // names a new fd (clone3 CLONE_PIDFD, pidfd_open, dup)
    bool operator==(const Call&) const = default;
};

// Why a step cannot run in a state (Kernel::refusal): the rules live beside the kernel
// paths they describe.
enum class Refusal : uint8_t {
    None,
    NotAlive,        // the caller has exited, is exiting, or is being killed
    InitNeverExits,  // the scenario's init (pid 1) never exits: the world's rule
    WouldBlock,      // the call would sleep (a wait without WNOHANG with nothing to report, ...)
};

}  // namespace pidlab::model
