// kernel/exit.c: do_exit, exit_notify, reparenting, release_task, wait.
#include <algorithm>

#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;

namespace {
constexpr int ECHILD_ = 10, EINVAL_ = 22, EAGAIN_ = 11, EBADF_ = 9;


void erase_value(std::vector<TaskId>& v, TaskId t) { v.erase(std::remove(v.begin(), v.end(), t), v.end()); }
}  // namespace

const char* origin_name(SignalOrigin o) {
    switch (o) {
        case SignalOrigin::Initial: return "initial";
        case SignalOrigin::Requested: return "requested by the creator";
        case SignalOrigin::AutoreapImposed: return "imposed by CLONE_AUTOREAP";
        case SignalOrigin::CloneParent: return "inherited through CLONE_PARENT";
        case SignalOrigin::CloneParentAutoreap: return "inherited through CLONE_PARENT from an autoreap process";
        case SignalOrigin::ReparentReset: return "reset to SIGCHLD by reparent_leader";
        case SignalOrigin::ExecReset: return "reset to SIGCHLD by de_thread (exec)";
        case SignalOrigin::Thread: return "thread";
    }
    return "?";
}

// include/linux/sched/signal.h: thread_group_empty
bool Kernel::thread_group_empty(TaskId t) const {
    const auto& th = signals_[tasks_[t].signal].threads;
    return thread_group_leader(t) && th.size() == 1 && th[0] == t;
}

// include/linux/sched/signal.h: delay_group_leader
bool Kernel::delay_group_leader(TaskId t) const { return thread_group_leader(t) && !thread_group_empty(t); }

// ---------------------------------------------------------------- exit(2)

// kernel/exit.c: SYSCALL_DEFINE1(exit) -> do_exit((error_code & 0xff) << 8)
SysRet Kernel::sys_exit(TaskId current, int code) {
    Task& t = tasks_[current];
    t.exit_requested = true;
    t.exit_code = (code & 0xff) << 8;
    do_exit(current);  // the caller runs do_exit now; exit_notify follows as its own transition
    SysRet r;
    r.rule = "kernel/exit.c: do_exit";
    return r;
}

// kernel/exit.c: do_group_exit
SysRet Kernel::sys_exit_group(TaskId current, int code) {
    SignalStruct& s = signals_[tasks_[current].signal];
    int exit_code = (code & 0xff) << 8;
    if (s.group_exit) {
        exit_code = s.group_exit_code;
    } else {
        s.group_exit = true;
        s.group_exit_code = exit_code;
        // zap_other_threads: SIGKILL to every other thread
        for (TaskId th : s.threads) {
            if (th == current) continue;
            Task& o = tasks_[th];
            if (o.exit_state == ExitState::Running && !o.pf_exiting) {
                o.exit_requested = true;
                o.pending |= 1ULL << (kSIGKILL - 1);
                o.last_rule = "kernel/signal.c: zap_other_threads";
            }
        }
    }
    Task& t = tasks_[current];
    t.exit_requested = true;
    t.exit_code = exit_code;
    // The caller goes on into do_exit at once; the zapped threads exit when they next run.
    do_exit(current);
    SysRet r;
    r.rule = "kernel/exit.c: do_group_exit";
    return r;
}

// kernel/exit.c: do_exit, up to exit_task_work (the last fput of the task's files runs there).
void Kernel::do_exit(TaskId tsk) {
    Task& t = tasks_[tsk];
    SignalStruct& s = signals_[t.signal];
    int code = s.group_exit ? s.group_exit_code : t.exit_code;
    // synchronize_group_exit: the last thread to start exiting sets SIGNAL_GROUP_EXIT
    if (--s.quick_threads == 0 && !s.group_exit) {
        s.group_exit = true;
        s.group_exit_code = code;
    }
    t.pf_exiting = true;  // exit_signals
    --s.live;             // group_dead = atomic_dec_and_test(&signal->live)
    t.exit_code = code;
    exit_files(tsk);      // exit_files + exit_task_work: pidfs_file_release may send autokill SIGKILLs
    t.last_rule = "kernel/exit.c: do_exit";
}

// kernel/exit.c: exit_files
void Kernel::exit_files(TaskId tsk) {
    int table = tasks_[tsk].files;
    if (table < 0) return;
    tasks_[tsk].files = -1;
    put_fd_table(table);
}

