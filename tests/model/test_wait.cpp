// kernel/exit.c: kernel_wait4, kernel_waitid_prepare, __do_wait, eligible_child,
// wait_consider_task, wait_task_zombie (WNOWAIT, EXIT_DEAD, EXIT_TRACE).
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// wait_task_zombie: reaps the zombie, reports its pid and status, releases it; a second wait is ECHILD.
TEST(Wait, Wait4ReapsZombie) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 42);
    SysRet w = k.sys_wait4(kTest, kNoTask, 0);
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(w.task, c);
    EXPECT_EQ(w.ret, k.task(c).pid);
    EXPECT_EQ(*w.status, exited(42));
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(has_child(k, kTest, c));
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, 0).err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(kTest, c, 0).err, ECHILD_);
}

// __do_wait: no children at all, or a pid that is not a child: ECHILD.
TEST(Wait, EchildWithoutEligibleChildren) {
    Kernel k = make_kernel();
    SysRet a = k.sys_wait4(kTest, kNoTask, 0);
    EXPECT_EQ(a.ret, -1);
    EXPECT_EQ(a.err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(kTest, kInit, kWNOHANG).err, ECHILD_);
    TaskId c = do_fork(k, kTest);
    TaskId g = do_fork(k, c);
    EXPECT_EQ(k.sys_wait4(kTest, g, kWNOHANG).err, ECHILD_);  // a grandchild
}

// __do_wait: an eligible live child: WNOHANG returns 0, a blocking wait would block.
TEST(Wait, LiveChildWnohangZeroOrWouldBlock) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    SysRet nb = k.sys_wait4(kTest, c, kWNOHANG);
    EXPECT_EQ(nb.ret, 0);
    EXPECT_FALSE(nb.returns_id);
    EXPECT_FALSE(nb.would_block);
    SysRet b = k.sys_wait4(kTest, kNoTask, 0);
    EXPECT_TRUE(b.would_block);
    EXPECT_FALSE(b.returns_id);
    SysRet wid = k.sys_waitid(kTest, WaitType::All, kNoTask, -1, kWEXITED);
    EXPECT_TRUE(wid.would_block);
}

// kernel_wait4 / kernel_waitid_prepare: option validation.
TEST(Wait, OptionValidation) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    EXPECT_EQ(k.sys_wait4(kTest, c, kWNOWAIT).err, EINVAL_);   // waitid only
    EXPECT_EQ(k.sys_wait4(kTest, c, kWEXITED).err, EINVAL_);   // implied, not accepted
    EXPECT_EQ(k.sys_wait4(kTest, c, 0x10).err, EINVAL_);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pid, c, -1, kWNOHANG).err, EINVAL_);  // no WEXITED|WSTOPPED|WCONTINUED
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pid, c, -1, kWEXITED | 0x10).err, EINVAL_);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pid, c, -1, kWUNTRACED | kWNOHANG).ret, 0);  // WSTOPPED alone is valid
}

// eligible_child: a "clone child" (exit_signal != SIGCHLD) only with __WCLONE; a normal child only without.
TEST(Wait, CloneChildNeedsWclone) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone_args(0, kSIGUSR1));
    exit_and_settle(k, c, 3);
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, kWNOHANG).err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(kTest, c, kWNOHANG).err, ECHILD_);
    TaskId n = do_fork(k, kTest);
    exit_and_settle(k, n, 4);
    EXPECT_EQ(k.sys_wait4(kTest, n, kWCLONE | kWNOHANG).err, ECHILD_);
    SysRet w = k.sys_wait4(kTest, kNoTask, kWCLONE | kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(w.task, c);
    SysRet w2 = k.sys_wait4(kTest, kNoTask, kWNOHANG);
    ASSERT_TRUE(w2.returns_id);
    EXPECT_EQ(w2.task, n);
}

// eligible_child: exit_signal 0 is a clone child too; __WALL sees every child.
TEST(Wait, WallSeesCloneAndNormalChildren) {
    Kernel k = make_kernel();
    TaskId z = spawn(k, kTest, clone3_args(0, 0));
    TaskId n = do_fork(k, kTest);
    exit_and_settle(k, z, 1);
    exit_and_settle(k, n, 2);
    EXPECT_EQ(k.sys_wait4(kTest, z, kWNOHANG).err, ECHILD_);
    SysRet a = k.sys_wait4(kTest, kNoTask, kWALL | kWNOHANG);
    SysRet b = k.sys_wait4(kTest, kNoTask, kWALL | kWNOHANG);
    ASSERT_TRUE(a.returns_id);
    ASSERT_TRUE(b.returns_id);
    EXPECT_EQ(a.task, z);  // children in creation order
    EXPECT_EQ(b.task, n);
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, kWALL | kWNOHANG).err, ECHILD_);
}

