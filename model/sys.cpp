// kernel/sys.c (prctl, setresuid), kernel/cred.c (commit_creds), fs/exec.c (execve).
#include <algorithm>

#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;

namespace {
constexpr int EPERM_ = 1, EINVAL_ = 22;

}  // namespace

// kernel/sys.c: prctl(PR_SET_CHILD_SUBREAPER)
SysRet Kernel::sys_prctl_set_child_subreaper(TaskId current, long long v) {
    SignalStruct& s = signals_[tasks_[current].signal];
    s.is_child_subreaper = v != 0;
    if (v) propagate_has_child_subreaper(tasks_[current].leader);
    return ok("kernel/sys.c: prctl (PR_SET_CHILD_SUBREAPER)");
}

// kernel/sys.c: walk_process_tree(propagate_has_child_subreaper) over every descendant
void Kernel::propagate_has_child_subreaper(TaskId leader) {
    for (TaskId th : signals_[tasks_[leader].signal].threads) {
        std::vector<TaskId> children = tasks_[th].children;
        for (TaskId c : children) {
            SignalStruct& cs = signals_[tasks_[c].signal];
            // skip subtrees that already have it, or that are rooted at a pid-ns reaper
            if (cs.has_child_subreaper || c == child_reaper_) continue;
            cs.has_child_subreaper = true;
            propagate_has_child_subreaper(c);
        }
    }
}

SysRet Kernel::sys_prctl_get_child_subreaper(TaskId current) {
    SysRet r = ok("kernel/sys.c: prctl (PR_GET_CHILD_SUBREAPER)");
    r.value = signals_[tasks_[current].signal].is_child_subreaper ? 1 : 0;
    return r;
}

// kernel/sys.c: prctl(PR_SET_NO_NEW_PRIVS): arg2 must be 1; one-way
SysRet Kernel::sys_prctl_set_no_new_privs(TaskId current, long long v) {
    if (v != 1) return fail(EINVAL_, "kernel/sys.c: prctl (PR_SET_NO_NEW_PRIVS needs 1)");
    tasks_[current].no_new_privs = true;
    return ok("kernel/sys.c: prctl (PR_SET_NO_NEW_PRIVS)");
}

SysRet Kernel::sys_prctl_get_no_new_privs(TaskId current) {
    SysRet r = ok("kernel/sys.c: prctl (PR_GET_NO_NEW_PRIVS)");
    r.ret = tasks_[current].no_new_privs ? 1 : 0;
    r.value = r.ret;
    return r;
}

// kernel/sys.c: prctl(PR_SET_PDEATHSIG)
SysRet Kernel::sys_prctl_set_pdeathsig(TaskId current, long long v) {
    if (v < 0 || v > kNSIG) return fail(EINVAL_, "kernel/sys.c: prctl (PR_SET_PDEATHSIG: invalid signal)");
    tasks_[current].pdeath_signal = static_cast<int>(v);
    return ok("kernel/sys.c: prctl (PR_SET_PDEATHSIG)");
}

SysRet Kernel::sys_prctl_get_pdeathsig(TaskId current) {
    SysRet r = ok("kernel/sys.c: prctl (PR_GET_PDEATHSIG)");
    r.value = tasks_[current].pdeath_signal;
    return r;
}

// kernel/cred.c: commit_creds — a change of euid (or a gain of capabilities) resets
// pdeath_signal and makes the task non-dumpable. Credentials are per thread.
void Kernel::commit_creds(TaskId t, const Cred& next) {
    Task& task = tasks_[t];
    bool changed = next.euid != task.cred.euid || next.gid != task.cred.gid;  // euid, egid (fsuid/fsgid follow)
    bool caps_gained = next.caps && !task.cred.caps;
    if (changed || caps_gained) {
        task.pdeath_signal = 0;
        // set_dumpable(task->mm, suid_dumpable): the mm is shared by the thread group
        for (TaskId th : signals_[task.signal].threads) tasks_[th].dumpable = false;
        task.dumpable = false;
    }
    task.cred = next;
}