// kernel/exit.c: exit_notify
void Kernel::exit_notify(TaskId tsk) {
    std::vector<TaskId> dead;
    forget_original_parent(tsk, dead);
    Task& t = tasks_[tsk];
    t.exit_state = ExitState::Zombie;
    bool autoreap;
    if (t.ptraced) {
        int sig = (thread_group_leader(tsk) && thread_group_empty(tsk) && !ptrace_reparented(tsk)) ? t.exit_signal : kSIGCHLD;
        autoreap = do_notify_parent(tsk, sig);
    } else if (thread_group_leader(tsk)) {
        autoreap = thread_group_empty(tsk) && do_notify_parent(tsk, tasks_[tsk].exit_signal);
    } else {
        autoreap = true;
    }
    Task& t2 = tasks_[tsk];
    t2.last_rule = "kernel/exit.c: exit_notify";
    if (autoreap) {
        t2.exit_state = ExitState::Dead;
        t2.last_rule = "kernel/exit.c: exit_notify (autoreap: EXIT_DEAD)";
    }
    // the dead list (reparented zombies, detached tracees) is released after the unlock:
    // each is EXIT_DEAD now and release_task runs as its own transition.
}

// kernel/exit.c: forget_original_parent
void Kernel::forget_original_parent(TaskId father, std::vector<TaskId>& dead) {
    if (!tasks_[father].ptraced_list.empty()) exit_ptrace(father, dead);
    TaskId reaper = find_child_reaper(father);
    if (tasks_[father].children.empty()) return;
    reaper = find_new_reaper(father, reaper);
    std::vector<TaskId> children = tasks_[father].children;
    for (TaskId p : children) {
        std::vector<TaskId> threads = signals_[tasks_[p].signal].threads;
        for (TaskId th : threads) {
            Task& t = tasks_[th];
            t.real_parent = reaper;
            if (!t.ptraced) t.parent = reaper;
            t.last_rule = "kernel/exit.c: forget_original_parent";
            if (t.pdeath_signal) {
                // group_send_sig_info(pdeath_signal, SEND_SIG_NOINFO, t, PIDTYPE_TGID): from "user",
                // so check_kill_permission applies with the exiting thread as the sender.
                if (check_kill_permission(father, t.pdeath_signal, th) == 0)
                    send_signal(th, tasks_[th].pdeath_signal, true, false);
            }
        }
        if (!same_thread_group(reaper, father)) reparent_leader(father, p, dead);
    }
    auto& rc = tasks_[reaper].children;
    rc.insert(rc.end(), tasks_[father].children.begin(), tasks_[father].children.end());
    tasks_[father].children.clear();
}

// kernel/exit.c: find_child_reaper
TaskId Kernel::find_child_reaper(TaskId father) {
    if (child_reaper_ != father) return child_reaper_;
    // The namespace init is exiting: another live thread of it takes over. (The scenario
    // contract keeps init alive, so zap_pid_ns_processes is never reached.)
    TaskId t = find_alive_thread(father);
    if (t != kNoTask) child_reaper_ = t;
    return child_reaper_;
}

// kernel/exit.c: find_alive_thread
TaskId Kernel::find_alive_thread(TaskId p) const {
    for (TaskId t : signals_[tasks_[p].signal].threads)
        if (!tasks_[t].pf_exiting && tasks_[t].exit_state == ExitState::Running) return t;
    return kNoTask;
}

// kernel/exit.c: find_new_reaper
TaskId Kernel::find_new_reaper(TaskId father, TaskId child_reaper) {
    TaskId thread = find_alive_thread(father);
    if (thread != kNoTask) return thread;
    if (signals_[tasks_[father].signal].has_child_subreaper) {
        // walk real_parent upward inside the pid namespace (init's parent is outside it)
        for (TaskId r = tasks_[father].real_parent; r != kNoTask; r = tasks_[r].real_parent) {
            if (!signals_[tasks_[r].signal].is_child_subreaper) continue;
            thread = find_alive_thread(r);
            if (thread != kNoTask) return thread;
        }
    }
    return child_reaper;
}

