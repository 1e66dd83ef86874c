// kernel/fork.c: clone3 argument checks, copy_process (checks in kernel order,
// exit_signal/real_parent assignment, signal_struct flags, the clone3 pidfd).
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// ---------------------------------------------------------------- fork / basics

// copy_process: fork makes a child of the caller with SIGCHLD, its own tables.
TEST(Fork, ForkCreatesChildOfCaller) {
    Kernel k = make_kernel();
    SysRet r = k.sys_clone(kTest, fork_args());
    ASSERT_GE(r.ret, 0);
    EXPECT_TRUE(r.returns_id);
    TaskId c = r.task;
    EXPECT_EQ(r.ret, k.task(c).pid);
    EXPECT_EQ(k.task(c).real_parent, kTest);
    EXPECT_EQ(k.task(c).parent, kTest);
    EXPECT_EQ(k.task(c).leader, c);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);
    EXPECT_EQ(k.task(c).origin, SignalOrigin::Requested);
    EXPECT_TRUE(has_child(k, kTest, c));
    EXPECT_NE(k.task(c).signal, k.task(kTest).signal);
    EXPECT_NE(k.task(c).sighand, k.task(kTest).sighand);
    EXPECT_NE(k.task(c).files, k.task(kTest).files);
    EXPECT_EQ(k.task(c).cred, k.task(kTest).cred);
    EXPECT_EQ(r.fd, -1);
}

// copy_process: pdeath_signal is never inherited; no_new_privs always is (copy_seccomp).
TEST(Fork, ForkResetsPdeathSignalAndInheritsNoNewPrivs) {
    Kernel k = make_kernel();
    ASSERT_EQ(k.sys_prctl_set_pdeathsig(kTest, kSIGUSR1).ret, 0);
    ASSERT_EQ(k.sys_prctl_set_no_new_privs(kTest, 1).ret, 0);
    TaskId c = do_fork(k, kTest);
    EXPECT_EQ(k.task(c).pdeath_signal, 0);
    EXPECT_TRUE(k.task(c).no_new_privs);
    EXPECT_EQ(k.task(kTest).pdeath_signal, kSIGUSR1);
}

// copy_process: the model holds at most 64 tasks; the next clone fails with EAGAIN.
TEST(Fork, TaskLimitIsEagain) {
    Kernel k = make_kernel();
    while (k.tasks().size() < 64) do_fork(k, kTest);
    SysRet r = k.sys_clone(kTest, fork_args());
    EXPECT_EQ(r.ret, -1);
    EXPECT_EQ(r.err, EAGAIN_);
}

// ---------------------------------------------------------------- clone3 arguments

// copy_clone_args_from_user: exit_signal beyond CSIGNAL or > _NSIG is EINVAL; 64 is valid.
TEST(Clone3, InvalidExitSignalIsEinval) {
    Kernel k = make_kernel();
    for (int sig : {65, 0x100, 0x111}) {
        SysRet r = k.sys_clone(kTest, clone3_args(0, sig));
        EXPECT_EQ(r.ret, -1) << sig;
        EXPECT_EQ(r.err, EINVAL_) << sig;
        EXPECT_TRUE(rule_has(r, "invalid exit_signal")) << r.rule;
    }
    SysRet ok = k.sys_clone(kTest, clone3_args(0, 64));
    ASSERT_GE(ok.ret, 0);
    EXPECT_EQ(k.task(ok.task).exit_signal, 64);
    // legacy clone has no such check: 65..255 pass through
    SysRet legacy = k.sys_clone(kTest, clone_args(0, 200));
    ASSERT_GE(legacy.ret, 0);
    EXPECT_EQ(k.task(legacy.task).exit_signal, 200);
}

// clone3_args_valid: CLONE_PARENT or CLONE_THREAD with a non-zero exit_signal is EINVAL.
TEST(Clone3, ParentOrThreadWithExitSignalIsEinval) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    SysRet r1 = k.sys_clone(p, clone3_args(CF_PARENT, kSIGCHLD));
    EXPECT_EQ(r1.err, EINVAL_);
    EXPECT_TRUE(rule_has(r1, "clone3_args_valid")) << r1.rule;
    SysRet r2 = k.sys_clone(p, clone3_args(kThreadFlags, kSIGCHLD));
    EXPECT_EQ(r2.err, EINVAL_);
    EXPECT_TRUE(rule_has(r2, "clone3_args_valid")) << r2.rule;
    // with exit_signal 0 both work
    EXPECT_GE(k.sys_clone(p, clone3_args(CF_PARENT, 0)).ret, 0);
    EXPECT_GE(k.sys_clone(p, clone3_args(kThreadFlags, 0)).ret, 0);
    // legacy clone ignores its exit_signal for CLONE_PARENT (no clone3_args_valid)
    EXPECT_GE(k.sys_clone(p, clone_args(CF_PARENT, kSIGCHLD)).ret, 0);
}

// clone3_args_valid: CLONE_DETACHED and CLONE_SIGHAND|CLONE_CLEAR_SIGHAND are EINVAL.
TEST(Clone3, DetachedAndSighandWithClearSighandAreEinval) {
    Kernel k = make_kernel();
    SysRet r1 = k.sys_clone(kTest, clone3_args(CF_DETACHED));
    EXPECT_EQ(r1.err, EINVAL_);
    EXPECT_TRUE(rule_has(r1, "clone3_args_valid")) << r1.rule;
    SysRet r2 = k.sys_clone(kTest, clone3_args(CF_VM | CF_SIGHAND | CF_CLEAR_SIGHAND));
    EXPECT_EQ(r2.err, EINVAL_);
    EXPECT_TRUE(rule_has(r2, "clone3_args_valid")) << r2.rule;
    EXPECT_EQ(k.tasks().size(), 2u);
}

