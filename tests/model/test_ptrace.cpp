// kernel/ptrace.c: ptrace_attach (PTRACE_SEIZE), PTRACE_DETACH, __ptrace_detach,
// exit_ptrace (PT_EXITKILL, the series' autoreap hunk), and the traced exit paths.
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// ptrace_attach: the tracee's parent becomes the tracer (ptrace_link); real_parent is unchanged.
TEST(Ptrace, SeizeLinksTracer) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    SysRet r = k.sys_ptrace_seize(d, c, false);
    ASSERT_EQ(r.ret, 0) << r.rule;
    EXPECT_TRUE(k.task(c).ptraced);
    EXPECT_FALSE(k.task(c).ptrace_exitkill);
    EXPECT_EQ(k.task(c).parent, d);
    EXPECT_EQ(k.task(c).real_parent, kTest);
    ASSERT_EQ(k.task(d).ptraced_list.size(), 1u);
    EXPECT_EQ(k.task(d).ptraced_list[0], c);
    EXPECT_TRUE(has_child(k, kTest, c));
}

// ptrace_attach: the caller's own thread group is EPERM.
TEST(Ptrace, SeizeOwnThreadGroupIsEperm) {
    Kernel k = make_kernel();
    TaskId t2 = do_thread(k, kTest);
    SysRet r = k.sys_ptrace_seize(kTest, t2, false);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_TRUE(rule_has(r, "own thread group")) << r.rule;
    EXPECT_EQ(k.sys_ptrace_seize(t2, kTest, false).err, EPERM_);
    EXPECT_EQ(k.sys_ptrace_seize(kTest, kTest, false).err, EPERM_);
}

// ptrace_attach: an already traced task is EPERM.
TEST(Ptrace, SeizeAlreadyTracedIsEperm) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    SysRet r = k.sys_ptrace_seize(kTest, c, false);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_TRUE(rule_has(r, "already traced")) << r.rule;
    EXPECT_EQ(k.task(c).parent, d);
}

// __ptrace_may_access: uid must equal the target's uid, euid and suid, unless CAP_SYS_PTRACE.
TEST(Ptrace, SeizeNeedsMatchingCredentials) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    TaskId s = do_fork(k, kTest);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);
    ASSERT_EQ(k.drop_privileges(b, 2000).ret, 0);
    SysRet r = k.sys_ptrace_seize(b, a, false);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_TRUE(rule_has(r, "__ptrace_may_access")) << r.rule;
    EXPECT_EQ(k.sys_ptrace_seize(a, kTest, false).err, EPERM_);  // unprivileged -> root
    // a setuid-root exec makes euid/suid differ from the uid: a same-uid tracer is refused
    ASSERT_EQ(k.drop_privileges(s, 1000).ret, 0);
    k.sys_execve(s, true, false);
    ASSERT_EQ(k.task(s).cred.euid, 0);
    TaskId u = do_fork(k, kTest);
    ASSERT_EQ(k.drop_privileges(u, 1000).ret, 0);
    EXPECT_EQ(k.sys_ptrace_seize(u, s, false).err, EPERM_);
    // root may trace anyone
    EXPECT_EQ(k.sys_ptrace_seize(kTest, a, false).ret, 0);
    EXPECT_EQ(k.sys_ptrace_seize(kTest, s, false).ret, 0);
}

// __ptrace_may_access: same uid after a plain exec (dumpable again) may be traced.
TEST(Ptrace, SeizeSameUidAfterExec) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);
    ASSERT_EQ(k.drop_privileges(b, 1000).ret, 0);
    k.sys_execve(a, false, false);
    EXPECT_EQ(k.sys_ptrace_seize(b, a, false).ret, 0);
}

// ptrace_attach: a task with exit_state is EPERM; a reaped one is ESRCH.
TEST(Ptrace, SeizeExitedIsEpermReapedIsEsrch) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 0);
    SysRet r = k.sys_ptrace_seize(d, c, false);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_TRUE(rule_has(r, "exiting")) << r.rule;
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(k.sys_ptrace_seize(d, c, false).err, ESRCH_);
}

