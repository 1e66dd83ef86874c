// kernel/signal.c: do_notify_parent, signal generation, kill permission, sigaction.
//
// Every task in a scenario blocks every signal it can (the format's rule: a
// signal other than SIGKILL is held pending, not delivered), so generation
// never finds a signal ignored (sig_ignored: "Blocked signals are never
// ignored") and only SIGKILL acts.
#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;

namespace {
constexpr int EPERM_ = 1, ESRCH_ = 3, EINVAL_ = 22;

bool valid_signal(int sig) { return sig >= 0 && sig <= kNSIG; }
// sig_kernel_ignore: signals whose default action is to ignore them
bool sig_kernel_ignore(int sig) { return sig == kSIGCHLD || sig == kSIGCONT || sig == 23 /*SIGURG*/ || sig == 28 /*SIGWINCH*/; }
}  // namespace

bool Kernel::sigismember_pending(TaskId t, int sig) const {
    uint64_t bit = 1ULL << (sig - 1);
    return (tasks_[t].pending & bit) || (signals_[tasks_[t].signal].shared_pending & bit);
}

// kernel/signal.c: do_notify_parent. Returns true when the child is to be reaped at once.
bool Kernel::do_notify_parent(TaskId tsk, int sig) {
    const Task& t = tasks_[tsk];
    TaskId parent = t.parent;
    bool autoreap = false;
    if (parent == kNoTask) return false;
    // do_notify_pidfd: pollers are woken; poll in the model reads the state directly.
    if (sig != kSIGCHLD) {
        // the parent exec'd since the child was created: "changed security domain"
        if (t.parent_exec_id != tasks_[parent].self_exec_id) sig = kSIGCHLD;
    }
    const Sighand& psig = sighands_[tasks_[parent].sighand];
    if (!t.ptraced && sig == kSIGCHLD &&
        (psig.action[kSIGCHLD - 1] == Handler::Ign || (psig.flags[kSIGCHLD - 1] & kSA_NOCLDWAIT))) {
        // POSIX.1: the parent doesn't care; SA_NOCLDWAIT still sends the signal
        autoreap = true;
        if (psig.action[kSIGCHLD - 1] == Handler::Ign) sig = 0;
    }
    // The series (all revisions): an autoreap child never becomes a zombie and sends nothing.
    if (!t.ptraced && signals_[t.signal].autoreap) {
        autoreap = true;
        sig = 0;
    }
    if (valid_signal(sig) && sig) send_signal(parent, sig, true, false);  // __group_send_sig_info
    // __wake_up_parent: blocked waiters rescan; the model's wait never sleeps.
    return autoreap;
}

// kernel/signal.c: send_signal_locked / prepare_signal / complete_signal, for blocked signals.
void Kernel::send_signal(TaskId t, int sig, bool group, bool force) {
    SignalStruct& s = signals_[tasks_[t].signal];
    // prepare_signal: a group that is exiting takes no more signals
    if (s.group_exit) return;
    if (tasks_[t].exit_state != ExitState::Running && !group) return;
    if (sig == kSIGKILL) {
        // sig_task_ignored: a namespace init ignores SIGKILL from inside unless it is forced
        if (s.unkillable && !force) return;
        complete_fatal(t);
        return;
    }
    uint64_t bit = 1ULL << (sig - 1);
    if (group) s.shared_pending |= bit;
    else tasks_[t].pending |= bit;
}

// kernel/signal.c: complete_signal for a fatal signal: the whole group exits with it.
void Kernel::complete_fatal(TaskId t) {
    SignalStruct& s = signals_[tasks_[t].signal];
    s.group_exit = true;
    s.group_exit_code = kSIGKILL;
    for (TaskId th : s.threads) {
        Task& o = tasks_[th];
        if (o.exit_state == ExitState::Running && !o.pf_exiting) {
            o.exit_requested = true;
            o.pending |= 1ULL << (kSIGKILL - 1);
            o.last_rule = "kernel/signal.c: complete_signal (SIGKILL)";
        }
    }
}

// kernel/signal.c: kill_ok_by_cred
bool Kernel::kill_ok_by_cred(TaskId current, TaskId t) const {
    const Cred& c = tasks_[current].cred;
    const Cred& tc = tasks_[t].cred;
    return c.euid == tc.suid || c.euid == tc.uid || c.uid == tc.suid || c.uid == tc.uid || c.caps;  // CAP_KILL
}