// clone3_args_valid: an unknown raw bit is EINVAL (unknown flag).
TEST(Clone3, UnknownRawBitIsEinval) {
    for (const char* prof : {"7.1", "v5", "pre-7.1"}) {
        Kernel k = make_kernel(prof);
        SysRet r = k.sys_clone(kTest, clone3_args(0, 0, 1ULL << 40));
        EXPECT_EQ(r.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(r, "unknown flag")) << prof << " " << r.rule;
    }
}

// clone3_args_valid: before 7.1 the three new flags are unknown bits (EINVAL), by name or by number.
TEST(Clone3, NewFlagsAreUnknownBefore71) {
    for (const char* prof : {"pre-7.1", "6.1", "6.12"}) {
        for (uint64_t f : {uint64_t(CF_AUTOREAP), uint64_t(CF_NNP), uint64_t(CF_PIDFD_AUTOKILL)}) {
            Kernel k = make_kernel(prof);
            SysRet r = k.sys_clone(kTest, clone3_args(f | CF_PIDFD));
            EXPECT_EQ(r.err, EINVAL_) << prof;
            EXPECT_TRUE(rule_has(r, "unknown flag")) << r.rule;
        }
        Kernel k = make_kernel(prof);
        SysRet raw = k.sys_clone(kTest, clone3_args(0, 0, 1ULL << 34));
        EXPECT_EQ(raw.err, EINVAL_) << prof;
    }
    // rfc-v1 has AUTOREAP only; v2..v4 have no CLONE_NNP
    Kernel v1 = make_kernel("rfc-v1");
    EXPECT_EQ(v1.sys_clone(kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).err, EINVAL_);
    for (const char* prof : {"v2", "v3", "v4"}) {
        Kernel k = make_kernel(prof);
        SysRet r = k.sys_clone(kTest, clone3_args(CF_NNP));
        EXPECT_EQ(r.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(r, "unknown flag")) << r.rule;
    }
}

// include/uapi/linux/sched.h: v5 posted AUTOKILL=1<<35, NNP=1<<36; 7.1 swapped them (raw numeric bits).
TEST(Clone3, V5BitValuesAreSwappedVs71) {
    {   // bit 35 with PIDFD|AUTOREAP: v5 = AUTOKILL
        Kernel k = make_kernel("v5");
        SysRet r = must_clone(k, kTest, clone3_args(CF_PIDFD | CF_AUTOREAP, 0, 1ULL << 35));
        EXPECT_TRUE(file_at(k, kTest, r.fd).autokill);
        EXPECT_FALSE(k.task(r.task).no_new_privs);
    }
    {   // bit 35 on 7.1 = NNP: the child gets NNP, no autokill
        Kernel k = make_kernel("7.1");
        SysRet r = must_clone(k, kTest, clone3_args(CF_PIDFD | CF_AUTOREAP, 0, 1ULL << 35));
        EXPECT_FALSE(file_at(k, kTest, r.fd).autokill);
        EXPECT_TRUE(k.task(r.task).no_new_privs);
        k.sys_close(kTest, r.fd);
        k.settle();
        EXPECT_TRUE(is_running(k, r.task));
    }
    {   // bit 36 alone: v5 = NNP (works); 7.1 = AUTOKILL without PIDFD (EINVAL)
        Kernel v5 = make_kernel("v5");
        SysRet a = must_clone(v5, kTest, clone3_args(0, 0, 1ULL << 36));
        EXPECT_TRUE(v5.task(a.task).no_new_privs);
        Kernel k71 = make_kernel("7.1");
        SysRet b = k71.sys_clone(kTest, clone3_args(0, 0, 1ULL << 36));
        EXPECT_EQ(b.err, EINVAL_);
        EXPECT_TRUE(rule_has(b, "CLONE_PIDFD_AUTOKILL without CLONE_PIDFD")) << b.rule;
    }
    {   // v2..v4: bit 35 = AUTOKILL, bit 36 unknown
        Kernel k = make_kernel("v4");
        EXPECT_EQ(k.sys_clone(kTest, clone3_args(0, 0, 1ULL << 36)).err, EINVAL_);
        SysRet r = must_clone(k, kTest, clone3_args(CF_PIDFD | CF_AUTOREAP, 0, 1ULL << 35));
        EXPECT_TRUE(file_at(k, kTest, r.fd).autokill);
    }
}

// ---------------------------------------------------------------- copy_process checks a..g

// copy_process (a, b): CLONE_NEWNS|CLONE_FS and CLONE_NEWUSER|CLONE_FS are EINVAL.
TEST(CopyProcess, NamespaceWithFsIsEinval) {
    Kernel k = make_kernel();
    SysRet a = k.sys_clone(kTest, clone3_args(CF_NEWNS | CF_FS));
    EXPECT_EQ(a.err, EINVAL_);
    EXPECT_TRUE(rule_has(a, "CLONE_NEWNS with CLONE_FS")) << a.rule;
    SysRet b = k.sys_clone(kTest, clone3_args(CF_NEWUSER | CF_FS));
    EXPECT_EQ(b.err, EINVAL_);
    EXPECT_TRUE(rule_has(b, "CLONE_NEWUSER with CLONE_FS")) << b.rule;
    // both a and b: a is tested first
    SysRet ab = k.sys_clone(kTest, clone3_args(CF_NEWNS | CF_NEWUSER | CF_FS));
    EXPECT_TRUE(rule_has(ab, "CLONE_NEWNS with CLONE_FS")) << ab.rule;
}