// kernel/exit.c: reparent_leader
void Kernel::reparent_leader(TaskId father, TaskId p, std::vector<TaskId>& dead) {
    (void)father;
    Task& t = tasks_[p];
    if (t.exit_state == ExitState::Dead) return;
    t.exit_signal = kSIGCHLD;  // "We don't want people slaying init."
    t.origin = SignalOrigin::ReparentReset;
    t.last_rule = "kernel/exit.c: reparent_leader";
    if (!t.ptraced && t.exit_state == ExitState::Zombie && thread_group_empty(p)) {
        if (do_notify_parent(p, tasks_[p].exit_signal)) {
            tasks_[p].exit_state = ExitState::Dead;
            tasks_[p].last_rule = "kernel/exit.c: reparent_leader (the new parent autoreaps)";
            dead.push_back(p);
        }
    }
    // kill_orphaned_pgrp: no stopped jobs exist in the model
}

// kernel/exit.c: release_task (loops on a zapped group leader)
void Kernel::release_task(TaskId p) {
    for (;;) {
        pidfs_exit(p);                            // fs/pidfs.c: pidfs_exit
        if (tasks_[p].ptraced) ptrace_unlink(p);  // ptrace_release_task
        unhash_process(p);                        // __exit_signal -> __unhash_process (wakes EPOLLHUP)
        TaskId leader = tasks_[p].leader;
        if (leader == p || !thread_group_empty(leader) || tasks_[leader].exit_state != ExitState::Zombie) return;
        SignalStruct& s = signals_[tasks_[leader].signal];
        if (s.group_exit) tasks_[leader].exit_code = s.group_exit_code;
        // "If we were the last child thread and the leader has exited already, and the
        // leader's parent ignores SIGCHLD, then we are the one who should release the leader."
        bool zap = do_notify_parent(leader, tasks_[leader].exit_signal);
        tasks_[leader].last_rule = "kernel/exit.c: release_task (the last thread notifies for the delayed leader)";
        if (!zap) return;
        tasks_[leader].exit_state = ExitState::Dead;
        p = leader;
    }
}

// kernel/exit.c: __unhash_process
void Kernel::unhash_process(TaskId p) {
    Task& t = tasks_[p];
    t.exit_state = ExitState::Released;
    if (t.last_rule[0] == 0 || std::string_view(t.last_rule).find("release") == std::string_view::npos)
        t.last_rule = "kernel/exit.c: release_task";
    erase_value(signals_[t.signal].threads, p);
    if (thread_group_leader(p) && t.real_parent != kNoTask) erase_value(tasks_[t.real_parent].children, p);
}

// ---------------------------------------------------------------- transitions

std::vector<Kernel::Transition> Kernel::enabled_transitions() const {
    std::vector<Transition> out;
    for (TaskId t = 0; t < static_cast<TaskId>(tasks_.size()); ++t)
        if (tasks_[t].exit_state == ExitState::Dead) out.push_back({Transition::ReleaseTask, t});
    for (TaskId t = 0; t < static_cast<TaskId>(tasks_.size()); ++t)
        if (tasks_[t].pf_exiting && tasks_[t].exit_state == ExitState::Running) out.push_back({Transition::ExitNotify, t});
    for (TaskId t = 0; t < static_cast<TaskId>(tasks_.size()); ++t)
        if (tasks_[t].exit_requested && !tasks_[t].pf_exiting && tasks_[t].exit_state == ExitState::Running)
            out.push_back({Transition::DoExit, t});
    return out;
}

void Kernel::run_transition(const Transition& tr) {
    switch (tr.kind) {
        case Transition::DoExit: do_exit(tr.task); break;
        case Transition::ExitNotify: exit_notify(tr.task); break;
        case Transition::ReleaseTask: release_task(tr.task); break;
    }
}

bool Kernel::next_transition(Transition& out) const {
    // the same order as enabled_transitions(), without building the list
    const auto n = static_cast<TaskId>(tasks_.size());
    for (TaskId t = 0; t < n; ++t)
        if (tasks_[t].exit_state == ExitState::Dead) return out = {Transition::ReleaseTask, t}, true;
    for (TaskId t = 0; t < n; ++t)
        if (tasks_[t].pf_exiting && tasks_[t].exit_state == ExitState::Running) return out = {Transition::ExitNotify, t}, true;
    for (TaskId t = 0; t < n; ++t)
        if (tasks_[t].exit_requested && !tasks_[t].pf_exiting && tasks_[t].exit_state == ExitState::Running)
            return out = {Transition::DoExit, t}, true;
    return false;
}

