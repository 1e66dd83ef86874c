// A compact encoding of one small configuration of the model, for speed: the
// benchmark configuration "autoreap siblings". Every state is one 64-bit word
// (4 bits per task), which is also its exact key: the store is lossless.
//
// The configuration, in the model's terms (profile 7.1-no-parent-check, T and
// at most N created tasks, no depth bound, no symmetry reduction):
//   T:            fork; clone3(CLONE_AUTOREAP, exit_signal 0); clone3(0, exit_signal 0);
//                 waitpid(-1, WNOHANG|__WALL)
//   created task: clone3(CLONE_PARENT, 0) (a sibling: T's child, the caller's exit_signal);
//                 exit_group(0)
// i.e. pidlab explore --kernel 7.1-no-parent-check --tasks N+1 --no-symmetry
//        --ops packed::kAlphabet --depth 64
// explores the same states (the benchmark checks that the counts agree, level by
// level), and bench/spin/autoreap_siblings.pml is the same machine in Promela.
//
// A task's nibble: 0 unused; 1..6 running, by kind; 7..12 zombie, by kind; 13
// reaped; 14 reaped autoreap process. Kinds: 1 fork child (SIGCHLD), 2 autoreap
// child (0, autoreap), 3 child with a chosen 0, 4 CLONE_PARENT sibling with
// SIGCHLD, 5 CLONE_PARENT sibling with the autoreap zero (the leak), 6
// CLONE_PARENT sibling with a chosen 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checker/invariants.hpp"

namespace pidlab::checker::packed {

inline constexpr const char* kAlphabet =
    "fork@T,clone3=AUTOREAP/0@T,clone3=0/0@T,wait_all@T,clone3=PARENT@C,exit_group@C";
inline constexpr const char* kProfile = "7.1-no-parent-check";

enum Kind : uint8_t { kFork = 1, kAutoreap = 2, kChosenZero = 3, kSibling = 4, kLeak = 5, kSiblingZero = 6 };
enum Value : uint8_t { kUnused = 0, kZombie = 6, kReaped = 13, kReapedAutoreap = 14 };

struct System {
    using State = uint64_t;
    using Key = uint64_t;
    static constexpr bool kStoreStates = true;

    int n = 6;          // created tasks at most (<= 15)
    InvMask mask = 0;   // no_clone_parent_leak, no_invisible_zombie, autoreap_no_zombie are judged

    State root() const { return 0; }
    Key key(State s) const { return s; }
    int key_bits() const { return 4 * n; }  // a state is n nibbles: keys < 2^(4n) (StoreKind::Dense)
    void root_violations(State, std::vector<Violation>&) const {}
    static int get(State s, int i) { return int(s >> (4 * i) & 15); }
    static State put(State s, int i, int v) { return (s & ~(State{15} << (4 * i))) | (State(v) << (4 * i)); }
    static int sibling_kind(int k) {
        static constexpr int cp[7] = {0, kSibling, kLeak, kSiblingZero, kSibling, kLeak, kSiblingZero};
        return cp[k];
    }

    // The violations of state s among the invariants in `watch` (a subset of `mask`).
    void violations(State s, std::vector<Violation>& v, InvMask watch) const;
    void violations(State s, std::vector<Violation>& v) const { violations(s, v, mask); }
    // Whether any nibble of s holds a value some invariant objects to (a leak, running or zombie,
    // or an autoreap zombie): a word-at-a-time test (SWAR), before the per-task look.
    static bool has_nibble(State s, unsigned v) {
        const State x = s ^ (State(v) * 0x1111111111111111ull);  // nibbles equal to v become 0
        return ((x - 0x1111111111111111ull) & ~x & 0x8888888888888888ull) != 0;
    }
    bool may_violate(State s) const {
        const State used = n >= 16 ? ~State{0} : (State{1} << (4 * n)) - 1;
        const State pad = ~used & 0x1111111111111111ull;  // unused nibbles as 1: never 0 after the xor below
        auto has = [&](unsigned v) { return has_nibble((s & used) | (v == 1 ? pad << 1 : pad), v); };
        return has(kLeak) || has(unsigned(kZombie) + kLeak) || has(unsigned(kZombie) + kAutoreap);
    }

    // `open`: the invariants the search still watches (those already violated are not judged again).
    template <class Emit>
    void expand(State s, Emit&& emit, InvMask open = ~InvMask{0}) const {
        thread_local std::vector<Violation> viol;
        viol.clear();
        const InvMask watch = mask & open;
        int next = 0;
        while (next < n && get(s, next) != kUnused) ++next;
        auto out = [&](uint32_t op, State t) {
            if (watch && may_violate(t)) {
                viol.clear();
                violations(t, viol, watch);
            } else if (!viol.empty()) {
                viol.clear();
            }
            Key k = t;
            State st = t;
            emit(op, std::move(k), std::move(st), viol);
        };
        if (next < n) {
            out(0, put(s, next, kFork));
            out(1, put(s, next, kAutoreap));
            out(2, put(s, next, kChosenZero));
        }
        // waitpid(-1, WNOHANG|__WALL): the first zombie in T's children list (creation order)
        int z = 0;
        while (z < next && !(get(s, z) > kZombie && get(s, z) <= kZombie + 6)) ++z;
        out(3, z < next ? put(s, z, kReaped) : s);
        for (int i = 0; i < next; ++i) {
            int v = get(s, i);
            if (v < 1 || v > 6) continue;  // not running
            if (next < n) out(4 | uint32_t(i) << 8, put(s, next, sibling_kind(v)));
            out(5 | uint32_t(i) << 8, put(s, i, v == kAutoreap ? kReapedAutoreap : kZombie + v));
        }
    }
    void apply(State& s, uint32_t op) const;
    static std::string describe(uint32_t op);
};

}  // namespace pidlab::checker::packed