// copy_process (c, d): CLONE_THREAD needs CLONE_SIGHAND; CLONE_SIGHAND needs CLONE_VM.
TEST(CopyProcess, ThreadNeedsSighandAndSighandNeedsVm) {
    Kernel k = make_kernel();
    SysRet c = k.sys_clone(kTest, clone3_args(CF_THREAD | CF_VM));
    EXPECT_EQ(c.err, EINVAL_);
    EXPECT_TRUE(rule_has(c, "CLONE_THREAD without CLONE_SIGHAND")) << c.rule;
    SysRet d = k.sys_clone(kTest, clone3_args(CF_SIGHAND));
    EXPECT_EQ(d.err, EINVAL_);
    EXPECT_TRUE(rule_has(d, "CLONE_SIGHAND without CLONE_VM")) << d.rule;
    // c before d
    SysRet cd = k.sys_clone(kTest, clone3_args(CF_THREAD));
    EXPECT_TRUE(rule_has(cd, "CLONE_THREAD without CLONE_SIGHAND")) << cd.rule;
}

// copy_process (e): CLONE_PARENT from a SIGNAL_UNKILLABLE init is EINVAL.
TEST(CopyProcess, CloneParentFromInitIsEinval) {
    Kernel k = make_kernel();
    SysRet r = k.sys_clone(kInit, clone_args(CF_PARENT, kSIGCHLD));
    EXPECT_EQ(r.err, EINVAL_);
    EXPECT_TRUE(rule_has(r, "namespace init")) << r.rule;
    SysRet r3 = k.sys_clone(kInit, clone3_args(CF_PARENT));
    EXPECT_EQ(r3.err, EINVAL_);
    // init may fork normally
    EXPECT_GE(k.sys_clone(kInit, fork_args()).ret, 0);
}

// copy_process (f): CLONE_THREAD with CLONE_NEWUSER or CLONE_NEWPID is EINVAL.
TEST(CopyProcess, ThreadWithNewNamespaceIsEinval) {
    Kernel k = make_kernel();
    for (uint64_t ns : {uint64_t(CF_NEWPID), uint64_t(CF_NEWUSER)}) {
        SysRet r = k.sys_clone(kTest, clone3_args(CF_THREAD | CF_SIGHAND | CF_VM | ns));
        EXPECT_EQ(r.err, EINVAL_);
        EXPECT_TRUE(rule_has(r, "CLONE_THREAD with a new user or pid namespace")) << r.rule;
    }
}

// copy_process: namespace flags pass validation but are not modelled (ENOSYS, not_modelled).
TEST(CopyProcess, NamespacesAreNotModelled) {
    Kernel k = make_kernel();
    SysRet r = k.sys_clone(kTest, clone3_args(CF_NEWPID));
    EXPECT_EQ(r.ret, -1);
    EXPECT_EQ(r.err, ENOSYS_);
    EXPECT_TRUE(r.not_modelled);
    EXPECT_EQ(k.tasks().size(), 2u);
}

// kernel_clone: legacy clone passes one pointer for pidfd and parent_tid; copy_process (g): PIDFD|DETACHED.
TEST(CopyProcess, LegacyPidfdChecks) {
    Kernel k = make_kernel();
    SysRet a = k.sys_clone(kTest, clone_args(CF_PIDFD | CF_PARENT_SETTID, kSIGCHLD));
    EXPECT_EQ(a.err, EINVAL_);
    EXPECT_TRUE(rule_has(a, "kernel_clone")) << a.rule;
    SysRet b = k.sys_clone(kTest, clone_args(CF_PIDFD | CF_DETACHED, kSIGCHLD));
    EXPECT_EQ(b.err, EINVAL_);
    EXPECT_TRUE(rule_has(b, "CLONE_PIDFD with CLONE_DETACHED")) << b.rule;
    // CLONE_DETACHED alone is ignored by legacy clone
    EXPECT_GE(k.sys_clone(kTest, clone_args(CF_DETACHED, kSIGCHLD)).ret, 0);
    // legacy CLONE_PIDFD works and returns a pidfd
    SysRet c = k.sys_clone(kTest, clone_args(CF_PIDFD, kSIGCHLD));
    ASSERT_GE(c.ret, 0);
    EXPECT_GE(c.fd, 3);
    EXPECT_NE(k.fd_entry(kTest, c.fd), nullptr);
}

// copy_process (g): CLONE_PIDFD|CLONE_THREAD is EINVAL before 6.9, a thread pidfd since.
TEST(CopyProcess, PidfdWithThreadIsEinvalBefore69) {
    Kernel old = make_kernel("6.1");
    SysRet r = old.sys_clone(kTest, clone3_args(kThreadFlags | CF_PIDFD));
    EXPECT_EQ(r.err, EINVAL_);
    EXPECT_TRUE(rule_has(r, "before 6.9")) << r.rule;
    Kernel k = make_kernel("6.12");
    SysRet ok = must_clone(k, kTest, clone3_args(kThreadFlags | CF_PIDFD));
    EXPECT_TRUE(file_at(k, kTest, ok.fd).thread);
    Kernel k71 = make_kernel("7.1");
    EXPECT_GE(k71.sys_clone(kTest, clone3_args(kThreadFlags | CF_PIDFD)).ret, 0);
}

