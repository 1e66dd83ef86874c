// Helpers for the checker's tests: kernels built through the public system calls,
// plus the model's test friend to set up states no system call reaches (a
// "broken kernel"), so that every invariant can be shown violated.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checker/invariants.hpp"
#include "format/names.hpp"
#include "model/kernel.hpp"
#include "model/profile.hpp"

namespace pidlab::model {
// The friend kernel.hpp declares for tests (this test binary's own definition).
struct KernelTestAccess {
    static Task& task(Kernel& k, TaskId t) { return k.tasks_[t]; }
    static SignalStruct& signal(Kernel& k, TaskId t) { return k.signals_[k.tasks_[t].signal]; }
};
}  // namespace pidlab::model

namespace pidlab::checktest {

using namespace pidlab::model;
using namespace pidlab::names;
using namespace pidlab::checker;
using Access = pidlab::model::KernelTestAccess;

inline Profile prof(const std::string& n) { return *find_profile(n); }
inline constexpr Cred kRoot{0, 0, 0, true};
inline constexpr Cred kUser{1000, 1000, 1000, false};

inline CloneArgs c3(uint64_t flags, int sig = 0) {
    CloneArgs a;
    a.flags = flags;
    a.exit_signal = sig;
    return a;
}
inline CloneArgs fork_args() {
    CloneArgs a;
    a.clone3 = false;
    a.exit_signal = kSIGCHLD;
    return a;
}

// A kernel and its bookkeeping, driven like the explorer drives it.
struct World {
    Kernel k;
    Aux aux;
    explicit World(const std::string& p = "7.1", Cred c = kRoot) : k(prof(p), c) {}
    explicit World(const Profile& p, Cred c = kRoot) : k(p, c) {}
    SysRet clone(TaskId cur, const CloneArgs& a) {
        size_t f0 = k.files().size();
        SysRet r = k.sys_clone(cur, a);
        k.settle();
        note_new_files(k, f0, cur, a.clone3 && (a.flags & CF_PIDFD_AUTOKILL), aux);
        return r;
    }
    SysRet pidfd_open(TaskId cur, TaskId t) {
        size_t f0 = k.files().size();
        SysRet r = k.sys_pidfd_open(cur, t, 0);
        note_new_files(k, f0, cur, false, aux);
        return r;
    }
    template <class F>
    SysRet run(F&& f) {
        SysRet r = f(k);
        k.settle();
        return r;
    }
};

inline std::vector<std::string> names_of(const std::vector<Violation>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(invariants()[x.inv].name);
    return out;
}
inline bool has(const std::vector<Violation>& v, const std::string& inv) {
    auto n = names_of(v);
    return std::find(n.begin(), n.end(), inv) != n.end();
}
inline InvMask only(const std::string& inv) { return 1u << *invariant_index(inv); }

inline std::vector<Violation> state_violations(const World& w, const std::string& inv) {
    std::vector<Violation> v;
    check_state(w.k, w.aux, only(inv), v);
    return v;
}

// Runs `step` on a copy of `w` and returns the violations of that transition (and state).
template <class F>
std::vector<Violation> step_violations(World& w, const std::string& inv, TaskId actor, F&& step) {
    Kernel before = w.k;
    Aux aux_before = w.aux;
    size_t e0 = w.k.events.size();
    step(w);
    std::vector<Violation> v;
    TransitionView tv{before, aux_before, w.k, w.aux, e0, actor};
    check_step(tv, only(inv), v);
    return v;
}

}  // namespace pidlab::checktest