// ptrace_check_attach: PTRACE_DETACH needs our tracee in a ptrace-stop; scenario tasks never stop: ESRCH.
TEST(Ptrace, DetachIsEsrch) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    SysRet a = k.sys_ptrace_detach(kTest, c);
    EXPECT_EQ(a.err, ESRCH_);
    EXPECT_TRUE(rule_has(a, "not our tracee")) << a.rule;
    ASSERT_EQ(k.sys_ptrace_seize(kTest, c, false).ret, 0);
    SysRet b = k.sys_ptrace_detach(kTest, c);
    EXPECT_EQ(b.err, ESRCH_);
    EXPECT_TRUE(rule_has(b, "ptrace-stop")) << b.rule;
    EXPECT_TRUE(k.task(c).ptraced);
    TaskId d = do_fork(k, kTest);
    EXPECT_TRUE(rule_has(k.sys_ptrace_detach(d, c), "not our tracee"));
    exit_and_settle(k, c, 0);
    ASSERT_TRUE(k.sys_wait4(kTest, c, kWALL).returns_id);
    EXPECT_EQ(k.sys_ptrace_detach(kTest, c).err, ESRCH_);
}

// do_notify_parent: the autoreap test needs !ptrace: a traced autoreap child is a zombie for its tracer.
TEST(Ptrace, AutoreapSuspendedWhileTraced) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, c, 4);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_TRUE(pending(k, d, kSIGCHLD));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// wait_consider_task: a parent that traces its own autoreap child can reap it and see the status.
TEST(Ptrace, ParentTracingItsAutoreapChildReapsIt) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    ASSERT_EQ(k.sys_ptrace_seize(kTest, c, false).ret, 0);
    exit_and_settle(k, c, 9);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));  // exit_signal 0, not ptrace_reparented
    SysRet w = k.sys_wait4(kTest, c, kWNOHANG);  // plain wait: the tracer view is always eligible
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(*w.status, exited(9));
    EXPECT_TRUE(is_released(k, c));
}

// __ptrace_detach (series hunk): a tracer in the real parent's group that exits releases the autoreap zombie.
TEST(Ptrace, ExitPtraceReleasesAutoreapZombieOfTracingParent) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId c = spawn(k, p, clone3_args(CF_AUTOREAP));
    ASSERT_EQ(k.sys_ptrace_seize(p, c, false).ret, 0);
    exit_and_settle(k, c, 2);
    ASSERT_TRUE(is_zombie(k, c));
    exit_and_settle(k, p, 0);  // the tracing thread exits; P2 lives on
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(has_child(k, p2, c));
    EXPECT_FALSE(pending(k, p2, kSIGCHLD));
}

// __ptrace_detach: a tracer in the real parent's group that ignores SIGCHLD releases the zombie on exit.
TEST(Ptrace, ExitPtraceIgnoringChildrenReleases) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    k.sys_rt_sigaction(p, kSIGCHLD, Handler::Ign, 0);
    TaskId c = do_fork(k, p);
    ASSERT_EQ(k.sys_ptrace_seize(p, c, false).ret, 0);
    exit_and_settle(k, c, 2);
    ASSERT_TRUE(is_zombie(k, c));  // traced: no SIG_IGN autoreap
    exit_and_settle(k, p, 0);
    EXPECT_TRUE(is_released(k, c));
    // without SIG_IGN it stays a zombie for the group
    Kernel k2 = make_kernel();
    TaskId q = do_fork(k2, kTest);
    TaskId q2 = do_thread(k2, q);
    TaskId e = do_fork(k2, q);
    ASSERT_EQ(k2.sys_ptrace_seize(q, e, false).ret, 0);
    exit_and_settle(k2, e, 2);
    exit_and_settle(k2, q, 0);
    EXPECT_TRUE(is_zombie(k2, e));
    EXPECT_EQ(k2.task(e).real_parent, q2);
    EXPECT_FALSE(k2.task(e).ptraced);
    SysRet w = k2.sys_wait4(q2, e, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(2));
    (void)p2;
}

// __ptrace_detach: when another tracer exits, the real parent is notified of the zombie now.
TEST(Ptrace, ExitPtraceNotifiesRealParent) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, c, 3);
    ASSERT_TRUE(is_zombie(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    begin_exit(k, d, 0);
    step(k, TK::ExitNotify, d);
    EXPECT_FALSE(k.task(c).ptraced);
    EXPECT_EQ(k.task(c).parent, kTest);
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));  // C's notification (and D's own)
    k.settle();
    SysRet w = k.sys_wait4(kTest, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(3));
    // an autoreap zombie is released instead
    Kernel k2 = make_kernel();
    TaskId d2 = do_fork(k2, kTest);
    TaskId a = spawn(k2, kTest, clone3_args(CF_AUTOREAP));
    ASSERT_EQ(k2.sys_ptrace_seize(d2, a, false).ret, 0);
    exit_and_settle(k2, a, 3);
    ASSERT_TRUE(is_zombie(k2, a));
    exit_and_settle(k2, d2, 0);
    EXPECT_TRUE(is_released(k2, a));
}