// ---------------------------------------------------------------- copy_process (h): CLONE_AUTOREAP

// copy_process (h): CLONE_AUTOREAP with CLONE_THREAD is EINVAL (in every revision).
TEST(CopyProcess, AutoreapWithThreadIsEinval) {
    for (const char* prof : {"rfc-v1", "v2", "v3", "v4", "v5", "7.1"}) {
        Kernel k = make_kernel(prof);
        SysRet r = k.sys_clone(kTest, clone3_args(kThreadFlags | CF_AUTOREAP | CF_PIDFD));
        EXPECT_EQ(r.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(r, "CLONE_AUTOREAP with CLONE_THREAD")) << prof << " " << r.rule;
    }
}

// copy_process (h): CLONE_AUTOREAP|CLONE_PARENT is EINVAL from v4 on.
TEST(CopyProcess, AutoreapWithParentIsEinvalIn71) {
    for (const char* prof : {"v4", "v5", "7.1", "7.1-no-parent-check"}) {
        Kernel k = make_kernel(prof);
        TaskId p = do_fork(k, kTest);
        SysRet r = k.sys_clone(p, clone3_args(CF_AUTOREAP | CF_PARENT));
        EXPECT_EQ(r.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(r, "CLONE_AUTOREAP with CLONE_PARENT")) << prof << " " << r.rule;
    }
}

// copy_process (h): the order is THREAD, then PARENT, then exit_signal.
TEST(CopyProcess, AutoreapCheckOrder) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    SysRet r = k.sys_clone(p, clone3_args(kThreadFlags | CF_PARENT | CF_AUTOREAP));
    EXPECT_TRUE(rule_has(r, "CLONE_AUTOREAP with CLONE_THREAD")) << r.rule;
    // the ancient checks (c) come before (h)
    SysRet c = k.sys_clone(p, clone3_args(CF_THREAD | CF_AUTOREAP));
    EXPECT_TRUE(rule_has(c, "CLONE_THREAD without CLONE_SIGHAND")) << c.rule;
}

// copy_process (h): CLONE_AUTOREAP with a non-zero exit_signal is EINVAL.
TEST(CopyProcess, AutoreapWithExitSignalIsEinval) {
    for (const char* prof : {"rfc-v1", "v2", "v4", "v5", "7.1"}) {
        Kernel k = make_kernel(prof);
        SysRet r = k.sys_clone(kTest, clone3_args(CF_AUTOREAP | CF_PIDFD, kSIGCHLD));
        EXPECT_EQ(r.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(r, "CLONE_AUTOREAP with an exit_signal")) << prof << " " << r.rule;
    }
}

// copy_process (h, RFC v1): CLONE_AUTOREAP requires CLONE_PIDFD; v2 decoupled them.
TEST(CopyProcess, RfcV1AutoreapRequiresPidfd) {
    Kernel v1 = make_kernel("rfc-v1");
    SysRet r = v1.sys_clone(kTest, clone3_args(CF_AUTOREAP));
    EXPECT_EQ(r.err, EINVAL_);
    EXPECT_TRUE(rule_has(r, "rfc-v1")) << r.rule;
    EXPECT_GE(v1.sys_clone(kTest, clone3_args(CF_AUTOREAP | CF_PIDFD)).ret, 0);
    for (const char* prof : {"v2", "v3", "v4", "v5", "7.1"}) {
        Kernel k = make_kernel(prof);
        SysRet ok = k.sys_clone(kTest, clone3_args(CF_AUTOREAP));
        ASSERT_GE(ok.ret, 0) << prof;
        EXPECT_TRUE(k.signal_of(ok.task).autoreap) << prof;
        EXPECT_EQ(k.task(ok.task).exit_signal, 0);
        EXPECT_EQ(k.task(ok.task).origin, SignalOrigin::AutoreapImposed);
    }
}

// copy_process (RFC v1..v3): AUTOREAP|PARENT is allowed and forces exit_signal 0 (and autoreap).
TEST(CopyProcess, AutoreapParentAllowedBeforeV4ForcesExitSignal0) {
    for (const char* prof : {"rfc-v1", "v2", "v3"}) {
        Kernel k = make_kernel(prof);
        TaskId p = do_fork(k, kTest);
        SysRet r = k.sys_clone(p, clone3_args(CF_AUTOREAP | CF_PARENT | CF_PIDFD));
        ASSERT_GE(r.ret, 0) << prof << " " << r.rule;
        TaskId g = r.task;
        EXPECT_EQ(k.task(g).real_parent, kTest) << prof;
        EXPECT_EQ(k.task(g).exit_signal, 0) << prof;
        EXPECT_EQ(k.task(g).origin, SignalOrigin::AutoreapImposed) << prof;
        EXPECT_TRUE(k.signal_of(g).autoreap) << prof;
        EXPECT_TRUE(has_child(k, kTest, g));
        // it is autoreaped: no zombie, no signal for T
        exit_and_settle(k, g, 1);
        EXPECT_TRUE(is_released(k, g)) << prof;
        EXPECT_FALSE(pending(k, kTest, kSIGCHLD)) << prof;
    }
}

// ---------------------------------------------------------------- copy_process (i): Oleg's check

