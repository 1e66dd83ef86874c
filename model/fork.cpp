// kernel/fork.c: clone3 argument checks and copy_process.
#include <algorithm>

#include "format/names.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

using namespace pidlab::names;

namespace {
constexpr int EPERM_ = 1, EINVAL_ = 22, ENOSYS_ = 38, EAGAIN_ = 11;
constexpr uint64_t kLegacyFlags = 0xffffffffULL & ~uint64_t{0xff};
constexpr size_t kMaxModelTasks = 64;

}  // namespace

Kernel::Kernel(Profile profile, Cred test_cred) : profile_(std::move(profile)) {
    tasks_.reserve(8), signals_.reserve(8), sighands_.reserve(8), tables_.reserve(8), files_.reserve(8);
    // init: pid 1 of the namespace, its child_reaper, SIGNAL_UNKILLABLE.
    for (int i = 0; i < 2; ++i) {
        TaskId t = alloc_task();
        Task& k = tasks_[t];
        k.leader = t;
        k.signal = static_cast<int>(signals_.size());
        signals_.push_back({});
        signals_.back().threads = {t};
        signals_.back().live = signals_.back().quick_threads = 1;
        k.sighand = static_cast<int>(sighands_.size());
        sighands_.push_back({});
        sighands_.back().users = 1;
        k.files = static_cast<int>(tables_.size());
        tables_.push_back({});
        tables_.back().users = 1;
        k.exit_signal = kSIGCHLD;
        k.origin = SignalOrigin::Initial;
    }
    signals_[tasks_[kInit].signal].unkillable = true;
    // The scenario's init is tied to whatever runs the scenario (the oracle's controller):
    // PR_SET_PDEATHSIG(SIGKILL) before the first step. T, forked by it, starts with 0.
    tasks_[kInit].pdeath_signal = kSIGKILL;
    tasks_[kTest].real_parent = tasks_[kTest].parent = kInit;
    tasks_[kInit].children.push_back(kTest);
    tasks_[kTest].cred = test_cred;
    signals_[tasks_[kTest].signal].has_child_subreaper = false;
}

TaskId Kernel::alloc_task() {
    tasks_.push_back({});
    TaskId t = static_cast<TaskId>(tasks_.size() - 1);
    tasks_[t].pid = t + 1;
    return t;
}

SysRet Kernel::sys_clone(TaskId current, const CloneArgs& args) {
    const Task& cur = tasks_[current];
    const SignalStruct& cursig = signals_[cur.signal];
    uint64_t flags = 0;
    SysRet r = clone_checks(args, {cursig.unkillable, cursig.autoreap, cur.cred.caps, cur.ptraced}, flags);
    if (r.ret < 0) return r;
    return copy_process(current, args, flags);
}

// kernel/fork.c: SYSCALL clone / sys_clone3 (copy_clone_args_from_user, clone3_args_valid), then
// copy_process's checks: everything that can refuse a clone before it changes any state.
SysRet Kernel::clone_checks(const CloneArgs& args, const CloneCaller& caller, uint64_t& flags) const {
    flags = args.flags;
    if (!args.clone3) {
        // kernel/fork.c: SYSCALL clone — only the low 32 bits carry flags; bits >= 32 cannot be expressed.
        flags &= kLegacyFlags;
        return copy_process_checks(args, caller, flags);
    }
    // Decode the bits that mean different flags in different revisions (include/uapi/linux/sched.h).
    uint64_t unknown = 0;
    auto decode = [&](uint64_t sem, uint64_t bit_in_profile) {
        // a named flag exists only if the revision has it
        if ((flags & sem) && bit_in_profile == 0) unknown |= sem;
    };
    decode(CF_AUTOREAP, profile_.bit_autoreap);
    decode(CF_NNP, profile_.bit_nnp);
    decode(CF_PIDFD_AUTOKILL, profile_.bit_autokill);
    flags &= ~unknown;
    for (uint64_t b = 1ULL << 34; b && b <= (1ULL << 62); b <<= 1) {
        if (!(args.raw_flags & b)) continue;
        if (b == profile_.bit_autoreap) flags |= CF_AUTOREAP;
        else if (b == profile_.bit_nnp) flags |= CF_NNP;
        else if (b == profile_.bit_autokill) flags |= CF_PIDFD_AUTOKILL;
        else unknown |= b;
    }
    // kernel/fork.c: copy_clone_args_from_user — exit_signal outside CSIGNAL or not a valid signal.
    if ((args.exit_signal & ~0xff) || args.exit_signal > kNSIG)
        return fail(EINVAL_, "kernel/fork.c: copy_clone_args_from_user (invalid exit_signal)");
    if (int err = clone3_args_valid(flags, args.exit_signal, unknown))
        return fail(err, unknown ? "kernel/fork.c: clone3_args_valid (unknown flag)" : "kernel/fork.c: clone3_args_valid");
    return copy_process_checks(args, caller, flags);
}