// __ptrace_detach: a traced non-leader zombie is released when its tracer exits.
TEST(Ptrace, ExitPtraceReleasesZombieThread) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId d = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, p2, false).ret, 0);
    exit_and_settle(k, p2, 1);
    ASSERT_TRUE(is_zombie(k, p2));
    exit_and_settle(k, d, 0);
    EXPECT_TRUE(is_released(k, p2));
    EXPECT_TRUE(is_running(k, p));
}

// exit_ptrace: a live tracee is simply untraced when its tracer exits.
TEST(Ptrace, ExitPtraceUntracesLiveTracee) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, d, 0);
    EXPECT_TRUE(is_running(k, c));
    EXPECT_FALSE(k.task(c).ptraced);
    EXPECT_EQ(k.task(c).parent, kTest);
}

// exit_ptrace: PT_EXITKILL sends SIGKILL to the tracee when the tracer exits.
TEST(Ptrace, ExitkillKillsTracee) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, c, true).ret, 0);
    EXPECT_TRUE(k.task(c).ptrace_exitkill);
    exit_and_settle(k, d, 0);
    ASSERT_TRUE(is_zombie(k, c));
    EXPECT_FALSE(k.task(c).ptraced);
    SysRet w = k.sys_wait4(kTest, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, killed(kSIGKILL));
}

// exit_ptrace: send_sig_info(SIGKILL, SEND_SIG_PRIV) is forced, even through SIGNAL_UNKILLABLE.
TEST(Ptrace, ExitkillIsForced) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    Access::signal(k, c).unkillable = true;
    ASSERT_EQ(k.sys_ptrace_seize(d, c, true).ret, 0);
    exit_and_settle(k, d, 0);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_EQ(k.signal_of(c).group_exit_code, kSIGKILL);
}

// kernel/ptrace.c: __ptrace_may_access: a task whose euid changed (commit_creds: set_dumpable(suid_dumpable=0))
// is not dumpable; an unprivileged tracer with the same uid is refused without CAP_SYS_PTRACE.
TEST(Ptrace, SeizeOfNondumpableTaskIsEperm) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);
    ASSERT_EQ(k.drop_privileges(b, 1000).ret, 0);
    EXPECT_EQ(k.sys_ptrace_seize(b, a, false).err, EPERM_);
}

// ---------------------------------------------------------------- suspected model bugs

// include/linux/ptrace.h: ptrace_reparented() is !same_thread_group(real_parent, parent): a tracer
// in the real parent's thread group is not "reparented" (exit_notify sends exit_signal; wait gives EXIT_DEAD).
TEST(Ptrace, TracerInRealParentsGroupIsNotReparented) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId c = spawn(k, p, clone_args(0, kSIGUSR1));
    ASSERT_EQ(k.sys_ptrace_seize(p2, c, false).ret, 0);
    exit_and_settle(k, c, 5);
    EXPECT_TRUE(pending(k, p, kSIGUSR1));   // exit_notify: the leader's exit_signal
    EXPECT_FALSE(pending(k, p, kSIGCHLD));
    SysRet w = k.sys_wait4(p2, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(5));
    EXPECT_TRUE(is_released(k, c));  // EXIT_DEAD: no EXIT_TRACE round trip
}

// kernel/ptrace.c: ptrace_attach rejects only task->exit_state (not PF_EXITING); after exit_mm
// __ptrace_may_access skips the dumpability test, so a task between do_exit and exit_notify can be seized.
TEST(Ptrace, SeizeOfPfExitingTaskSucceeds) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    begin_exit(k, c, 1);
    SysRet r = k.sys_ptrace_seize(d, c, false);
    EXPECT_EQ(r.ret, 0);
    k.settle();
    EXPECT_TRUE(pending(k, d, kSIGCHLD));  // the tracer is notified
}


}  // namespace
}  // namespace pidlab::test