// copy_process (i, merged 7.1 only): CLONE_PARENT from an autoreap process is EINVAL.
TEST(CopyProcess, CloneParentFromAutoreapIsEinvalIn71) {
    Kernel k = make_kernel("7.1");
    TaskId a = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    SysRet r3 = k.sys_clone(a, clone3_args(CF_PARENT));
    EXPECT_EQ(r3.ret, -1);
    EXPECT_EQ(r3.err, EINVAL_);
    EXPECT_TRUE(rule_has(r3, "CLONE_PARENT from an autoreap process")) << r3.rule;
    // legacy clone(CLONE_PARENT|SIGCHLD) is rejected the same way
    SysRet rl = k.sys_clone(a, clone_args(CF_PARENT, kSIGCHLD));
    EXPECT_EQ(rl.err, EINVAL_);
    EXPECT_TRUE(rule_has(rl, "CLONE_PARENT from an autoreap process")) << rl.rule;
    // also with CLONE_THREAD (INFERENCE in kernel-semantics.md §1.5)
    SysRet rt = k.sys_clone(a, clone3_args(kThreadFlags | CF_PARENT));
    EXPECT_EQ(rt.err, EINVAL_);
    EXPECT_TRUE(rule_has(rt, "CLONE_PARENT from an autoreap process")) << rt.rule;
    EXPECT_EQ(k.tasks().size(), 3u);
    // a thread of the autoreap process is rejected too (the check reads current->signal)
    TaskId a2 = do_thread(k, a);
    EXPECT_EQ(k.sys_clone(a2, clone3_args(CF_PARENT)).err, EINVAL_);
    // without CLONE_PARENT an autoreap process forks normally
    EXPECT_GE(k.sys_clone(a, fork_args()).ret, 0);
}

// copy_process (i absent): without the check CLONE_PARENT succeeds and the child inherits exit_signal 0.
TEST(CopyProcess, CloneParentFromAutoreapSucceedsWithoutTheCheck) {
    for (const char* prof : {"7.1-no-parent-check", "v4", "v5"}) {
        Kernel k = make_kernel(prof);
        TaskId a = spawn(k, kTest, clone3_args(CF_AUTOREAP));
        SysRet r = k.sys_clone(a, clone3_args(CF_PARENT));
        ASSERT_GE(r.ret, 0) << prof << " " << r.rule;
        TaskId g = r.task;
        EXPECT_EQ(k.task(g).real_parent, kTest) << prof;
        EXPECT_EQ(k.task(g).exit_signal, 0) << prof;
        EXPECT_EQ(k.task(g).origin, SignalOrigin::CloneParentAutoreap) << prof;
        EXPECT_EQ(k.task(g).origin_from, a) << prof;
        EXPECT_FALSE(k.signal_of(g).autoreap) << prof;  // signal_struct is fresh: not inherited
    }
}

// H1 (kernel-semantics.md §9): without the check, the CLONE_PARENT child is an invisible zombie.
TEST(CopyProcess, NoParentCheckLeavesInvisibleZombie) {
    for (const char* prof : {"7.1-no-parent-check", "v5", "v4", "v2", "rfc-v1"}) {
        Kernel k = make_kernel(prof);
        uint64_t extra = std::string(prof) == "rfc-v1" ? uint64_t(CF_PIDFD) : uint64_t(0);
        TaskId a = spawn(k, kTest, clone3_args(CF_AUTOREAP | extra));
        TaskId g = spawn(k, a, clone_args(CF_PARENT, kSIGCHLD));  // legacy clone: the argument is ignored
        EXPECT_EQ(k.task(g).exit_signal, 0) << prof;
        // even a SIG_IGN parent cannot autoreap it: the SIG_IGN rule needs sig == SIGCHLD
        ASSERT_EQ(k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0).ret, 0);
        exit_and_settle(k, g, 5);
        EXPECT_TRUE(is_zombie(k, g)) << prof;
        EXPECT_FALSE(pending(k, kTest, kSIGCHLD)) << prof;
        // a plain wait never sees it (a "clone child"), nor A (exit_signal 0)
        SysRet w = k.sys_wait4(kTest, kNoTask, kWNOHANG);
        EXPECT_EQ(w.err, ECHILD_) << prof;
        EXPECT_EQ(k.sys_wait4(kTest, g, kWNOHANG).err, ECHILD_) << prof;
        // only __WALL (or __WCLONE) reaps it
        SysRet all = k.sys_waitid(kTest, WaitType::All, kNoTask, -1, kWEXITED | kWALL | kWNOHANG);
        ASSERT_TRUE(all.returns_id) << prof << " " << all.rule;
        EXPECT_EQ(all.task, g);
        EXPECT_EQ(*all.status, exited(5));
        EXPECT_TRUE(is_released(k, g));
    }
}

// H1 closed in 7.1: the A -> G path fails, so no invisible zombie can be made; T's waits behave normally.
TEST(CopyProcess, NoInvisibleZombieIn71) {
    Kernel k = make_kernel("7.1");
    TaskId a = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    EXPECT_EQ(k.sys_clone(a, clone_args(CF_PARENT, kSIGCHLD)).err, EINVAL_);
    EXPECT_EQ(k.sys_clone(a, clone3_args(CF_PARENT)).err, EINVAL_);
    EXPECT_EQ(k.task(kTest).children.size(), 1u);
    exit_and_settle(k, a, 0);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::All, kNoTask, -1, kWEXITED | kWALL | kWNOHANG).err, ECHILD_);
}

// ---------------------------------------------------------------- copy_process (j, k): NNP, AUTOKILL

