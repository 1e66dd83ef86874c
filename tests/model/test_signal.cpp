// kernel/signal.c: do_notify_parent, send_signal/complete_signal, kill_ok_by_cred,
// check_kill_permission, kill(), pidfd_send_signal, do_sigaction, dequeue.
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// ---------------------------------------------------------------- do_notify_parent

// do_notify_parent: a parent that exec'd since the child's creation gets SIGCHLD, not the exit_signal.
TEST(NotifyParent, ParentExecConvertsExitSignalToSigchld) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId c = spawn(k, p, clone_args(0, kSIGUSR1));
    k.sys_execve(p, false, false);
    exit_and_settle(k, c, 1);
    EXPECT_TRUE(pending(k, p, kSIGCHLD));
    EXPECT_FALSE(pending(k, p, kSIGUSR1));
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_EQ(k.task(c).exit_signal, kSIGUSR1);  // the stored value is unchanged
    // a child created after the exec keeps its exit_signal
    TaskId d = spawn(k, p, clone_args(0, kSIGUSR1));
    exit_and_settle(k, d, 1);
    EXPECT_TRUE(pending(k, p, kSIGUSR1));
}

// do_notify_parent: the conversion also turns exit_signal 0 into SIGCHLD, so a SIG_IGN parent autoreaps it.
TEST(NotifyParent, ParentExecConvertsExitSignal0AndSigIgnAutoreaps) {
    for (bool exec : {false, true}) {
        Kernel k = make_kernel();
        TaskId p = do_fork(k, kTest);
        TaskId c = spawn(k, p, clone3_args(0, 0));
        k.sys_rt_sigaction(p, kSIGCHLD, Handler::Ign, 0);
        if (exec) k.sys_execve(p, false, false);  // SIG_IGN survives exec
        exit_and_settle(k, c, 1);
        EXPECT_EQ(is_released(k, c), exec) << exec;
        EXPECT_EQ(is_zombie(k, c), !exec) << exec;
        EXPECT_FALSE(pending(k, p, kSIGCHLD));
    }
}

// do_notify_parent: SIG_IGN autoreaps only when the signal is SIGCHLD; a SIGUSR1 child is a zombie.
TEST(NotifyParent, SigIgnAutoreapsOnlySigchldChildren) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0);
    TaskId a = do_fork(k, kTest);
    TaskId b = spawn(k, kTest, clone_args(0, kSIGUSR1));
    exit_and_settle(k, a, 1);
    exit_and_settle(k, b, 1);
    EXPECT_TRUE(is_released(k, a));
    EXPECT_TRUE(is_zombie(k, b));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));  // SIG_IGN drops the signal
    EXPECT_TRUE(pending(k, kTest, kSIGUSR1));
}

// do_notify_parent: SA_NOCLDWAIT autoreaps but still sends SIGCHLD.
TEST(NotifyParent, NocldwaitAutoreapsButStillSends) {
    for (Handler h : {Handler::Dfl, Handler::Catch}) {
        Kernel k = make_kernel();
        k.sys_rt_sigaction(kTest, kSIGCHLD, h, kSA_NOCLDWAIT);
        TaskId a = do_fork(k, kTest);
        exit_and_settle(k, a, 1);
        EXPECT_TRUE(is_released(k, a));
        EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
        EXPECT_EQ(k.sys_wait4(kTest, kNoTask, kWNOHANG).err, ECHILD_);
        TaskId b = spawn(k, kTest, clone_args(0, kSIGUSR1));
        exit_and_settle(k, b, 1);
        EXPECT_TRUE(is_zombie(k, b));
    }
}

// do_notify_parent: an autoreap child never becomes a zombie and sends nothing.
TEST(NotifyParent, AutoreapChildNeverZombieNoSigchld) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    begin_exit(k, c, 3);
    step(k, TK::ExitNotify, c);
    EXPECT_EQ(state(k, c), ExitState::Dead);  // EXIT_DEAD straight from exit_notify
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    EXPECT_EQ(k.signal_of(kTest).shared_pending, 0u);
    step(k, TK::ReleaseTask, c);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, kWALL | kWNOHANG).err, ECHILD_);
}