// kernel/sys.c: __sys_setresuid(uid, uid, uid)
SysRet Kernel::sys_setresuid(TaskId current, int uid) {
    Cred old = tasks_[current].cred;
    bool allowed = old.caps || uid == old.uid || uid == old.euid || uid == old.suid;  // CAP_SETUID
    if (!allowed) return fail(EPERM_, "kernel/sys.c: __sys_setresuid (no CAP_SETUID)");
    Cred next = old;
    next.uid = next.euid = next.suid = uid;
    // security/commoncap.c: cap_emulate_setxuid — leaving root for good drops the capabilities
    if ((old.uid == 0 || old.euid == 0 || old.suid == 0) && uid != 0) next.caps = false;
    commit_creds(current, next);
    return ok("kernel/sys.c: __sys_setresuid");
}

// setresgid(uid) + setresuid(uid) + capset(none), each a separate commit_creds
SysRet Kernel::drop_privileges(TaskId current, int uid) {
    Cred old = tasks_[current].cred;
    // __sys_setresgid: CAP_SETGID, or the new gid is one of the old ones
    if (!old.caps && uid != old.gid) return fail(EPERM_, "kernel/sys.c: __sys_setresgid (no CAP_SETGID)");
    Cred g = old;
    g.gid = uid;
    commit_creds(current, g);
    // __sys_setresuid: CAP_SETUID, or the new uid is one of the old ones
    if (!g.caps && uid != g.uid && uid != g.euid && uid != g.suid)
        return fail(EPERM_, "kernel/sys.c: __sys_setresuid (no CAP_SETUID)");
    Cred u = g;
    u.uid = u.euid = u.suid = uid;
    commit_creds(current, u);
    Cred c = u;
    c.caps = false;  // capset(none)
    commit_creds(current, c);
    return ok("kernel/sys.c: __sys_setresgid + __sys_setresuid + kernel/capability.c: capset");
}

// fs/exec.c: de_thread — kill the other threads; a non-leader takes over the leader's pid.
void Kernel::de_thread(TaskId tsk) {
    SignalStruct& s = signals_[tasks_[tsk].signal];
    std::vector<TaskId> others;
    for (TaskId th : s.threads)
        if (th != tsk) others.push_back(th);
    if (others.empty()) return;
    // zap_other_threads, then wait until they are gone (the leader stays a zombie)
    for (TaskId th : others) {
        Task& o = tasks_[th];
        if (o.exit_state == ExitState::Running && !o.pf_exiting) {
            o.exit_requested = true;
            o.exit_code = 0;  // do_group_exit: exit code 0 while signal->group_exec_task is set
        }
    }
    for (TaskId th : others) {
        if (tasks_[th].exit_state == ExitState::Running && !tasks_[th].pf_exiting) do_exit(th);
        if (tasks_[th].exit_state == ExitState::Running) exit_notify(th);
        if (tasks_[th].exit_state == ExitState::Dead) release_task(th);
    }
    TaskId leader = tasks_[tsk].leader;
    if (leader != tsk) {
        // exchange_tids / transfer_pid: tsk becomes the leader under the leader's pid, the old
        // leader takes tsk's. Pidfds and pidfs attributes belong to the struct pid: they follow it.
        Task& t = tasks_[tsk];
        Task& l = tasks_[leader];
        std::swap(t.pid, l.pid);
        std::swap(t.pidfs_registered, l.pidfs_registered);
        std::swap(t.pidfs_has_exit, l.pidfs_has_exit);
        std::swap(t.pidfs_exit_code, l.pidfs_exit_code);
        for (File& f : files_) {
            if (f.pid == leader) f.pid = tsk;
            else if (f.pid == tsk) f.pid = leader;
        }
        t.leader = tsk;
        t.real_parent = l.real_parent;
        if (!t.ptraced) t.parent = t.real_parent;  // de_thread never touches tsk->parent of a tracee
        if (t.real_parent != kNoTask) {
            auto& rc = tasks_[t.real_parent].children;
            std::replace(rc.begin(), rc.end(), leader, tsk);  // list_replace_init(&leader->sibling, &tsk->sibling)
        }
        t.children.insert(t.children.end(), l.children.begin(), l.children.end());
        l.exit_signal = -1;
        l.exit_state = ExitState::Dead;
        auto& th = signals_[t.signal].threads;
        th.erase(std::remove(th.begin(), th.end(), tsk), th.end());
        th.insert(th.begin(), tsk);
        l.leader = tsk;
        l.last_rule = "fs/exec.c: de_thread (a thread exec'd and took over the pid)";
        l.children.clear();
        if (l.ptraced) ptrace_unlink(leader);
        // release_task(leader), without the parent's notification
        pidfs_exit(leader);
        l.exit_state = ExitState::Released;
        th.erase(std::remove(th.begin(), th.end(), leader), th.end());
    }
}