// copy_process (j): CLONE_NNP with CLONE_THREAD is EINVAL; CLONE_NNP sets NNP on the child only.
TEST(CopyProcess, NnpFlag) {
    for (const char* prof : {"v5", "7.1"}) {
        Kernel k = make_kernel(prof);
        SysRet r = k.sys_clone(kTest, clone3_args(kThreadFlags | CF_NNP));
        EXPECT_EQ(r.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(r, "CLONE_NNP with CLONE_THREAD")) << r.rule;
        TaskId c = spawn(k, kTest, clone3_args(CF_NNP));
        EXPECT_TRUE(k.task(c).no_new_privs);
        EXPECT_FALSE(k.task(kTest).no_new_privs);
        // inherited by the child's own children
        EXPECT_TRUE(k.task(do_fork(k, c)).no_new_privs);
    }
}

// copy_process (k): AUTOKILL needs PIDFD, then AUTOREAP (EINVAL, in that order).
TEST(CopyProcess, AutokillPrerequisites) {
    for (const char* prof : {"v2", "v3", "v4", "v5", "7.1"}) {
        Kernel k = make_kernel(prof);
        SysRet a = k.sys_clone(kTest, clone3_args(CF_PIDFD_AUTOKILL | CF_AUTOREAP));
        EXPECT_EQ(a.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(a, "CLONE_PIDFD_AUTOKILL without CLONE_PIDFD")) << a.rule;
        SysRet b = k.sys_clone(kTest, clone3_args(CF_PIDFD_AUTOKILL));
        EXPECT_TRUE(rule_has(b, "CLONE_PIDFD_AUTOKILL without CLONE_PIDFD")) << b.rule;
        SysRet c = k.sys_clone(kTest, clone3_args(CF_PIDFD_AUTOKILL | CF_PIDFD));
        EXPECT_EQ(c.err, EINVAL_) << prof;
        EXPECT_TRUE(rule_has(c, "CLONE_PIDFD_AUTOKILL without CLONE_AUTOREAP")) << c.rule;
        EXPECT_EQ(k.tasks().size(), 2u);
    }
}

// copy_process (k, v5 and 7.1): unprivileged AUTOKILL without CLONE_NNP is EPERM; with NNP it works.
TEST(CopyProcess, AutokillUnprivilegedWithoutNnpIsEperm) {
    for (const char* prof : {"v5", "7.1"}) {
        Kernel k = make_kernel(prof, kUser);
        SysRet r = k.sys_clone(kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL));
        EXPECT_EQ(r.err, EPERM_) << prof;
        EXPECT_TRUE(rule_has(r, "without CLONE_NNP or CAP_SYS_ADMIN")) << r.rule;
        SysRet ok = k.sys_clone(kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP));
        ASSERT_GE(ok.ret, 0) << prof << " " << ok.rule;
        EXPECT_TRUE(k.task(ok.task).no_new_privs);
        EXPECT_TRUE(file_at(k, kTest, ok.fd).autokill);
    }
}

// copy_process (k, v4): no privilege check, the AUTOKILL child gets NNP implicitly.
TEST(CopyProcess, AutokillV4ImpliesNnpWithoutPrivilegeCheck) {
    Kernel k = make_kernel("v4", kUser);
    SysRet r = k.sys_clone(kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL));
    ASSERT_GE(r.ret, 0) << r.rule;
    EXPECT_TRUE(k.task(r.task).no_new_privs);
    EXPECT_FALSE(k.task(kTest).no_new_privs);
    EXPECT_TRUE(file_at(k, kTest, r.fd).autokill);
    // root too (H10)
    Kernel root = make_kernel("v4");
    SysRet rr = must_clone(root, kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL));
    EXPECT_TRUE(root.task(rr.task).no_new_privs);
}

// copy_process (k, v2/v3): no privilege check and no NNP; the file is tracked by signal->autokill_pidfd.
TEST(CopyProcess, AutokillV2NoNnpNoPrivilegeCheck) {
    for (const char* prof : {"v2", "v3"}) {
        Kernel k = make_kernel(prof, kUser);
        SysRet r = k.sys_clone(kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL));
        ASSERT_GE(r.ret, 0) << prof << " " << r.rule;
        EXPECT_FALSE(k.task(r.task).no_new_privs);
        const File& f = file_at(k, kTest, r.fd);
        EXPECT_FALSE(f.autokill);  // no f_flags bit in v2/v3
        EXPECT_EQ(k.signal_of(r.task).autokill_pidfd, f.addr);
    }
}

// copy_process (k): EPERM comes last: earlier EINVAL checks win for an unprivileged caller.
TEST(CopyProcess, AutokillEpermComesLast) {
    Kernel k = make_kernel("7.1", kUser);
    TaskId p = do_fork(k, kTest);
    SysRet a = k.sys_clone(p, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_PARENT));
    EXPECT_EQ(a.err, EINVAL_);
    EXPECT_TRUE(rule_has(a, "CLONE_AUTOREAP with CLONE_PARENT")) << a.rule;
    SysRet b = k.sys_clone(p, clone3_args(CF_PIDFD | CF_PIDFD_AUTOKILL));
    EXPECT_EQ(b.err, EINVAL_);
    SysRet c = k.sys_clone(p, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL, kSIGCHLD));
    EXPECT_EQ(c.err, EINVAL_);
}

// copy_process (k): CAP_SYS_ADMIN replaces CLONE_NNP; a parent that already has NNP still needs the flag (H11).
TEST(CopyProcess, AutokillPrivilegeAndParentNnp) {
    Kernel root = make_kernel("7.1");
    SysRet r = must_clone(root, kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL));
    EXPECT_FALSE(root.task(r.task).no_new_privs);
    Kernel user = make_kernel("7.1", kUser);
    ASSERT_EQ(user.sys_prctl_set_no_new_privs(kTest, 1).ret, 0);
    SysRet e = user.sys_clone(kTest, clone3_args(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL));
    EXPECT_EQ(e.err, EPERM_);
}