// kernel/fork.c: clone3_args_valid
int Kernel::clone3_args_valid(uint64_t flags, int exit_signal, uint64_t unknown) const {
    if (unknown) return EINVAL_;
    if (flags & CF_DETACHED) return EINVAL_;
    if ((flags & CF_SIGHAND) && (flags & CF_CLEAR_SIGHAND)) return EINVAL_;
    if ((flags & (CF_THREAD | CF_PARENT)) && exit_signal) return EINVAL_;
    return 0;
}

// kernel/fork.c: copy_process — the checks before the new task is made, in source order
// (with kernel_clone's CLONE_PIDFD|CLONE_PARENT_SETTID test first). `flags` is decoded.
SysRet Kernel::copy_process_checks(const CloneArgs& args, const CloneCaller& caller, uint64_t flags) const {
    // kernel/fork.c: kernel_clone — legacy clone passes one pointer for pidfd and parent_tid.
    if (!args.clone3 && (flags & CF_PIDFD) && (flags & CF_PARENT_SETTID))
        return fail(EINVAL_, "kernel/fork.c: kernel_clone (CLONE_PIDFD|CLONE_PARENT_SETTID share a pointer)");

    // a..g: the long-standing checks, in source order.
    if ((flags & (CF_NEWNS | CF_FS)) == (CF_NEWNS | CF_FS))
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_NEWNS with CLONE_FS)");
    if ((flags & (CF_NEWUSER | CF_FS)) == (CF_NEWUSER | CF_FS))
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_NEWUSER with CLONE_FS)");
    if ((flags & CF_THREAD) && !(flags & CF_SIGHAND))
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_THREAD without CLONE_SIGHAND)");
    if ((flags & CF_SIGHAND) && !(flags & CF_VM))
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_SIGHAND without CLONE_VM)");
    if ((flags & CF_PARENT) && caller.unkillable)
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PARENT from a namespace init)");
    if ((flags & CF_THREAD) && (flags & (CF_NEWUSER | CF_NEWPID)))
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_THREAD with a new user or pid namespace)");
    if (flags & CF_PIDFD) {
        if (flags & CF_DETACHED) return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PIDFD with CLONE_DETACHED)");
        if ((flags & CF_THREAD) && !profile_.pidfs())
            return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PIDFD with CLONE_THREAD before 6.9)");
    }
    // h: CLONE_AUTOREAP (the series, §1.6 of the reference: the checks each revision had).
    if (flags & CF_AUTOREAP) {
        if (profile_.autoreap_requires_pidfd && !(flags & CF_PIDFD))
            return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_AUTOREAP without CLONE_PIDFD, rfc-v1)");
        if (flags & CF_THREAD) return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_AUTOREAP with CLONE_THREAD)");
        if ((flags & CF_PARENT) && !profile_.autoreap_parent_allowed)
            return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_AUTOREAP with CLONE_PARENT)");
        if (args.exit_signal) return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_AUTOREAP with an exit_signal)");
    }
    // i: merged 7.1 only (Oleg): an autoreap process may not CLONE_PARENT.
    if ((flags & CF_PARENT) && profile_.reject_parent_from_autoreap && caller.autoreap)
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PARENT from an autoreap process)");
    // j: CLONE_NNP
    if ((flags & CF_NNP) && (flags & CF_THREAD))
        return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_NNP with CLONE_THREAD)");
    // k: CLONE_PIDFD_AUTOKILL
    if (flags & CF_PIDFD_AUTOKILL) {
        if (!(flags & CF_PIDFD)) return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PIDFD_AUTOKILL without CLONE_PIDFD)");
        if (!(flags & CF_AUTOREAP))
            return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PIDFD_AUTOKILL without CLONE_AUTOREAP)");
        if (flags & CF_THREAD) return fail(EINVAL_, "kernel/fork.c: copy_process (CLONE_PIDFD_AUTOKILL with CLONE_THREAD)");
        // ns_capable(current_user_ns(), CAP_SYS_ADMIN): the model's capability set is all-or-nothing.
        if (profile_.autokill_privilege_check && !(flags & CF_NNP) && !caller.caps)
            return fail(EPERM_, "kernel/fork.c: copy_process (CLONE_PIDFD_AUTOKILL without CLONE_NNP or CAP_SYS_ADMIN)");
    }
    if (flags & kCloneNamespaceFlags) {
        SysRet r = fail(ENOSYS_, "pidlab: new namespaces are not modelled");
        r.not_modelled = true;
        return r;
    }
    if ((flags & CF_PTRACE) && caller.ptraced) {
        SysRet r = fail(ENOSYS_, "pidlab: a CLONE_PTRACE child of a traced task starts in a ptrace stop (not modelled)");
        r.not_modelled = true;
        return r;
    }
    return ok("kernel/fork.c: copy_process");
}