// wait_task_zombie: WNOWAIT reports without reaping.
TEST(Wait, WnowaitKeepsZombie) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 8);
    SysRet a = k.sys_waitid(kTest, WaitType::Pid, c, -1, kWEXITED | kWNOWAIT | kWNOHANG);
    ASSERT_TRUE(a.returns_id);
    EXPECT_EQ(*a.status, exited(8));
    EXPECT_TRUE(is_zombie(k, c));
    SysRet b = k.sys_waitid(kTest, WaitType::Pid, c, -1, kWEXITED | kWNOHANG);
    ASSERT_TRUE(b.returns_id);
    EXPECT_EQ(*b.status, exited(8));
    EXPECT_TRUE(is_released(k, c));
}

// wait_consider_task returns wait_task_zombie's 0 without WEXITED, leaving notask_error: ECHILD.
TEST(Wait, ZombieNeedsWexited) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 8);
    SysRet r = k.sys_waitid(kTest, WaitType::Pid, c, -1, kWUNTRACED | kWNOHANG);
    EXPECT_FALSE(r.returns_id);
    EXPECT_EQ(r.err, ECHILD_);
    EXPECT_TRUE(is_zombie(k, c));
    // a delayed leader falls through instead: notask_error is cleared
    TaskId p = do_fork(k, kTest);
    do_thread(k, p);
    exit_and_settle(k, p, 1);
    SysRet d = k.sys_waitid(kTest, WaitType::Pid, p, -1, kWUNTRACED | kWNOHANG);
    EXPECT_EQ(d.ret, 0);
    EXPECT_FALSE(d.returns_id);
}

// kernel_waitid: P_PIDFD with PIDFD_NONBLOCK turns "nothing yet" into EAGAIN; WNOHANG gives 0.
TEST(Wait, PidfdNonblockIsEagain) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    int fd = must_pidfd_open(k, kTest, c, kPIDFD_NONBLOCK);
    SysRet a = k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, fd, kWEXITED);
    EXPECT_EQ(a.ret, -1);
    EXPECT_EQ(a.err, EAGAIN_);
    SysRet b = k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, fd, kWEXITED | kWNOHANG);
    EXPECT_EQ(b.ret, 0);
    EXPECT_FALSE(b.returns_id);
    // a blocking pidfd blocks instead
    int bfd = must_pidfd_open(k, kTest, c);
    EXPECT_TRUE(k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, bfd, kWEXITED).would_block);
    exit_and_settle(k, c, 6);
    SysRet w = k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, fd, kWEXITED);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(w.task, c);
    EXPECT_EQ(*w.status, exited(6));
}

// __do_wait: P_PIDFD after the reap has no task: ECHILD; a non-pidfd fd: EBADF.
TEST(Wait, PidfdAfterReapIsEchildAndBadFdIsEbadf) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    int fd = must_pidfd_open(k, kTest, c);
    exit_and_settle(k, c, 1);
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, fd, kWEXITED).err, ECHILD_);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, 99, kWEXITED).err, EBADF_);
}

// is_effectively_child: a sibling thread of the parent may reap; __WNOTHREAD restricts to the caller.
TEST(Wait, SiblingThreadReapsUnlessWnothread) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId c = do_fork(k, p);
    exit_and_settle(k, c, 2);
    EXPECT_EQ(k.sys_wait4(p2, c, kWNOHANG | kWNOTHREAD).err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(p2, kNoTask, kWNOHANG | kWNOTHREAD).err, ECHILD_);
    SysRet w = k.sys_wait4(p2, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(2));
    // and P_ALL from the other thread scans the whole group
    TaskId d = do_fork(k, p);
    exit_and_settle(k, d, 3);
    SysRet w2 = k.sys_wait4(p2, kNoTask, kWNOHANG);
    ASSERT_TRUE(w2.returns_id);
    EXPECT_EQ(w2.task, d);
}