// ---------------------------------------------------------------- parent, exit_signal, origin

// copy_process: CLONE_PARENT takes current->group_leader->exit_signal (not the caller's, not the argument).
TEST(CopyProcess, CloneParentTakesGroupLeadersExitSignal) {
    Kernel k = make_kernel();
    TaskId p = spawn(k, kTest, clone_args(0, kSIGUSR1));
    ASSERT_EQ(k.task(p).exit_signal, kSIGUSR1);
    TaskId p2 = do_thread(k, p);
    ASSERT_EQ(k.task(p2).exit_signal, -1);
    TaskId g = spawn(k, p2, clone_args(CF_PARENT, kSIGUSR2));  // the legacy argument is ignored
    EXPECT_EQ(k.task(g).real_parent, kTest);
    EXPECT_EQ(k.task(g).parent, kTest);
    EXPECT_EQ(k.task(g).exit_signal, kSIGUSR1);
    EXPECT_EQ(k.task(g).origin, SignalOrigin::CloneParent);
    EXPECT_EQ(k.task(g).origin_from, p);
    EXPECT_TRUE(has_child(k, kTest, g));
    EXPECT_FALSE(has_child(k, p, g));
    EXPECT_FALSE(has_child(k, p2, g));
    TaskId g3 = spawn(k, p, clone3_args(CF_PARENT));
    EXPECT_EQ(k.task(g3).exit_signal, kSIGUSR1);
}

// copy_process: a CLONE_PARENT child of a CLONE_PARENT-from-autoreap child keeps the autoreap origin.
TEST(CopyProcess, CloneParentOriginChainsThroughAutoreapImposed) {
    Kernel k = make_kernel("7.1-no-parent-check");
    TaskId p = do_fork(k, kTest);
    TaskId a = spawn(k, p, clone3_args(CF_AUTOREAP));
    TaskId g = spawn(k, a, clone3_args(CF_PARENT));  // sibling of A under P, exit_signal 0
    EXPECT_EQ(k.task(g).origin, SignalOrigin::CloneParentAutoreap);
    TaskId h = spawn(k, g, clone3_args(CF_PARENT));  // G is not autoreap, but its leader's 0 came from one
    EXPECT_EQ(k.task(h).exit_signal, 0);
    EXPECT_EQ(k.task(h).origin, SignalOrigin::CloneParentAutoreap);
    EXPECT_EQ(k.task(h).real_parent, p);
    // a CLONE_PARENT child of an ordinary process
    TaskId q = do_fork(k, p);
    TaskId s = spawn(k, q, clone3_args(CF_PARENT));
    EXPECT_EQ(k.task(s).origin, SignalOrigin::CloneParent);
    EXPECT_EQ(k.task(s).exit_signal, kSIGCHLD);
}

// copy_process: a thread has exit_signal -1, the creator's leader and real_parent, no children entry.
TEST(CopyProcess, ThreadGetsExitSignalMinusOne) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId t = do_thread(k, p);
    EXPECT_EQ(k.task(t).exit_signal, -1);
    EXPECT_EQ(k.task(t).origin, SignalOrigin::Thread);
    EXPECT_EQ(k.task(t).leader, p);
    EXPECT_EQ(k.task(t).real_parent, kTest);
    EXPECT_EQ(k.task(t).signal, k.task(p).signal);
    EXPECT_EQ(k.task(t).sighand, k.task(p).sighand);
    EXPECT_EQ(k.task(t).files, k.task(p).files);
    EXPECT_FALSE(has_child(k, kTest, t));
    const SignalStruct& s = k.signal_of(p);
    EXPECT_EQ(s.live, 2);
    EXPECT_EQ(s.quick_threads, 2);
    ASSERT_EQ(s.threads.size(), 2u);
    EXPECT_EQ(s.threads[0], p);
    EXPECT_EQ(s.threads[1], t);
    // a thread of a thread belongs to the same group
    TaskId t2 = do_thread(k, t);
    EXPECT_EQ(k.task(t2).leader, p);
    EXPECT_EQ(k.signal_of(p).live, 3);
}

// copy_process: parent_exec_id is current->self_exec_id, or current->parent_exec_id with CLONE_PARENT.
TEST(CopyProcess, ParentExecId) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    k.sys_execve(p, false, false);
    ASSERT_EQ(k.task(p).self_exec_id, 1);
    TaskId c = do_fork(k, p);
    EXPECT_EQ(k.task(c).parent_exec_id, 1);
    EXPECT_EQ(k.task(c).self_exec_id, 1);  // copied by fork
    k.sys_execve(c, false, false);
    ASSERT_EQ(k.task(c).self_exec_id, 2);
    TaskId g = spawn(k, c, clone3_args(CF_PARENT));
    EXPECT_EQ(k.task(g).parent_exec_id, 1);  // C's parent_exec_id, not C's self_exec_id
    TaskId d = do_fork(k, c);
    EXPECT_EQ(k.task(d).parent_exec_id, 2);
}

