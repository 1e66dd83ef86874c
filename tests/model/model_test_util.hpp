// Helpers shared by the model's unit tests (tests/model/*.cpp).
//
// KernelTestAccess is the friend that kernel.hpp declares for tests: it lets a
// test set up a state the system calls cannot reach (arbitrary credentials) or
// call one kernel function in isolation. Everything else goes through the
// public system calls and transitions.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "format/names.hpp"
#include "model/kernel.hpp"
#include "model/profile.hpp"

namespace pidlab::model {

struct KernelTestAccess {
    static Task& task(Kernel& k, TaskId t) { return k.tasks_[t]; }
    static SignalStruct& signal(Kernel& k, TaskId t) { return k.signals_[k.tasks_[t].signal]; }
    static void set_cred(Kernel& k, TaskId t, Cred c) { k.tasks_[t].cred = c; }
    static bool kill_ok_by_cred(const Kernel& k, TaskId cur, TaskId t) { return k.kill_ok_by_cred(cur, t); }
    static int check_kill_permission(const Kernel& k, TaskId cur, int sig, TaskId t) {
        return k.check_kill_permission(cur, sig, t);
    }
    static bool do_notify_parent(Kernel& k, TaskId t, int sig) { return k.do_notify_parent(t, sig); }
    static TaskId find_new_reaper(Kernel& k, TaskId father) { return k.find_new_reaper(father, k.child_reaper_); }
};

}  // namespace pidlab::model

