// The dispatcher of resolved steps (model::Call), the rules of whether a step can
// run, and the op table's model functions for the ops whose kernel paths take
// their own arguments (each unpacks the call; format/ops.def names them).
#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;
using scenario::Op;

SysRet Kernel::perform(const Call& c) {
    switch (c.op) {
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) \
    case Op::Id: return fn(c);
#include "format/ops.def"
#undef PIDLAB_OP
    }
    return fail(22, "pidlab: unknown op");
}

Refusal Kernel::refusal(const Call& c, bool blocking) const {
    if (!alive(c.actor)) return Refusal::NotAlive;
    // The world's rule (docs/scenario-format.md): pid 1 of the scenario never exits.
    if (c.actor == kInit && scenario::op_info(c.op).has(scenario::OP_ENDS_CALLER)) return Refusal::InitNeverExits;
    if (blocking && scenario::op_info(c.op).has(scenario::OP_MAY_BLOCK) && would_block(c)) return Refusal::WouldBlock;
    return Refusal::None;
}

bool Kernel::would_block(const Call& c, Kernel* scratch) const {
    switch (c.op) {
        case Op::Waitpid:
        case Op::Waitid: {
            // kernel/exit.c: do_wait — whether it sleeps is decided by the whole walk over the
            // children: run it on a copy.
            if (c.options & kWNOHANG) return false;
            if (scratch) {
                *scratch = *this;
                return scratch->perform(c).would_block;
            }
            Kernel dry = *this;
            return dry.perform(c).would_block;
        }
        default: return false;
    }
}

// ---- the op table's model functions ----

namespace {
Handler to_handler(scenario::Handler h) {
    switch (h) {
        case scenario::Handler::Dfl: return Handler::Dfl;
        case scenario::Handler::Ign: return Handler::Ign;
        case scenario::Handler::Catch: return Handler::Catch;
    }
    return Handler::Dfl;
}
CloneArgs clone_args(const Call& c, bool clone3) {
    CloneArgs a;
    a.flags = c.flags;
    a.raw_flags = c.raw_flags;
    a.exit_signal = c.exit_signal;
    a.clone3 = clone3;
    return a;
}
}  // namespace

// kernel/fork.c: SYSCALL fork — kernel_clone with SIGCHLD and no flags
SysRet Kernel::sys_fork(const Call& c) {
    CloneArgs a;
    a.clone3 = false;
    a.exit_signal = kSIGCHLD;
    return sys_clone(c.actor, a);
}

// kernel/fork.c: sys_clone3
SysRet Kernel::sys_clone3(const Call& c) { return sys_clone(c.actor, clone_args(c, true)); }

// kernel/fork.c: SYSCALL clone — flags and the exit signal (CSIGNAL) in one word
SysRet Kernel::sys_clone(const Call& c) { return sys_clone(c.actor, clone_args(c, false)); }

// glibc pthread_create: clone3 with the thread flags (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM)
SysRet Kernel::sys_thread_create(const Call& c) {
    CloneArgs a;
    a.flags = CF_VM | CF_FS | CF_FILES | CF_SIGHAND | CF_THREAD | CF_SYSVSEM;
    a.exit_signal = 0;
    return sys_clone(c.actor, a);
}

SysRet Kernel::sys_exit(const Call& c) { return sys_exit(c.actor, c.code); }
SysRet Kernel::sys_exit_group(const Call& c) { return sys_exit_group(c.actor, c.code); }
SysRet Kernel::sys_kill(const Call& c) { return sys_kill(c.actor, c.target, c.sig); }
SysRet Kernel::sys_pidfd_send_signal(const Call& c) { return sys_pidfd_send_signal(c.actor, c.fd, c.sig); }
SysRet Kernel::sys_rt_sigaction(const Call& c) {
    return sys_rt_sigaction(c.actor, c.sig, to_handler(c.handler), static_cast<unsigned>(c.flags));
}
SysRet Kernel::sys_wait4(const Call& c) { return sys_wait4(c.actor, c.target_any ? kNoTask : c.target, c.options); }

// kernel/exit.c: SYSCALL waitid. Deviation: the format has no way to leave WEXITED out, so it is
// always added (docs/scenario-format.md).
SysRet Kernel::sys_waitid(const Call& c) {
    const WaitType wt = c.idtype == scenario::IdType::All   ? WaitType::All
                        : c.idtype == scenario::IdType::Pid ? WaitType::Pid
                                                            : WaitType::Pidfd;
    return sys_waitid(c.actor, wt, c.idtype == scenario::IdType::Pid ? c.target : kNoTask,
                      c.idtype == scenario::IdType::Pidfd ? c.fd : -1, c.options | kWEXITED);
}

SysRet Kernel::sys_pidfd_open(const Call& c) { return sys_pidfd_open(c.actor, c.target, static_cast<unsigned>(c.flags)); }
SysRet Kernel::sys_close(const Call& c) { return sys_close(c.actor, c.fd); }
SysRet Kernel::sys_dup(const Call& c) { return sys_dup(c.actor, c.fd); }
SysRet Kernel::sys_poll(const Call& c) { return sys_poll(c.actor, c.fd); }
SysRet Kernel::sys_pidfd_get_info(const Call& c) { return sys_pidfd_get_info(c.actor, c.fd); }

// kernel/sys.c: SYSCALL prctl — one option each
SysRet Kernel::sys_prctl(const Call& c) {
    using P = scenario::PrctlOption;
    switch (c.prctl) {
        case P::SetChildSubreaper: return sys_prctl_set_child_subreaper(c.actor, c.value);
        case P::GetChildSubreaper: return sys_prctl_get_child_subreaper(c.actor);
        case P::SetNoNewPrivs: return sys_prctl_set_no_new_privs(c.actor, c.value);
        case P::GetNoNewPrivs: return sys_prctl_get_no_new_privs(c.actor);
        case P::SetPdeathsig: return sys_prctl_set_pdeathsig(c.actor, c.value);
        case P::GetPdeathsig: return sys_prctl_get_pdeathsig(c.actor);
    }
    return fail(22, "kernel/sys.c: prctl (unknown option)");
}

SysRet Kernel::drop_privileges(const Call& c) { return drop_privileges(c.actor, c.uid); }
SysRet Kernel::sys_setresuid(const Call& c) { return sys_setresuid(c.actor, c.uid); }
SysRet Kernel::sys_execve(const Call& c) { return sys_execve(c.actor, c.setuid_root, c.keep_fds); }

// kernel/ptrace.c: SYSCALL ptrace — PTRACE_SEIZE or PTRACE_DETACH
SysRet Kernel::sys_ptrace(const Call& c) {
    return c.ptrace == scenario::PtraceRequest::Seize
               ? sys_ptrace_seize(c.actor, c.target, (c.ptrace_options & scenario::kPTRACE_O_EXITKILL) != 0)
               : sys_ptrace_detach(c.actor, c.target);
}

SysRet Kernel::signal_pending(const Call& c) { return signal_pending(c.actor, c.sig); }

// Not a call: the step observes its target once the kernel has settled (the replay reads the
// task's state: Replayer::observe).
SysRet Kernel::observe_task(const Call& c) {
    SysRet r = ok("");
    r.task = c.target;
    return r;
}

}  // namespace pidlab::model