// kernel/signal.c: check_kill_permission
int Kernel::check_kill_permission(TaskId current, int sig, TaskId t) const {
    if (!valid_signal(sig)) return EINVAL_;
    if (same_thread_group(current, t)) return 0;
    if (kill_ok_by_cred(current, t)) return 0;
    if (sig == kSIGCONT) return 0;  // every task of a scenario shares one session
    return EPERM_;
}

// kernel/signal.c: kill_proc_info -> kill_pid_info -> group_send_sig_info
SysRet Kernel::sys_kill(TaskId current, TaskId target, int sig) {
    if (target == kNoTask || tasks_[target].exit_state == ExitState::Released)
        return fail(ESRCH_, "kernel/signal.c: kill_pid_info (no such process)");
    if (int err = check_kill_permission(current, sig, target))
        return fail(err, err == EPERM_ ? "kernel/signal.c: check_kill_permission (kill_ok_by_cred failed)"
                                       : "kernel/signal.c: check_kill_permission (invalid signal)");
    SysRet r;
    r.rule = "kernel/signal.c: group_send_sig_info";
    if (sig) {
        send_signal(target, sig, true, false);
        if (sig == kSIGKILL && signals_[tasks_[target].signal].unkillable)
            r.rule = "kernel/signal.c: sig_task_ignored (SIGNAL_UNKILLABLE init)";
    }
    return r;
}

// kernel/signal.c: SYSCALL pidfd_send_signal
SysRet Kernel::sys_pidfd_send_signal(TaskId current, int fd, int sig) {
    int err = 0;
    int f = pidfd_file(current, fd, err);
    if (f < 0) return fail(err, "kernel/signal.c: pidfd_send_signal (not a pidfd)");
    const File& file = files_[f];
    TaskId t = file.pid;
    // pid_task(pid, PIDFD_THREAD ? PIDTYPE_PID : PIDTYPE_TGID)
    bool gone = tasks_[t].exit_state == ExitState::Released || (!file.thread && !thread_group_leader(t));
    if (gone) return fail(ESRCH_, "kernel/signal.c: pidfd_send_signal (the process is gone)");
    if (int e = check_kill_permission(current, sig, t))
        return fail(e, e == EPERM_ ? "kernel/signal.c: check_kill_permission (a pidfd grants no signalling right)"
                                   : "kernel/signal.c: check_kill_permission (invalid signal)");
    SysRet r;
    r.rule = "kernel/signal.c: do_pidfd_send_signal";
    if (sig) send_signal(t, sig, !file.thread, false);
    return r;
}

// kernel/signal.c: do_sigaction
SysRet Kernel::sys_rt_sigaction(TaskId current, int sig, Handler h, unsigned flags) {
    if (sig < 1 || sig > kNSIG || sig == kSIGKILL || sig == kSIGSTOP)
        return fail(EINVAL_, "kernel/signal.c: do_sigaction (invalid or unchangeable signal)");
    Sighand& sh = sighands_[tasks_[current].sighand];
    sh.action[sig - 1] = h;
    sh.flags[sig - 1] = flags;
    // POSIX 3.3.1.3: setting a signal to be ignored discards it, even while blocked.
    if (h == Handler::Ign || (h == Handler::Dfl && sig_kernel_ignore(sig))) {
        uint64_t bit = 1ULL << (sig - 1);
        SignalStruct& s = signals_[tasks_[current].signal];
        s.shared_pending &= ~bit;
        for (TaskId th : s.threads) tasks_[th].pending &= ~bit;
    }
    SysRet r;
    r.rule = "kernel/signal.c: do_sigaction";
    return r;
}

// sigtimedwait(&{sig}, zero timeout): dequeue from the thread's queue, then the group's.
SysRet Kernel::signal_pending(TaskId current, int sig) {
    uint64_t bit = 1ULL << (sig - 1);
    SysRet r;
    r.rule = "kernel/signal.c: dequeue_signal";
    Task& t = tasks_[current];
    SignalStruct& s = signals_[t.signal];
    if (t.pending & bit) {
        t.pending &= ~bit;
        r.pending = true;
    } else if (s.shared_pending & bit) {
        s.shared_pending &= ~bit;
        r.pending = true;
    } else {
        r.pending = false;
    }
    return r;
}

}  // namespace pidlab::model