namespace pidlab::test {

using namespace pidlab::model;
using namespace pidlab::names;
using Access = pidlab::model::KernelTestAccess;
using TK = Kernel::Transition;

// Sets the gids with the uids where the model has them (Cred::gid).
template <class C>
void set_gid(C& c, int gid) {
    if constexpr (requires { c.gid = gid; }) c.gid = gid;
}
inline Cred make_cred(int uid, int euid, int suid, bool caps) {
    Cred c;
    c.uid = uid, c.euid = euid, c.suid = suid, c.caps = caps;
    set_gid(c, uid);
    return c;
}
inline const Cred kRoot = make_cred(0, 0, 0, true);
inline const Cred kUser = make_cred(1000, 1000, 1000, false);

// The uid part of a Cred, for comparisons that do not care about gids.
struct Ids {
    int uid, euid, suid;
    bool caps;
    bool operator==(const Ids&) const = default;
};
inline Ids ids(const Cred& c) { return {c.uid, c.euid, c.suid, c.caps}; }
inline std::ostream& operator<<(std::ostream& os, const Ids& i) {
    return os << "{uid " << i.uid << ", euid " << i.euid << ", suid " << i.suid << ", caps " << i.caps << "}";
}
inline constexpr uint64_t kThreadFlags = CF_VM | CF_FS | CF_FILES | CF_SIGHAND | CF_THREAD | CF_SYSVSEM;
inline constexpr int EPERM_ = 1, ENOENT_ = 2, ESRCH_ = 3, EBADF_ = 9, ECHILD_ = 10, EAGAIN_ = 11, EINVAL_ = 22,
                     ENOTTY_ = 25, ENOSYS_ = 38;

inline Profile profile(const std::string& name) {
    auto p = find_profile(name);
    if (!p) throw std::runtime_error("no profile " + name);
    return *p;
}

inline Kernel make_kernel(const std::string& prof = "7.1", Cred c = kRoot) { return Kernel(profile(prof), c); }

// fork(): legacy clone with SIGCHLD.
inline CloneArgs fork_args() {
    CloneArgs a;
    a.clone3 = false;
    a.exit_signal = kSIGCHLD;
    return a;
}
inline CloneArgs clone3_args(uint64_t flags, int exit_signal = 0, uint64_t raw = 0) {
    CloneArgs a;
    a.flags = flags;
    a.exit_signal = exit_signal;
    a.raw_flags = raw;
    a.clone3 = true;
    return a;
}
inline CloneArgs clone_args(uint64_t flags, int exit_signal) {  // legacy clone(2)
    CloneArgs a;
    a.flags = flags;
    a.exit_signal = exit_signal;
    a.clone3 = false;
    return a;
}
inline CloneArgs thread_args() { return clone3_args(kThreadFlags, 0); }

// A clone that must succeed; throws (a test failure) otherwise.
inline SysRet must_clone(Kernel& k, TaskId cur, const CloneArgs& a) {
    SysRet r = k.sys_clone(cur, a);
    if (r.ret < 0)
        throw std::runtime_error(std::string("clone failed: errno ") + std::to_string(r.err) + " (" + r.rule + ")");
    return r;
}
inline TaskId spawn(Kernel& k, TaskId cur, const CloneArgs& a) { return must_clone(k, cur, a).task; }
inline TaskId do_fork(Kernel& k, TaskId cur) { return spawn(k, cur, fork_args()); }
inline TaskId do_thread(Kernel& k, TaskId cur) { return spawn(k, cur, thread_args()); }
// clone3 with CLONE_PIDFD: returns the task, stores the fd.
inline TaskId spawn_pidfd(Kernel& k, TaskId cur, uint64_t flags, int& fd, int exit_signal = 0) {
    SysRet r = must_clone(k, cur, clone3_args(flags | CF_PIDFD, exit_signal));
    fd = r.fd;
    return r.task;
}
inline constexpr uint64_t kAutokill = CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP;

inline int must_pidfd_open(Kernel& k, TaskId cur, TaskId target, unsigned flags = 0) {
    SysRet r = k.sys_pidfd_open(cur, target, flags);
    if (r.ret < 0) throw std::runtime_error(std::string("pidfd_open failed: ") + r.rule);
    return r.fd;
}

inline bool enabled(const Kernel& k, TK::Kind kind, TaskId t) {
    for (const auto& tr : k.enabled_transitions())
        if (tr.kind == kind && tr.task == t) return true;
    return false;
}
// Runs one specific transition; fails the test if it is not enabled.
inline void step(Kernel& k, TK::Kind kind, TaskId t) {
    if (!enabled(k, kind, t)) throw std::runtime_error("transition not enabled for task " + std::to_string(t));
    k.run_transition({kind, t});
}

// The fd table entry / file of an open fd; throws (a test failure, not a crash) if it is not open.
inline const FdEntry& entry(const Kernel& k, TaskId t, int fd) {
    const FdEntry* e = k.fd_entry(t, fd);
    if (!e) throw std::runtime_error("fd " + std::to_string(fd) + " is not open in task " + std::to_string(t));
    return *e;
}
inline int file_index(const Kernel& k, TaskId t, int fd) { return entry(k, t, fd).file; }
inline const File& file_at(const Kernel& k, TaskId t, int fd) { return k.file(file_index(k, t, fd)); }

// exit(2) up to PF_EXITING: do_exit has run (exit_files included), exit_notify has not.
inline void begin_exit(Kernel& k, TaskId t, int code = 0) {
    k.sys_exit(t, code);
    if (enabled(k, TK::DoExit, t)) k.run_transition({TK::DoExit, t});
    if (!k.task(t).pf_exiting) throw std::runtime_error("exit did not reach do_exit");
}

inline void exit_and_settle(Kernel& k, TaskId t, int code = 0) {
    k.sys_exit(t, code);
    k.settle();
}
inline void exit_group_and_settle(Kernel& k, TaskId t, int code = 0) {
    k.sys_exit_group(t, code);
    k.settle();
}

inline bool pending(const Kernel& k, TaskId t, int sig) { return k.sigismember_pending(t, sig); }
// Dequeue (sigtimedwait with a zero timeout): true if it was pending.
inline bool take(Kernel& k, TaskId t, int sig) { return *k.signal_pending(t, sig).pending; }

inline ExitState state(const Kernel& k, TaskId t) { return k.task(t).exit_state; }
inline bool is_released(const Kernel& k, TaskId t) { return state(k, t) == ExitState::Released; }
inline bool is_zombie(const Kernel& k, TaskId t) { return state(k, t) == ExitState::Zombie; }
inline bool is_running(const Kernel& k, TaskId t) { return state(k, t) == ExitState::Running; }

inline bool has_child(const Kernel& k, TaskId parent, TaskId child) {
    for (TaskId c : k.task(parent).children)
        if (c == child) return true;
    return false;
}

inline int exited(int code) { return (code & 0xff) << 8; }  // wait status of exit(code)
inline int killed(int sig) { return sig; }                  // wait status of a death by sig

inline bool rule_has(const SysRet& r, const std::string& s) { return std::string(r.rule).find(s) != std::string::npos; }

inline int autokill_events(const Kernel& k) {
    int n = 0;
    for (const auto& e : k.events) n += e.kind == Kernel::Event::AutokillSent;
    return n;
}

// Every piece of kernel state, as text: equal snapshots mean equal states.
inline std::string snapshot(const Kernel& k) {
    std::ostringstream os;
    for (size_t i = 0; i < k.tasks().size(); ++i) {
        const Task& t = k.tasks()[i];
        os << "task " << i << " pid=" << t.pid << " leader=" << t.leader << " rp=" << t.real_parent << " p=" << t.parent
           << " es=" << int(t.exit_state) << " pfx=" << t.pf_exiting << " req=" << t.exit_requested
           << " code=" << t.exit_code << " sig=" << t.exit_signal << " origin=" << int(t.origin) << "/" << t.origin_from
           << " pdeath=" << t.pdeath_signal << " nnp=" << t.no_new_privs << " tr=" << t.ptraced << t.ptrace_exitkill
           << " cred=" << t.cred.uid << "," << t.cred.euid << "," << t.cred.suid << "," << t.cred.caps
           << " s=" << t.signal << " sh=" << t.sighand << " f=" << t.files << " pend=" << t.pending
           << " exec=" << t.self_exec_id << "/" << t.parent_exec_id << " pidfs=" << t.pidfs_registered
           << t.pidfs_has_exit << t.pidfs_exit_code << " ak=" << t.autokilled << " rule=" << t.last_rule << " kids=";
        for (TaskId c : t.children) os << c << ",";
        os << " traced=";
        for (TaskId c : t.ptraced_list) os << c << ",";
        os << "\n";
        if (t.signal >= 0) {
            const SignalStruct& s = k.signal_of(static_cast<TaskId>(i));
            os << "  sig live=" << s.live << " q=" << s.quick_threads << " gx=" << s.group_exit << "/"
               << s.group_exit_code << " unk=" << s.unkillable << " ar=" << s.autoreap << " sr=" << s.is_child_subreaper
               << s.has_child_subreaper << " sp=" << s.shared_pending << " akp=" << s.autokill_pidfd << " th=";
            for (TaskId th : s.threads) os << th << ",";
            os << "\n";
        }
    }
    for (size_t i = 0; i < k.fd_tables().size(); ++i) {
        const FdTable& t = k.fd_tables()[i];
        os << "table " << i << " users=" << t.users << ":";
        for (const auto& e : t.entries) os << " " << e.fd << "->" << e.file << (e.cloexec ? "c" : "");
        os << "\n";
    }
    for (size_t i = 0; i < k.files().size(); ++i) {
        const File& f = k.files()[i];
        os << "file " << i << " refs=" << f.refs << " pid=" << f.pid << " th=" << f.thread << " nb=" << f.nonblock
           << " ak=" << f.autokill << " c3=" << f.clone3 << " addr=" << f.addr << " rel=" << f.released << "\n";
    }
    for (const auto& e : k.events) os << "event " << int(e.kind) << " " << e.file << " " << e.target << "\n";
    return os.str();
}

}  // namespace pidlab::test