// do_notify_parent: autoreap holds after reparenting to a subreaper whose SIGCHLD is SIG_DFL.
TEST(NotifyParent, AutoreapAfterReparentToSubreaperSendsNothing) {
    Kernel k = make_kernel();
    ASSERT_EQ(k.sys_prctl_set_child_subreaper(kTest, 1).ret, 0);
    TaskId m = do_fork(k, kTest);
    TaskId c = spawn(k, m, clone3_args(CF_AUTOREAP));
    exit_group_and_settle(k, m, 0);
    ASSERT_TRUE(take(k, kTest, kSIGCHLD));
    ASSERT_TRUE(k.sys_wait4(kTest, m, kWNOHANG).returns_id);
    ASSERT_EQ(k.task(c).real_parent, kTest);
    ASSERT_EQ(k.task(c).exit_signal, kSIGCHLD);  // reset by reparent_leader
    ASSERT_EQ(k.sighand_of(kTest).action[kSIGCHLD - 1], Handler::Dfl);
    EXPECT_EQ(k.sys_wait4(kTest, c, kWNOHANG).ret, 0);  // visible to a plain wait while it lives
    begin_exit(k, c, 7);
    step(k, TK::ExitNotify, c);
    EXPECT_EQ(state(k, c), ExitState::Dead);
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    EXPECT_EQ(k.sys_wait4(kTest, c, kWNOHANG).err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, kWALL | kWNOHANG).err, ECHILD_);
}

// do_notify_parent: the same after reparenting to init.
TEST(NotifyParent, AutoreapAfterReparentToInitSendsNothing) {
    Kernel k = make_kernel();
    TaskId m = do_fork(k, kTest);
    TaskId c = spawn(k, m, clone3_args(CF_AUTOREAP));
    exit_and_settle(k, m, 0);
    ASSERT_EQ(k.task(c).real_parent, kInit);
    exit_and_settle(k, c, 7);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kInit, kSIGCHLD));
}

// do_notify_parent: autoreap survives exec (signal_struct persists) although exec resets exit_signal.
TEST(NotifyParent, AutoreapSurvivesExec) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    k.sys_execve(c, false, false);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);
    EXPECT_EQ(k.task(c).origin, SignalOrigin::ExecReset);
    EXPECT_TRUE(k.signal_of(c).autoreap);
    exit_and_settle(k, c, 1);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// do_notify_parent: the parent_exec_id conversion does not defeat autoreap.
TEST(NotifyParent, AutoreapOverridesParentExecConversion) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    k.sys_execve(kTest, false, false);
    exit_and_settle(k, c, 1);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// do_notify_parent: the return value is "autoreap" (called directly).
TEST(NotifyParent, ReturnsAutoreap) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId r = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    EXPECT_FALSE(Access::do_notify_parent(k, a, kSIGCHLD));
    EXPECT_TRUE(take(k, kTest, kSIGCHLD));
    EXPECT_TRUE(Access::do_notify_parent(k, r, kSIGCHLD));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0);
    EXPECT_TRUE(Access::do_notify_parent(k, a, kSIGCHLD));
    EXPECT_FALSE(Access::do_notify_parent(k, a, kSIGUSR1));
    EXPECT_TRUE(pending(k, kTest, kSIGUSR1));
    EXPECT_FALSE(Access::do_notify_parent(k, a, 0));  // valid_signal(sig) && sig: nothing sent
}

// ---------------------------------------------------------------- kill permission

struct CredCase {
    Cred sender, target;
    bool ok;
    const char* why;
};