int Kernel::settle() {
    Transition t;
    int ran = 0;
    while (ran < 100000 && next_transition(t)) {
        run_transition(t);
        ++ran;
    }
    return ran;
}

// ---------------------------------------------------------------- wait

// kernel/exit.c: kernel_wait4
SysRet Kernel::sys_wait4(TaskId current, TaskId target, unsigned options) {
    if (options & ~(kWNOHANG | kWUNTRACED | kWCONTINUED | kWNOTHREAD | kWCLONE | kWALL))
        return fail(EINVAL_, "kernel/exit.c: kernel_wait4 (unknown option)");
    return do_wait(current, target == kNoTask ? WaitType::All : WaitType::Pid, target, options | kWEXITED, false);
}

// kernel/exit.c: kernel_waitid_prepare
SysRet Kernel::sys_waitid(TaskId current, WaitType type, TaskId target, int fd, unsigned options) {
    if (options & ~(kWNOHANG | kWNOWAIT | kWEXITED | kWUNTRACED | kWCONTINUED | kWNOTHREAD | kWCLONE | kWALL))
        return fail(EINVAL_, "kernel/exit.c: kernel_waitid_prepare (unknown option)");
    if (!(options & (kWEXITED | kWUNTRACED | kWCONTINUED)))
        return fail(EINVAL_, "kernel/exit.c: kernel_waitid_prepare (no WEXITED, WSTOPPED or WCONTINUED)");
    bool nonblock = false;
    if (type == WaitType::Pidfd) {
        int err = 0;
        int f = pidfd_file(current, fd, err);
        if (f < 0) return fail(err, "kernel/pid.c: pidfd_get_pid (not a pidfd)");
        target = files_[f].pid;
        nonblock = files_[f].nonblock;
    }
    SysRet r = do_wait(current, type, target, options | (nonblock ? kWNOHANG : 0), nonblock);
    // kernel/exit.c: kernel_waitid — O_NONBLOCK on the pidfd turns "nothing yet" into EAGAIN
    if (nonblock && !(options & kWNOHANG) && r.ret == 0 && !r.returns_id)
        return fail(EAGAIN_, "kernel/exit.c: kernel_waitid (PIDFD_NONBLOCK)");
    return r;
}

// kernel/exit.c: is_effectively_child
bool Kernel::is_effectively_child(TaskId current, unsigned options, bool ptrace, TaskId target) const {
    TaskId parent = ptrace ? tasks_[target].parent : tasks_[target].real_parent;
    if (parent == kNoTask) return false;
    return current == parent || (!(options & kWNOTHREAD) && same_thread_group(current, parent));
}

// kernel/exit.c: eligible_child
bool Kernel::eligible_child(unsigned options, TaskId target, bool ptrace, TaskId p) const {
    if (target != kNoTask && p != target) return false;  // eligible_pid
    if (ptrace || (options & kWALL)) return true;
    // a "clone child" (exit_signal != SIGCHLD) only with __WCLONE, a normal one only without
    if ((tasks_[p].exit_signal != kSIGCHLD) ^ ((options & kWCLONE) != 0)) return false;
    return true;
}

// kernel/exit.c: wait_task_zombie
int Kernel::wait_task_zombie(unsigned options, TaskId p, SysRet& out) {
    if (!(options & kWEXITED)) return 0;
    const SignalStruct& s = signals_[tasks_[p].signal];
    int status = s.group_exit ? s.group_exit_code : tasks_[p].exit_code;
    out.task = p;
    out.status = status;
    out.ret = tasks_[p].pid;
    out.returns_id = true;
    if (options & kWNOWAIT) {
        out.rule = "kernel/exit.c: wait_task_zombie (WNOWAIT)";
        return 1;
    }
    Task& t = tasks_[p];
    ExitState state = (ptrace_reparented(p) && thread_group_leader(p)) ? ExitState::Trace : ExitState::Dead;
    t.exit_state = state;
    out.rule = "kernel/exit.c: wait_task_zombie";
    if (state == ExitState::Trace) {
        // the tracer reaped it: untrace and notify the real parent
        ptrace_unlink(p);
        state = ExitState::Zombie;
        if (do_notify_parent(p, tasks_[p].exit_signal)) state = ExitState::Dead;
        tasks_[p].exit_state = state;
        tasks_[p].last_rule = "kernel/exit.c: wait_task_zombie (EXIT_TRACE: the tracer let go)";
        out.rule = "kernel/exit.c: wait_task_zombie (EXIT_TRACE)";
    }
    if (state == ExitState::Dead) {
        tasks_[p].last_rule = "kernel/exit.c: wait_task_zombie";
        release_task(p);
    }
    return 1;
}

