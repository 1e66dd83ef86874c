// kernel/ptrace.c: PTRACE_SEIZE, PTRACE_DETACH, exit_ptrace, __ptrace_detach.
#include <algorithm>

#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;

namespace {
constexpr int EPERM_ = 1, ESRCH_ = 3;

}  // namespace

// kernel/ptrace.c: ptrace_attach (PTRACE_SEIZE)
SysRet Kernel::sys_ptrace_seize(TaskId current, TaskId target, bool exitkill) {
    if (target == kNoTask || tasks_[target].exit_state == ExitState::Released)
        return fail(ESRCH_, "kernel/ptrace.c: find_get_task_by_vpid (no such process)");
    if (same_thread_group(target, current)) return fail(EPERM_, "kernel/ptrace.c: ptrace_attach (own thread group)");
    // __ptrace_may_access(task, PTRACE_MODE_ATTACH_REALCREDS)
    const Cred& c = tasks_[current].cred;
    const Cred& tc = tasks_[target].cred;
    bool same_ids = c.uid == tc.uid && c.uid == tc.euid && c.uid == tc.suid && c.gid == tc.gid;
    if (!same_ids && !c.caps) return fail(EPERM_, "kernel/ptrace.c: __ptrace_may_access (credentials differ)");
    // __ptrace_may_access: a non-dumpable mm needs CAP_SYS_PTRACE
    if (!tasks_[target].dumpable && !c.caps) return fail(EPERM_, "kernel/ptrace.c: __ptrace_may_access (not dumpable)");
    // cap_ptrace_access_check: the target's capabilities must be a subset of the tracer's
    if (tc.caps && !c.caps) return fail(EPERM_, "security/commoncap.c: cap_ptrace_access_check");
    if (tasks_[target].exit_state != ExitState::Running)
        return fail(EPERM_, "kernel/ptrace.c: ptrace_attach (the task is exiting: exit_state is set)");
    if (tasks_[target].ptraced) return fail(EPERM_, "kernel/ptrace.c: ptrace_attach (already traced)");
    Task& t = tasks_[target];
    t.ptraced = true;
    t.ptrace_exitkill = exitkill;
    t.parent = current;  // ptrace_link
    tasks_[current].ptraced_list.push_back(target);
    t.last_rule = "kernel/ptrace.c: ptrace_attach";
    SysRet r;
    r.rule = "kernel/ptrace.c: ptrace_attach";
    return r;
}

// kernel/ptrace.c: ptrace_check_attach — PTRACE_DETACH needs the tracee in a ptrace-stop,
// and scenario tasks never stop.
SysRet Kernel::sys_ptrace_detach(TaskId current, TaskId target) {
    if (target == kNoTask || tasks_[target].exit_state == ExitState::Released)
        return fail(ESRCH_, "kernel/ptrace.c: find_get_task_by_vpid (no such process)");
    if (!tasks_[target].ptraced || tasks_[target].parent != current)
        return fail(ESRCH_, "kernel/ptrace.c: ptrace_check_attach (not our tracee)");
    return fail(ESRCH_, "kernel/ptrace.c: ptrace_check_attach (the tracee is not in a ptrace-stop)");
}

// kernel/ptrace.c: __ptrace_unlink
void Kernel::ptrace_unlink(TaskId p) {
    Task& t = tasks_[p];
    if (!t.ptraced) return;
    TaskId tracer = t.parent;
    if (tracer != kNoTask) {
        auto& l = tasks_[tracer].ptraced_list;
        l.erase(std::remove(l.begin(), l.end(), p), l.end());
    }
    t.ptraced = false;
    t.ptrace_exitkill = false;
    t.parent = t.real_parent;
}

// kernel/ptrace.c: ignoring_children
bool Kernel::ignoring_children(int sighand) const {
    const Sighand& sh = sighands_[sighand];
    return sh.action[kSIGCHLD - 1] == Handler::Ign || (sh.flags[kSIGCHLD - 1] & kSA_NOCLDWAIT);
}

// kernel/ptrace.c: __ptrace_detach. Returns true when the tracee is dead and must be released.
bool Kernel::ptrace_detach_task(TaskId tracer, TaskId p) {
    ptrace_unlink(p);
    if (tasks_[p].exit_state != ExitState::Zombie) return false;
    bool dead = !thread_group_leader(p);
    if (!dead && thread_group_empty(p)) {
        if (!same_thread_group(tasks_[p].real_parent, tracer)) {
            dead = do_notify_parent(p, tasks_[p].exit_signal);
        } else if (ignoring_children(tasks_[tracer].sighand) || signals_[tasks_[p].signal].autoreap) {
            // the autoreap test is the series' hunk in kernel/ptrace.c (all revisions)
            dead = true;  // __wake_up_parent(p, tracer)
        }
    }
    if (dead) {
        tasks_[p].exit_state = ExitState::Dead;
        tasks_[p].last_rule = "kernel/ptrace.c: __ptrace_detach";
    }
    return dead;
}

// kernel/ptrace.c: exit_ptrace
void Kernel::exit_ptrace(TaskId tracer, std::vector<TaskId>& dead) {
    std::vector<TaskId> traced = tasks_[tracer].ptraced_list;
    for (TaskId p : traced) {
        if (tasks_[p].ptrace_exitkill) send_signal(p, kSIGKILL, false, true);  // send_sig_info(SIGKILL, SEND_SIG_PRIV)
        if (ptrace_detach_task(tracer, p)) dead.push_back(p);
    }
}

}  // namespace pidlab::model