// kill_ok_by_cred: euid==suid, euid==uid, uid==suid, uid==uid, or CAP_KILL.
TEST(KillPermission, KillOkByCredCases) {
    const CredCase cases[] = {
        {{1, 5, 5, false}, {2, 7, 5, false}, true, "sender euid == target suid"},
        {{1, 2, 2, false}, {2, 7, 9, false}, true, "sender euid == target uid"},
        {{5, 1, 1, false}, {2, 7, 5, false}, true, "sender uid == target suid"},
        {{2, 1, 1, false}, {2, 7, 9, false}, true, "sender uid == target uid"},
        {{1, 3, 3, true}, {2, 7, 9, false}, true, "CAP_KILL"},
        {{1, 7, 7, false}, {2, 7, 9, false}, false, "euid == euid is not a rule"},
        {{1, 3, 3, false}, {2, 7, 9, false}, false, "nothing matches"},
    };
    for (const auto& c : cases) {
        Kernel k = make_kernel();
        TaskId a = do_fork(k, kTest);
        TaskId b = do_fork(k, kTest);
        Access::set_cred(k, a, c.sender);
        Access::set_cred(k, b, c.target);
        EXPECT_EQ(Access::kill_ok_by_cred(k, a, b), c.ok) << c.why;
        SysRet r = k.sys_kill(a, b, kSIGUSR1);
        EXPECT_EQ(r.ret, c.ok ? 0 : -1) << c.why;
        if (!c.ok) {
            EXPECT_EQ(r.err, EPERM_) << c.why;
            EXPECT_TRUE(rule_has(r, "kill_ok_by_cred")) << r.rule;
            EXPECT_EQ(k.sys_kill(a, b, kSIGCONT).ret, 0) << "SIGCONT within the session: " << c.why;
            EXPECT_EQ(k.sys_kill(a, b, 0).err, EPERM_) << "signal 0 checks permission: " << c.why;
        }
        EXPECT_EQ(pending(k, b, kSIGUSR1), c.ok) << c.why;
    }
}

// check_kill_permission with credentials reached through the system calls.
TEST(KillPermission, DroppedPrivilegesDifferentUsers) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);
    ASSERT_EQ(k.drop_privileges(b, 2000).ret, 0);
    EXPECT_EQ(k.sys_kill(b, a, kSIGUSR1).err, EPERM_);
    EXPECT_EQ(k.sys_kill(a, b, kSIGKILL).err, EPERM_);
    EXPECT_TRUE(is_running(k, b));
    EXPECT_EQ(k.sys_kill(b, a, kSIGCONT).ret, 0);
    EXPECT_TRUE(pending(k, a, kSIGCONT));
    EXPECT_EQ(k.sys_kill(kTest, a, kSIGUSR1).ret, 0);  // root
    TaskId a2 = do_fork(k, a);
    EXPECT_EQ(k.sys_kill(a, a2, kSIGUSR2).ret, 0);  // same uid
    EXPECT_EQ(k.sys_kill(a2, kTest, kSIGUSR2).err, EPERM_);
}

// check_kill_permission: the caller's own thread group is always allowed, whatever the creds.
TEST(KillPermission, OwnThreadGroupAlwaysAllowed) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    ASSERT_EQ(k.drop_privileges(p2, 1000).ret, 0);  // credentials are per thread
    EXPECT_EQ(k.task(p).cred.euid, 0);
    EXPECT_EQ(Access::check_kill_permission(k, p2, kSIGUSR1, p), 0);
    EXPECT_EQ(k.sys_kill(p2, p, kSIGUSR1).ret, 0);
    EXPECT_TRUE(pending(k, p, kSIGUSR1));
    EXPECT_EQ(k.sys_kill(p2, kTest, kSIGUSR1).err, EPERM_);
}

// kill_pid_info: ESRCH for a reaped task (before the signal is validated); EINVAL for an invalid signal.
TEST(Kill, EsrchAndEinval) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    for (int sig : {65, -1, 100}) {
        SysRet r = k.sys_kill(kTest, c, sig);
        EXPECT_EQ(r.err, EINVAL_) << sig;
        EXPECT_TRUE(rule_has(r, "invalid signal")) << r.rule;
    }
    EXPECT_EQ(k.sys_kill(kTest, c, 64).ret, 0);
    exit_and_settle(k, c, 0);
    EXPECT_EQ(k.sys_kill(kTest, c, 0).ret, 0);  // a zombie still exists
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(k.sys_kill(kTest, c, kSIGUSR1).err, ESRCH_);
    EXPECT_EQ(k.sys_kill(kTest, c, 65).err, ESRCH_);
    EXPECT_EQ(k.sys_kill(kTest, kNoTask, kSIGUSR1).err, ESRCH_);
}

// sig_task_ignored: SIGKILL to the namespace init (SIGNAL_UNKILLABLE) from inside is ignored.
TEST(Kill, SigkillToInitIsIgnored) {
    Kernel k = make_kernel();
    SysRet r = k.sys_kill(kTest, kInit, kSIGKILL);
    EXPECT_EQ(r.ret, 0);
    EXPECT_TRUE(rule_has(r, "SIGNAL_UNKILLABLE")) << r.rule;
    k.settle();
    EXPECT_TRUE(k.alive(kInit));
    EXPECT_FALSE(k.signal_of(kInit).group_exit);
    int fd = must_pidfd_open(k, kTest, kInit);
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, fd, kSIGKILL).ret, 0);
    k.settle();
    EXPECT_TRUE(k.alive(kInit));
    // other signals are queued to init normally
    EXPECT_EQ(k.sys_kill(kTest, kInit, kSIGUSR1).ret, 0);
    EXPECT_TRUE(pending(k, kInit, kSIGUSR1));
}