// kernel/exit.c: wait_consider_task (stopped/continued states never arise in the model)
int Kernel::wait_consider_task(TaskId current, unsigned options, TaskId target, bool ptrace, TaskId p,
                               int& notask_error, SysRet& out) {
    (void)current;
    ExitState es = tasks_[p].exit_state;
    if (es == ExitState::Dead || es == ExitState::Released) return 0;
    if (!eligible_child(options, target, ptrace, p)) return 0;
    if (es == ExitState::Trace) {
        if (!ptrace) notask_error = 0;  // the debugger will notify us
        return 0;
    }
    if (!ptrace && tasks_[p].ptraced) {
        // traced by the real parent's own group: act as the tracer
        if (!ptrace_reparented(p)) ptrace = true;
    }
    if (es == ExitState::Zombie) {
        if (!delay_group_leader(p)) {
            // a zombie tracee is visible only to its tracer
            if (ptrace || !tasks_[p].ptraced) return wait_task_zombie(options, p, out);
        }
        if (!ptrace || (options & (kWCONTINUED | kWEXITED))) notask_error = 0;
    } else {
        notask_error = 0;  // alive: it will exit some day
    }
    return 0;
}

// kernel/exit.c: __do_wait (do_wait_pid, do_wait_thread, ptrace_do_wait)
SysRet Kernel::do_wait(TaskId current, WaitType type, TaskId target, unsigned options, bool) {
    int notask_error = ECHILD_;
    SysRet out;
    bool specific = type != WaitType::All;
    bool has_task = specific && target != kNoTask && tasks_[target].exit_state != ExitState::Released;
    if (!specific || has_task) {
        if (specific) {
            // do_wait_pid: the tgid's leader as a natural child, then the pid's task as a tracee
            if (thread_group_leader(target) && is_effectively_child(current, options, false, target)) {
                if (wait_consider_task(current, options, target, false, target, notask_error, out)) return out;
            }
            if (tasks_[target].exit_state != ExitState::Released && tasks_[target].ptraced &&
                is_effectively_child(current, options, true, target)) {
                if (wait_consider_task(current, options, target, true, target, notask_error, out)) return out;
            }
        } else {
            // every thread of the caller's group, starting with the caller (while_each_thread)
            std::vector<TaskId> threads = signals_[tasks_[current].signal].threads;
            auto it = std::find(threads.begin(), threads.end(), current);
            if (it != threads.end()) std::rotate(threads.begin(), it, threads.end());
            for (TaskId tsk : threads) {
                std::vector<TaskId> children = tasks_[tsk].children;
                for (TaskId p : children)
                    if (wait_consider_task(current, options, kNoTask, false, p, notask_error, out)) return out;
                std::vector<TaskId> traced = tasks_[tsk].ptraced_list;
                for (TaskId p : traced)
                    if (wait_consider_task(current, options, kNoTask, true, p, notask_error, out)) return out;
                if (options & kWNOTHREAD) break;
            }
        }
    }
    if (notask_error) return fail(notask_error, "kernel/exit.c: __do_wait (no eligible child)");
    if (!(options & kWNOHANG)) {
        SysRet r;
        r.would_block = true;
        r.rule = "kernel/exit.c: __do_wait (an eligible child has nothing to report yet)";
        return r;
    }
    SysRet r;
    r.ret = 0;
    r.rule = "kernel/exit.c: __do_wait (WNOHANG: an eligible child has nothing to report yet)";
    return r;
}

}  // namespace pidlab::model
