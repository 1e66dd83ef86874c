// Canonical encoding of a model state: a byte string that describes a Kernel
// (plus the checker's bookkeeping) up to the renaming of tasks, signal structs,
// sighands, fd tables, files and fd numbers. Two states with the same string
// behave alike (up to that renaming) under every op; the explorer stores a
// 64-bit xxHash of it.
//
// Order: tasks are numbered by a walk of the process tree from init (threads of
// a group, then children in list order, then tracees), so the lists the kernel
// scans in order (children, threads) keep their order. Fields that no op or
// invariant reads are left out (pids, last_rule, pending signals unless
// signal_pending is in the alphabet, file addresses unless the profile
// identifies the autokill file by address, released tasks nothing refers to).
#pragma once

#include <cstdint>
#include <string>

#include "checker/invariants.hpp"
#include "model/kernel.hpp"

namespace pidlab::checker {

struct CanonOptions {
    bool symmetry = true;   // false: tasks and fds keep their ids (no renaming)
    bool pending = false;   // encode pending signals (signal_pending is in the alphabet)
};

void encode_state(const model::Kernel& k, const Aux& aux, const CanonOptions& o, std::string& out);
uint64_t fingerprint(const std::string& encoded);
uint64_t fingerprint_state(const model::Kernel& k, const Aux& aux, const CanonOptions& o, std::string& scratch);

}  // namespace pidlab::checker