// do_wait_pid: a non-leader's tid is neither a TGID nor (untraced) a tracee: ECHILD.
TEST(Wait, NonLeaderThreadIsNotWaitable) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    EXPECT_EQ(k.sys_wait4(kTest, p2, kWNOHANG | kWALL).err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(kTest, p, kWNOHANG).ret, 0);
}

// do_notify_parent + wait: SIG_IGN children die straight to EXIT_DEAD; wait waits for live ones, then ECHILD.
TEST(Wait, IgnoringParentGetsEchildAfterExit) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0);
    TaskId c = do_fork(k, kTest);
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, kWNOHANG).ret, 0);
    EXPECT_TRUE(k.sys_wait4(kTest, kNoTask, 0).would_block);
    exit_and_settle(k, c, 1);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    EXPECT_EQ(k.sys_wait4(kTest, kNoTask, 0).err, ECHILD_);
}

// H13: an autoreap child is a clone child: a plain wait is ECHILD at once, even while it lives.
TEST(Wait, AutoreapChildIsEchildWithoutWall) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, CF_AUTOREAP, fd);
    EXPECT_EQ(k.sys_wait4(kTest, c, 0).err, ECHILD_);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, fd, kWEXITED).err, ECHILD_);
    EXPECT_EQ(k.sys_wait4(kTest, c, kWALL | kWNOHANG).ret, 0);
    EXPECT_TRUE(k.sys_wait4(kTest, c, kWALL).would_block);
    exit_and_settle(k, c, 1);
    EXPECT_EQ(k.sys_wait4(kTest, c, kWALL).err, ECHILD_);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, fd, kWEXITED | kWALL).err, ECHILD_);
}

// wait_consider_task: a zombie traced by another is invisible to its real parent (0, not ECHILD) ...
// wait_task_zombie: ... until the tracer reaps it (EXIT_TRACE): the real parent is notified and reaps.
TEST(Wait, ExitTraceHandsZombieBackToRealParent) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, c, 5);
    ASSERT_TRUE(is_zombie(k, c));
    SysRet t = k.sys_wait4(kTest, c, kWNOHANG);
    EXPECT_EQ(t.ret, 0);
    EXPECT_FALSE(t.returns_id);
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    SysRet dw = k.sys_wait4(d, c, kWNOHANG);
    ASSERT_TRUE(dw.returns_id) << dw.rule;
    EXPECT_TRUE(rule_has(dw, "EXIT_TRACE")) << dw.rule;
    EXPECT_EQ(*dw.status, exited(5));
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_FALSE(k.task(c).ptraced);
    EXPECT_EQ(k.task(c).parent, kTest);
    EXPECT_TRUE(k.task(d).ptraced_list.empty());
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    SysRet w = k.sys_wait4(kTest, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(5));
    EXPECT_TRUE(is_released(k, c));
}

// wait_task_zombie (EXIT_TRACE): a traced autoreap child is released when another tracer reaps it.
TEST(Wait, ExitTraceReleasesAutoreapChild) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, c, 5);
    ASSERT_TRUE(is_zombie(k, c));  // autoreap is suspended while traced
    EXPECT_TRUE(pending(k, d, kSIGCHLD));
    SysRet dw = k.sys_wait4(d, c, kWNOHANG);  // the tracer view ignores __WCLONE
    ASSERT_TRUE(dw.returns_id) << dw.rule;
    EXPECT_EQ(*dw.status, exited(5));
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// waitid P_ALL and P_PID reap like wait4.
TEST(Wait, WaitidAllAndPid) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    exit_and_settle(k, a, 1);
    exit_and_settle(k, b, 2);
    SysRet wb = k.sys_waitid(kTest, WaitType::Pid, b, -1, kWEXITED);
    ASSERT_TRUE(wb.returns_id);
    EXPECT_EQ(wb.task, b);
    SysRet wa = k.sys_waitid(kTest, WaitType::All, kNoTask, -1, kWEXITED);
    ASSERT_TRUE(wa.returns_id);
    EXPECT_EQ(wa.task, a);
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::All, kNoTask, -1, kWEXITED).err, ECHILD_);
}

// wait_task_zombie: the status of a killed child is the signal.
TEST(Wait, KilledChildStatus) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    ASSERT_EQ(k.sys_kill(kTest, c, kSIGKILL).ret, 0);
    k.settle();
    SysRet w = k.sys_wait4(kTest, c, 0);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, killed(kSIGKILL));
}

}  // namespace
}  // namespace pidlab::test