// complete_signal: SIGKILL kills the whole thread group; the status is the signal.
TEST(Kill, SigkillKillsWholeGroup) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    ASSERT_EQ(k.sys_kill(kTest, p2, kSIGKILL).ret, 0);  // via a thread's tid: still the whole group
    EXPECT_TRUE(k.task(p).exit_requested);
    EXPECT_TRUE(k.task(p2).exit_requested);
    EXPECT_EQ(k.signal_of(p).group_exit_code, kSIGKILL);
    k.settle();
    EXPECT_TRUE(is_released(k, p2));
    SysRet w = k.sys_wait4(kTest, p, 0);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, killed(kSIGKILL));
}

// kill(): group-directed: the signal goes to the shared queue, even via a thread's tid.
TEST(Kill, KillIsGroupDirected) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    ASSERT_EQ(k.sys_kill(kTest, p2, kSIGUSR1).ret, 0);
    EXPECT_TRUE(k.signal_of(p).shared_pending & (1ULL << (kSIGUSR1 - 1)));
    EXPECT_FALSE(k.task(p2).pending & (1ULL << (kSIGUSR1 - 1)));
    EXPECT_TRUE(take(k, p, kSIGUSR1));
    EXPECT_FALSE(take(k, p2, kSIGUSR1));
}

// prepare_signal: a group in SIGNAL_GROUP_EXIT takes no more signals.
TEST(Kill, ExitingGroupDropsSignals) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    k.sys_exit_group(p, 0);
    EXPECT_EQ(k.sys_kill(kTest, p, kSIGUSR1).ret, 0);
    EXPECT_FALSE(pending(k, p, kSIGUSR1));
}

// ---------------------------------------------------------------- pidfd_send_signal

// pidfd_send_signal: holding a pidfd grants no extra right (check_kill_permission as kill()).
TEST(PidfdSendSignal, GrantsNoExtraRight) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);
    int fd = must_pidfd_open(k, b, a);  // B opens it while still root
    ASSERT_EQ(k.drop_privileges(b, 2000).ret, 0);
    SysRet r = k.sys_pidfd_send_signal(b, fd, kSIGUSR1);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_TRUE(rule_has(r, "grants no signalling right")) << r.rule;
    EXPECT_FALSE(pending(k, a, kSIGUSR1));
    EXPECT_EQ(k.sys_pidfd_send_signal(b, fd, 65).err, EINVAL_);
}

// pidfd_send_signal: a PIDFD_THREAD pidfd signals that thread; a TGID pidfd the group.
TEST(PidfdSendSignal, ThreadPidfdIsThreadDirected) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    int tfd = must_pidfd_open(k, kTest, p2, kPIDFD_THREAD);
    ASSERT_EQ(k.sys_pidfd_send_signal(kTest, tfd, kSIGUSR1).ret, 0);
    EXPECT_TRUE(k.task(p2).pending & (1ULL << (kSIGUSR1 - 1)));
    EXPECT_FALSE(k.signal_of(p).shared_pending & (1ULL << (kSIGUSR1 - 1)));
    EXPECT_FALSE(k.task(p).pending & (1ULL << (kSIGUSR1 - 1)));
    int gfd = must_pidfd_open(k, kTest, p);
    ASSERT_EQ(k.sys_pidfd_send_signal(kTest, gfd, kSIGUSR2).ret, 0);
    EXPECT_TRUE(k.signal_of(p).shared_pending & (1ULL << (kSIGUSR2 - 1)));
    // signal 0 probes
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, gfd, 0).ret, 0);
}