// fs/exec.c: execve of the oracle's helper (setuid root or plain)
SysRet Kernel::sys_execve(TaskId current, bool setuid_root, bool keep_fds) {
    de_thread(current);
    Task& t = tasks_[current];
    t.exit_signal = kSIGCHLD;  // de_thread: "we have changed execution domain"
    t.origin = SignalOrigin::ExecReset;
    // unshare_sighand: a CLONE_SIGHAND sibling process keeps the old table
    if (sighands_[t.sighand].users > 1) {
        Sighand sh = sighands_[t.sighand];
        sighands_[t.sighand].users--;
        sh.users = 1;
        t.sighand = static_cast<int>(sighands_.size());
        sighands_.push_back(sh);
    }
    // flush_signal_handlers(me, 0): caught signals go back to SIG_DFL, SIG_IGN stays; flags cleared
    Sighand& sh = sighands_[tasks_[current].sighand];
    for (int i = 0; i < 64; ++i) {
        if (sh.action[i] == Handler::Catch) sh.action[i] = Handler::Dfl;
        sh.flags[i] = 0;
    }
    // unshare_files, then do_close_on_exec
    Task& t2 = tasks_[current];
    if (tables_[t2.files].users > 1) {
        int old = t2.files;
        t2.files = copy_fd_table(old);
        tables_[old].users--;
    }
    auto& entries = tables_[tasks_[current].files].entries;
    if (keep_fds)
        for (auto& e : entries) e.cloexec = false;  // the step cleared FD_CLOEXEC first
    std::vector<int> closing;
    for (auto it = entries.begin(); it != entries.end();) {
        if (it->cloexec) {
            closing.push_back(it->file);
            it = entries.erase(it);
        } else {
            ++it;
        }
    }
    for (int f : closing) fput(f);
    // bprm_fill_uid / cap_bprm_creds_from_file
    Task& t3 = tasks_[current];
    Cred old = t3.cred;
    Cred next = old;
    bool nnp = t3.no_new_privs;
    bool setid = setuid_root && !nnp && old.euid != 0;  // no_new_privs: the setuid bit is ignored
    if (setuid_root && !nnp) next.euid = 0;
    bool root = next.euid == 0 || next.uid == 0;
    bool gains = root && !old.caps;
    if (gains && nnp) {
        // LSM_UNSAFE_NO_NEW_PRIVS: no capabilities beyond the old permitted set
        next.caps = old.caps;
        next.euid = next.uid;
    } else {
        next.caps = root;
    }
    next.suid = next.euid;
    // cap_bprm_creds_from_file: "privilege-elevated exec" when ids change or euid != the old uid
    bool secureexec = setid || next.euid != old.uid || (gains && next.uid != 0);
    commit_creds(current, next);
    if (secureexec) tasks_[current].pdeath_signal = 0;  // begin_new_exec: bprm->secureexec
    // begin_new_exec: set_dumpable(SUID_DUMP_USER) when uid == euid and gid == egid, else suid_dumpable (0)
    tasks_[current].dumpable = next.euid == next.uid;
    tasks_[current].self_exec_id++;
    SysRet r = ok(setid ? "fs/exec.c: bprm_fill_uid (setuid root)"
                        : (setuid_root && nnp ? "fs/exec.c: bprm_fill_uid (no_new_privs: setuid ignored)"
                                              : "fs/exec.c: begin_new_exec"));
    r.euid = tasks_[current].cred.euid;
    return r;
}

}  // namespace pidlab::model