bool Kernel::clone_args_can_succeed(const CloneArgs& args) const {
    uint64_t flags = 0;
    return clone_checks(args, CloneCaller{}, flags).ret >= 0;  // the most permissive caller
}

// kernel/fork.c: copy_process, after its checks (copy_process_checks, run by sys_clone)
SysRet Kernel::copy_process(TaskId current, const CloneArgs& args, uint64_t flags) {
    const int exit_signal = args.exit_signal;

    if (tasks_.size() >= kMaxModelTasks) return fail(EAGAIN_, "kernel/fork.c: copy_process (task limit)");

    // ---- the new task ----
    TaskId p = alloc_task();
    Task& cp = tasks_[p];
    Task& cu = tasks_[current];  // re-take: alloc_task may have moved the vector
    cp.cred = cu.cred;
    cp.no_new_privs = cu.no_new_privs;  // copy_seccomp re-copies the parent's no_new_privs
    cp.dumpable = cu.dumpable;          // dup_mm copies the mm flags (MMF_INIT_MASK), or CLONE_VM shares them
    if ((flags & CF_NNP) && profile_.nnp == NnpMode::Explicit) cp.no_new_privs = true;  // task_set_no_new_privs(p)
    cp.pdeath_signal = 0;
    cp.self_exec_id = cu.self_exec_id;

    // copy_files
    if (flags & CF_FILES) {
        cp.files = cu.files;
        tables_[cp.files].users++;
    } else {
        cp.files = copy_fd_table(cu.files);
    }
    // copy_sighand
    if (flags & CF_SIGHAND) {
        cp.sighand = cu.sighand;
        sighands_[cp.sighand].users++;
    } else {
        Sighand sh = sighands_[cu.sighand];
        sh.users = 1;
        if (flags & CF_CLEAR_SIGHAND) {
            // flush_signal_handlers(p, 0): handlers reset to SIG_DFL, SIG_IGN kept
            for (int i = 0; i < 64; ++i) {
                if (sh.action[i] != Handler::Ign) sh.action[i] = Handler::Dfl;
                sh.flags[i] = 0;
            }
        }
        cp.sighand = static_cast<int>(sighands_.size());
        sighands_.push_back(sh);
    }
    // copy_signal
    if (flags & CF_THREAD) {
        cp.signal = cu.signal;
        SignalStruct& s = signals_[cp.signal];
        s.live++;
        s.quick_threads++;
        s.threads.push_back(p);
        cp.leader = cu.leader;
    } else {
        cp.signal = static_cast<int>(signals_.size());
        signals_.push_back({});
        signals_.back().threads = {p};
        signals_.back().live = signals_.back().quick_threads = 1;
        cp.leader = p;
    }

    // The clone3 pidfd is created after copy_files: without CLONE_FILES the child's table lacks it.
    int pidfd_file = -1;
    if (flags & CF_PIDFD) {
        bool autokill_flag = (flags & CF_PIDFD_AUTOKILL) && profile_.autokill == AutokillIdentity::FileFlag;
        pidfd_file = alloc_file(p, (flags & CF_THREAD) != 0, false, autokill_flag, true);
        // v4: the child gets no_new_privs inside the CLONE_PIDFD block when AUTOKILL is given.
        if ((flags & CF_PIDFD_AUTOKILL) && profile_.nnp == NnpMode::ImpliedByAutokill) tasks_[p].no_new_privs = true;
    }

    // Under tasklist_lock: real_parent, exit_signal, parent_exec_id.
    Task& c = tasks_[p];
    const Task& me = tasks_[current];
    if (flags & (CF_PARENT | CF_THREAD)) {
        c.real_parent = me.real_parent;
        c.parent_exec_id = me.parent_exec_id;
        if (flags & CF_THREAD) {
            c.exit_signal = -1;
            c.origin = SignalOrigin::Thread;
        } else if ((flags & CF_AUTOREAP) && profile_.autoreap_parent_allowed) {
            c.exit_signal = 0;  // rfc-v1..v3: AUTOREAP|PARENT forces exit_signal 0
            c.origin = SignalOrigin::AutoreapImposed;
        } else {
            const Task& gl = tasks_[me.leader];
            c.exit_signal = gl.exit_signal;  // current->group_leader->exit_signal
            c.origin_from = me.leader;
            if (signals_[me.signal].autoreap) c.origin = SignalOrigin::CloneParentAutoreap;
            else if (gl.origin == SignalOrigin::CloneParentAutoreap || gl.origin == SignalOrigin::AutoreapImposed)
                c.origin = SignalOrigin::CloneParentAutoreap;
            else c.origin = SignalOrigin::CloneParent;
        }
    } else {
        c.real_parent = current;
        c.parent_exec_id = me.self_exec_id;
        c.exit_signal = exit_signal;
        c.origin = (flags & CF_AUTOREAP) ? SignalOrigin::AutoreapImposed : SignalOrigin::Requested;
    }
    c.parent = c.real_parent;
    // CLONE_PTRACE from an untraced task: nothing to inherit (ptrace_init_task).
    if (!(flags & CF_THREAD)) {
        SignalStruct& s = signals_[c.signal];
        const SignalStruct& ps = signals_[tasks_[c.real_parent].signal];
        s.has_child_subreaper = ps.has_child_subreaper || ps.is_child_subreaper;
        if (flags & CF_AUTOREAP) s.autoreap = true;
        tasks_[c.real_parent].children.push_back(p);
    }
    c.last_rule = "kernel/fork.c: copy_process";

    SysRet r;
    r.ret = c.pid;
    r.returns_id = true;
    r.task = p;
    r.rule = "kernel/fork.c: copy_process";
    if (pidfd_file >= 0) {
        // v2/v3: signal->autokill_pidfd = pidfile, after the tasklist unlock, before fd_install.
        if ((flags & CF_PIDFD_AUTOKILL) && profile_.autokill == AutokillIdentity::SignalPointer)
            signals_[tasks_[p].signal].autokill_pidfd = files_[pidfd_file].addr;
        r.fd = fd_install(tasks_[current].files, pidfd_file, true);
    }
    if (pidfd_file >= 0) files_[pidfd_file].creator_caps = tasks_[current].cred.caps;  // for the checker
    return r;
}

}  // namespace pidlab::model