// pidfd_send_signal: ESRCH once the process is reaped; EBADF for an fd that is not open.
TEST(PidfdSendSignal, EsrchAfterReapAndEbadf) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    int fd = must_pidfd_open(k, kTest, c);
    exit_and_settle(k, c, 0);
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, fd, kSIGUSR1).ret, 0);  // zombie
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, fd, kSIGUSR1).err, ESRCH_);
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, 77, kSIGUSR1).err, EBADF_);
    // an exited thread's PIDFD_THREAD pidfd
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    int tfd = must_pidfd_open(k, kTest, p2, kPIDFD_THREAD);
    exit_and_settle(k, p2, 0);
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, tfd, kSIGUSR1).err, ESRCH_);
}

// ---------------------------------------------------------------- sigaction, dequeue

// do_sigaction: SIG_IGN discards the pending signal, in the shared queue and every thread's queue.
TEST(Sigaction, IgnFlushesPending) {
    Kernel k = make_kernel();
    TaskId t2 = do_thread(k, kTest);
    int tfd = must_pidfd_open(k, kTest, t2, kPIDFD_THREAD);
    k.sys_kill(kTest, kTest, kSIGUSR1);
    k.sys_pidfd_send_signal(kTest, tfd, kSIGUSR1);
    k.sys_kill(kTest, kTest, kSIGUSR2);
    ASSERT_TRUE(k.task(t2).pending & (1ULL << (kSIGUSR1 - 1)));
    ASSERT_EQ(k.sys_rt_sigaction(kTest, kSIGUSR1, Handler::Ign, 0).ret, 0);
    EXPECT_FALSE(pending(k, kTest, kSIGUSR1));
    EXPECT_FALSE(pending(k, t2, kSIGUSR1));
    EXPECT_TRUE(pending(k, kTest, kSIGUSR2));
}

// do_sigaction: SIG_DFL discards a pending signal whose default action is to ignore it (SIGCHLD).
TEST(Sigaction, DflFlushesOnlyDefaultIgnoredSignals) {
    Kernel k = make_kernel();
    k.sys_kill(kTest, kTest, kSIGCHLD);
    k.sys_kill(kTest, kTest, kSIGUSR1);
    k.sys_kill(kTest, kTest, kSIGUSR2);
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Dfl, 0);
    k.sys_rt_sigaction(kTest, kSIGUSR1, Handler::Dfl, 0);
    k.sys_rt_sigaction(kTest, kSIGUSR2, Handler::Catch, 0);
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    EXPECT_TRUE(pending(k, kTest, kSIGUSR1));
    EXPECT_TRUE(pending(k, kTest, kSIGUSR2));
    EXPECT_EQ(k.sighand_of(kTest).action[kSIGUSR2 - 1], Handler::Catch);
}

// do_sigaction: SIGKILL, SIGSTOP and invalid numbers are EINVAL.
TEST(Sigaction, InvalidSignalsAreEinval) {
    Kernel k = make_kernel();
    for (int sig : {kSIGKILL, kSIGSTOP, 0, 65, -3}) {
        SysRet r = k.sys_rt_sigaction(kTest, sig, Handler::Ign, 0);
        EXPECT_EQ(r.err, EINVAL_) << sig;
    }
    EXPECT_EQ(k.sys_rt_sigaction(kTest, 64, Handler::Ign, 0).ret, 0);
    EXPECT_EQ(k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Dfl, kSA_NOCLDWAIT).ret, 0);
    EXPECT_EQ(k.sighand_of(kTest).flags[kSIGCHLD - 1], kSA_NOCLDWAIT);
}

// dequeue_signal: the thread's private queue first, then the group's.
TEST(Sigaction, SignalPendingDequeuesThreadThenGroup) {
    Kernel k = make_kernel();
    TaskId t2 = do_thread(k, kTest);
    int tfd = must_pidfd_open(k, kTest, t2, kPIDFD_THREAD);
    k.sys_pidfd_send_signal(kTest, tfd, kSIGUSR1);
    k.sys_kill(kTest, kTest, kSIGUSR1);
    EXPECT_TRUE(take(k, t2, kSIGUSR1));
    EXPECT_FALSE(k.task(t2).pending & (1ULL << (kSIGUSR1 - 1)));
    EXPECT_TRUE(k.signal_of(kTest).shared_pending & (1ULL << (kSIGUSR1 - 1)));
    EXPECT_TRUE(take(k, t2, kSIGUSR1));
    EXPECT_FALSE(take(k, t2, kSIGUSR1));
    EXPECT_FALSE(take(k, kTest, kSIGUSR1));
}

}  // namespace
}  // namespace pidlab::test