// copy_process: has_child_subreaper = real_parent's has_child_subreaper || is_child_subreaper.
TEST(CopyProcess, HasChildSubreaperInherited) {
    Kernel k = make_kernel();
    TaskId plain = do_fork(k, kTest);
    EXPECT_FALSE(k.signal_of(plain).has_child_subreaper);
    ASSERT_EQ(k.sys_prctl_set_child_subreaper(kTest, 1).ret, 0);
    TaskId a = do_fork(k, kTest);
    EXPECT_TRUE(k.signal_of(a).has_child_subreaper);
    EXPECT_FALSE(k.signal_of(a).is_child_subreaper);
    TaskId b = do_fork(k, a);
    EXPECT_TRUE(k.signal_of(b).has_child_subreaper);
    // CLONE_PARENT reads the new real_parent (T, a subreaper)
    TaskId g = spawn(k, a, clone3_args(CF_PARENT));
    EXPECT_TRUE(k.signal_of(g).has_child_subreaper);
    // init's children do not get it
    TaskId i = do_fork(k, kInit);
    EXPECT_FALSE(k.signal_of(i).has_child_subreaper);
}

// copy_process: signal->autoreap is set on the new signal_struct only; it is not inherited.
TEST(CopyProcess, AutoreapNotInherited) {
    Kernel k = make_kernel();
    TaskId a = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    EXPECT_TRUE(k.signal_of(a).autoreap);
    TaskId b = do_fork(k, a);
    EXPECT_FALSE(k.signal_of(b).autoreap);
    TaskId t = do_thread(k, a);
    EXPECT_TRUE(k.signal_of(t).autoreap);  // a thread shares the signal_struct
}

// legacy clone: only the low 32 bits carry flags, so the new flags cannot be expressed.
TEST(CopyProcess, LegacyCloneCannotExpressNewFlags) {
    Kernel k = make_kernel();
    SysRet r = must_clone(k, kTest, clone_args(CF_AUTOREAP | CF_NNP, kSIGCHLD));
    EXPECT_FALSE(k.signal_of(r.task).autoreap);
    EXPECT_FALSE(k.task(r.task).no_new_privs);
    EXPECT_EQ(k.task(r.task).exit_signal, kSIGCHLD);
}

// ---------------------------------------------------------------- the clone3 pidfd

// copy_process: the pidfd is installed after copy_files: the child's copy of the table lacks it.
TEST(CopyProcess, Clone3PidfdInstalledAfterFdTableCopy) {
    Kernel k = make_kernel();
    int old = must_pidfd_open(k, kTest, kInit);  // an fd that exists before the clone
    SysRet r = must_clone(k, kTest, clone3_args(CF_PIDFD));
    TaskId c = r.task;
    ASSERT_GE(r.fd, 3);
    const FdEntry* e = k.fd_entry(kTest, r.fd);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->cloexec);
    EXPECT_EQ(k.fd_entry(c, r.fd), nullptr);
    EXPECT_NE(k.fd_entry(c, old), nullptr);  // the earlier fd was copied
    const File& f = k.file(e->file);
    EXPECT_EQ(f.refs, 1);
    EXPECT_EQ(f.pid, c);
    EXPECT_TRUE(f.clone3);
    EXPECT_FALSE(f.thread);
    EXPECT_TRUE(k.task(c).pidfs_registered);
    EXPECT_EQ(file_at(k, kTest, old).refs, 2);
}

// copy_process: with CLONE_FILES the table is shared, so the child sees the pidfd (one reference).
TEST(CopyProcess, Clone3PidfdSharedWithCloneFiles) {
    Kernel k = make_kernel();
    SysRet r = must_clone(k, kTest, clone3_args(CF_PIDFD | CF_FILES));
    TaskId c = r.task;
    EXPECT_EQ(k.task(c).files, k.task(kTest).files);
    EXPECT_EQ(k.table_of(kTest)->users, 2);
    ASSERT_NE(k.fd_entry(c, r.fd), nullptr);
    EXPECT_EQ(file_index(k, c, r.fd), file_index(k, kTest, r.fd));
    EXPECT_EQ(file_at(k, kTest, r.fd).refs, 1);
}

// copy_sighand: CLONE_CLEAR_SIGHAND resets caught handlers to SIG_DFL, keeps SIG_IGN, clears flags.
TEST(CopyProcess, ClearSighand) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kTest, kSIGUSR1, Handler::Catch, 0);
    k.sys_rt_sigaction(kTest, kSIGUSR2, Handler::Ign, 0);
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Catch, kSA_NOCLDWAIT);
    TaskId c = spawn(k, kTest, clone3_args(CF_CLEAR_SIGHAND));
    const Sighand& sh = k.sighand_of(c);
    EXPECT_EQ(sh.action[kSIGUSR1 - 1], Handler::Dfl);
    EXPECT_EQ(sh.action[kSIGUSR2 - 1], Handler::Ign);
    EXPECT_EQ(sh.flags[kSIGCHLD - 1], 0u);
    TaskId d = do_fork(k, kTest);  // without the flag the handlers are copied
    EXPECT_EQ(k.sighand_of(d).action[kSIGUSR1 - 1], Handler::Catch);
    EXPECT_EQ(k.sighand_of(d).flags[kSIGCHLD - 1], kSA_NOCLDWAIT);
}

// copy_sighand: CLONE_SIGHAND shares the table.
TEST(CopyProcess, CloneSighandShares) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_VM | CF_SIGHAND, kSIGCHLD));
    EXPECT_EQ(k.task(c).sighand, k.task(kTest).sighand);
    EXPECT_EQ(k.sighand_of(c).users, 2);
    k.sys_rt_sigaction(c, kSIGUSR1, Handler::Ign, 0);
    EXPECT_EQ(k.sighand_of(kTest).action[kSIGUSR1 - 1], Handler::Ign);
}

}  // namespace
}  // namespace pidlab::test
