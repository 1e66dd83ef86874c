// kernel/exit.c: exit/exit_group, do_exit (synchronize_group_exit, exit_files),
// exit_notify, forget_original_parent, find_new_reaper, reparent_leader,
// release_task (the delayed-leader zap), and the transitions/settle.
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// ---------------------------------------------------------------- exit codes, exit_group

// SYSCALL exit: do_exit((code & 0xff) << 8); wait_task_zombie reports it.
TEST(Exit, ExitCodeEncoding) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    SysRet r = k.sys_exit(c, 0x1ff);
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(k.task(c).exit_code, 0xff00);
    EXPECT_TRUE(k.task(c).exit_requested);
    EXPECT_FALSE(k.alive(c));
    k.settle();
    SysRet w = k.sys_wait4(kTest, c, 0);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(0xff));
}

// exit_notify -> do_notify_parent(tsk, exit_signal): the parent gets the child's exit_signal.
TEST(Exit, ParentGetsTheChildsExitSignal) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 1);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_TRUE(take(k, kTest, kSIGCHLD));
    TaskId d = spawn(k, kTest, clone_args(0, kSIGUSR1));
    exit_and_settle(k, d, 1);
    EXPECT_TRUE(is_zombie(k, d));
    EXPECT_TRUE(pending(k, kTest, kSIGUSR1));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    // exit_signal 0: a zombie and no signal at all
    TaskId e = spawn(k, kTest, clone3_args(0, 0));
    exit_and_settle(k, e, 1);
    EXPECT_TRUE(is_zombie(k, e));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// do_group_exit + zap_other_threads: SIGNAL_GROUP_EXIT, the code, SIGKILL to every other thread.
TEST(Exit, ExitGroupZapsOtherThreads) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId p3 = do_thread(k, p);
    k.sys_exit_group(p2, 5);
    EXPECT_TRUE(k.signal_of(p).group_exit);
    EXPECT_EQ(k.signal_of(p).group_exit_code, exited(5));
    const uint64_t kill_bit = 1ULL << (kSIGKILL - 1);
    for (TaskId t : {p, p3}) {
        EXPECT_TRUE(k.task(t).exit_requested) << t;
        EXPECT_TRUE(k.task(t).pending & kill_bit) << t;
    }
    EXPECT_FALSE(k.task(p2).pending & kill_bit);
    EXPECT_EQ(k.task(p2).exit_code, exited(5));
    k.settle();
    EXPECT_TRUE(is_released(k, p2));
    EXPECT_TRUE(is_released(k, p3));
    EXPECT_TRUE(is_zombie(k, p));
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    SysRet w = k.sys_wait4(kTest, p, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(5));
}

// do_group_exit: once SIGNAL_GROUP_EXIT is set, a later exit_group takes the group's code.
TEST(Exit, ExitGroupAfterGroupExitUsesTheGroupCode) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    k.sys_exit_group(p2, 5);
    k.sys_exit_group(p, 9);
    EXPECT_EQ(k.task(p).exit_code, exited(5));
    EXPECT_EQ(k.signal_of(p).group_exit_code, exited(5));
    k.settle();
    EXPECT_EQ(*k.sys_wait4(kTest, p, kWNOHANG).status, exited(5));
}

// synchronize_group_exit: the last thread to exit sets SIGNAL_GROUP_EXIT with its own code.
TEST(Exit, SynchronizeGroupExitLastThreadsCodeWins) {
    {
        Kernel k = make_kernel();
        TaskId p = do_fork(k, kTest);
        TaskId p2 = do_thread(k, p);
        exit_and_settle(k, p, 3);  // the leader first: a delayed leader
        EXPECT_FALSE(k.signal_of(p).group_exit);
        EXPECT_EQ(k.signal_of(p).quick_threads, 1);
        exit_and_settle(k, p2, 7);
        EXPECT_TRUE(k.signal_of(p).group_exit);
        EXPECT_EQ(k.signal_of(p).group_exit_code, exited(7));
        EXPECT_EQ(*k.sys_wait4(kTest, p, kWNOHANG).status, exited(7));
    }
    {
        Kernel k = make_kernel();
        TaskId p = do_fork(k, kTest);
        TaskId p2 = do_thread(k, p);
        exit_and_settle(k, p2, 7);  // the thread first
        EXPECT_TRUE(is_released(k, p2));
        EXPECT_FALSE(k.signal_of(p).group_exit);
        exit_and_settle(k, p, 3);
        EXPECT_EQ(*k.sys_wait4(kTest, p, kWNOHANG).status, exited(3));
    }
}

// ---------------------------------------------------------------- do_exit / exit_files

// do_exit: PF_EXITING, signal->live--, exit_files (fd table gone); exit_notify is a later transition.
// A killed task runs do_exit as its own transition (DoExit) when it next runs.
TEST(Exit, DoExitTransition) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    int table = k.task(c).files;
    ASSERT_EQ(k.sys_kill(kTest, c, kSIGKILL).ret, 0);
    EXPECT_TRUE(k.task(c).exit_requested);
    EXPECT_FALSE(k.task(c).pf_exiting);
    ASSERT_TRUE(enabled(k, TK::DoExit, c));
    EXPECT_FALSE(enabled(k, TK::ExitNotify, c));
    step(k, TK::DoExit, c);
    EXPECT_TRUE(k.task(c).pf_exiting);
    EXPECT_EQ(k.task(c).files, -1);
    EXPECT_EQ(k.fd_tables()[table].users, 0);
    EXPECT_EQ(k.signal_of(c).live, 0);
    EXPECT_EQ(k.task(c).exit_code, kSIGKILL);
    EXPECT_TRUE(is_running(k, c));  // no exit_state yet
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    EXPECT_FALSE(enabled(k, TK::DoExit, c));
    step(k, TK::ExitNotify, c);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    EXPECT_TRUE(k.enabled_transitions().empty());
    // exit(2): the caller reaches do_exit (PF_EXITING, files dropped) before exit_notify
    TaskId d = do_fork(k, kTest);
    begin_exit(k, d, 1);
    EXPECT_EQ(k.task(d).files, -1);
    EXPECT_TRUE(is_running(k, d));
    ASSERT_TRUE(enabled(k, TK::ExitNotify, d));
    k.settle();
    EXPECT_TRUE(is_zombie(k, d));
}

// do_exit -> exit_files -> fput: the autokill SIGKILL is sent before exit_notify reparents the child.
TEST(Exit, ExitFilesAutokillsBeforeReparenting) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    int fd;
    TaskId c = spawn_pidfd(k, p, kAutokill, fd);
    begin_exit(k, p, 0);
    EXPECT_TRUE(k.task(c).exit_requested);
    EXPECT_TRUE(k.task(c).autokilled);
    EXPECT_TRUE(k.signal_of(c).group_exit);
    EXPECT_EQ(k.task(c).real_parent, p);  // not yet reparented
    EXPECT_EQ(autokill_events(k), 1);
    step(k, TK::ExitNotify, p);
    EXPECT_EQ(k.task(c).real_parent, kInit);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);
    EXPECT_EQ(k.task(c).origin, SignalOrigin::ReparentReset);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kInit, kSIGCHLD));  // autoreap: the new parent hears nothing
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));   // P's own exit
}

// exit_files: a CLONE_FILES table is put only when its last user exits.
TEST(Exit, ExitFilesDropsSharedTableOnce) {
    Kernel k = make_kernel();
    int fd = must_pidfd_open(k, kTest, kInit);
    TaskId c = spawn(k, kTest, clone3_args(CF_FILES, kSIGCHLD));
    int table = k.task(c).files;
    ASSERT_EQ(k.fd_tables()[table].users, 2);
    exit_and_settle(k, c, 0);
    EXPECT_EQ(k.fd_tables()[table].users, 1);
    EXPECT_NE(k.fd_entry(kTest, fd), nullptr);
    EXPECT_EQ(file_at(k, kTest, fd).refs, 1);
}

// ---------------------------------------------------------------- exit_notify

// exit_notify: an untraced non-leader autoreaps (EXIT_DEAD) without notifying anyone.
TEST(Exit, UntracedNonLeaderAutoreaps) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    begin_exit(k, p2, 4);
    step(k, TK::ExitNotify, p2);
    EXPECT_EQ(state(k, p2), ExitState::Dead);
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    EXPECT_FALSE(pending(k, p, kSIGCHLD));
    ASSERT_TRUE(enabled(k, TK::ReleaseTask, p2));
    step(k, TK::ReleaseTask, p2);
    EXPECT_TRUE(is_released(k, p2));
    ASSERT_EQ(k.signal_of(p).threads.size(), 1u);
    EXPECT_TRUE(is_running(k, p));
}

// exit_notify: a traced group-empty leader not ptrace_reparented reports its exit_signal to the tracer.
TEST(Exit, TracedLeaderOfItsTracerSendsExitSignal) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone_args(0, kSIGUSR1));
    ASSERT_EQ(k.sys_ptrace_seize(kTest, c, false).ret, 0);
    exit_and_settle(k, c, 2);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_TRUE(pending(k, kTest, kSIGUSR1));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// exit_notify: a ptrace_reparented leader sends SIGCHLD to the tracer; the real parent hears nothing yet.
TEST(Exit, TracedByAnotherSendsSigchldToTracer) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId c = spawn(k, kTest, clone_args(0, kSIGUSR1));
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, c, 2);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_EQ(k.task(c).parent, d);
    EXPECT_TRUE(pending(k, d, kSIGCHLD));
    EXPECT_FALSE(pending(k, d, kSIGUSR1));
    EXPECT_FALSE(pending(k, kTest, kSIGUSR1));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// exit_notify: a traced non-leader sends SIGCHLD to its tracer and stays a zombie for it.
TEST(Exit, TracedNonLeaderBecomesZombieForTracer) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    ASSERT_EQ(k.sys_ptrace_seize(kTest, p2, false).ret, 0);
    exit_and_settle(k, p2, 2);
    EXPECT_TRUE(is_zombie(k, p2));
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    // even a SIG_IGN tracer does not autoreap a traced task
    Kernel k2 = make_kernel();
    TaskId q = do_fork(k2, kTest);
    TaskId q2 = do_thread(k2, q);
    k2.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0);
    ASSERT_EQ(k2.sys_ptrace_seize(kTest, q2, false).ret, 0);
    exit_and_settle(k2, q2, 2);
    EXPECT_TRUE(is_zombie(k2, q2));
    // the tracer reaps it (a non-leader: EXIT_DEAD, released)
    SysRet w = k.sys_wait4(kTest, p2, kWALL | kWNOHANG);
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(*w.status, exited(2));
    EXPECT_TRUE(is_released(k, p2));
    EXPECT_TRUE(is_running(k, p));
}

// exit_notify: a leader with live threads (delay_group_leader) is a silent zombie.
TEST(Exit, DelayedGroupLeaderIsSilentZombie) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    exit_and_settle(k, p, 3);
    EXPECT_TRUE(is_zombie(k, p));
    EXPECT_TRUE(k.delay_group_leader(p));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    SysRet w = k.sys_wait4(kTest, p, kWNOHANG);
    EXPECT_EQ(w.ret, 0);
    EXPECT_FALSE(w.returns_id);
    EXPECT_TRUE(is_running(k, p2));
}

// release_task: the last thread's release notifies the zombie leader's parent (group_exit_code copied).
TEST(Exit, ReleaseTaskNotifiesForDelayedLeader) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    exit_and_settle(k, p, 3);
    begin_exit(k, p2, 7);
    step(k, TK::ExitNotify, p2);
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));  // not yet: the thread is not released
    step(k, TK::ReleaseTask, p2);
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    EXPECT_EQ(k.task(p).exit_code, exited(7));
    EXPECT_TRUE(is_zombie(k, p));
    EXPECT_EQ(*k.sys_wait4(kTest, p, kWNOHANG).status, exited(7));
}

// release_task: if the leader's parent ignores SIGCHLD, the last thread releases the leader too (zap).
TEST(Exit, ReleaseTaskZapsLeaderWhenParentIgnores) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0);
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    exit_and_settle(k, p, 3);
    EXPECT_TRUE(is_zombie(k, p));
    begin_exit(k, p2, 7);
    step(k, TK::ExitNotify, p2);
    step(k, TK::ReleaseTask, p2);
    EXPECT_TRUE(is_released(k, p2));
    EXPECT_TRUE(is_released(k, p));  // the same release_task looped on the leader
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    EXPECT_FALSE(has_child(k, kTest, p));
}

// release_task: a multithreaded autoreap process whose leader exited first is autoreaped by the last thread.
TEST(Exit, AutoreapMultithreadedReapedByLastThread) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    TaskId c2 = do_thread(k, c);
    exit_and_settle(k, c, 1);
    EXPECT_TRUE(is_zombie(k, c));
    exit_and_settle(k, c2, 2);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_TRUE(is_released(k, c2));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// ---------------------------------------------------------------- forget_original_parent / find_new_reaper

// find_new_reaper (i): a live thread of the exiting parent's group is the reaper (before any subreaper);
// no reparent_leader runs, so exit_signal is kept; pdeath_signal still fires (tied to the parent thread).
TEST(Exit, FindNewReaperPrefersLiveSiblingThread) {
    Kernel k = make_kernel();
    k.sys_prctl_set_child_subreaper(kTest, 1);
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId c = spawn(k, p, clone_args(0, kSIGUSR1));
    ASSERT_EQ(k.sys_prctl_set_pdeathsig(c, kSIGUSR2).ret, 0);
    exit_and_settle(k, p, 0);
    EXPECT_EQ(k.task(c).real_parent, p2);
    EXPECT_EQ(k.task(c).parent, p2);
    EXPECT_EQ(k.task(c).exit_signal, kSIGUSR1);
    EXPECT_EQ(k.task(c).origin, SignalOrigin::Requested);
    EXPECT_TRUE(has_child(k, p2, c));
    EXPECT_TRUE(k.task(p).children.empty());
    EXPECT_TRUE(pending(k, c, kSIGUSR2));
}

// forget_original_parent: pdeath_signal fires when the parent *thread* exits, even to a sibling-thread reaper.
TEST(Exit, PdeathSignalOnParentThreadExit) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId c = do_fork(k, p2);
    EXPECT_EQ(k.task(c).real_parent, p2);
    ASSERT_EQ(k.sys_prctl_set_pdeathsig(c, kSIGUSR1).ret, 0);
    exit_and_settle(k, p2, 0);
    EXPECT_EQ(k.task(c).real_parent, p);
    EXPECT_TRUE(pending(k, c, kSIGUSR1));
    EXPECT_TRUE(is_running(k, c));
    // a child without pdeath_signal gets nothing
    TaskId d = do_fork(k, p);
    exit_and_settle(k, p, 0);
    EXPECT_FALSE(pending(k, d, kSIGUSR1));
}

// forget_original_parent: pdeath_signal is sent "from user": check_kill_permission with the dying parent's creds.
TEST(Exit, PdeathSignalIsPermissionChecked) {
    for (int parent_uid : {2000, 1000}) {
        Kernel k = make_kernel();
        TaskId p = do_fork(k, kTest);
        TaskId c = do_fork(k, p);
        ASSERT_EQ(k.drop_privileges(c, 1000).ret, 0);
        ASSERT_EQ(k.sys_prctl_set_pdeathsig(c, kSIGUSR1).ret, 0);
        ASSERT_EQ(k.drop_privileges(p, parent_uid).ret, 0);
        exit_and_settle(k, p, 0);
        EXPECT_EQ(k.task(c).real_parent, kInit);
        EXPECT_EQ(pending(k, c, kSIGUSR1), parent_uid == 1000) << parent_uid;
    }
}

// forget_original_parent: a SIGKILL pdeath_signal kills the orphan.
TEST(Exit, PdeathSigkillKillsChild) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId c = do_fork(k, p);
    k.sys_prctl_set_pdeathsig(c, kSIGKILL);
    exit_and_settle(k, p, 0);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_TRUE(pending(k, kInit, kSIGCHLD));
    SysRet w = k.sys_wait4(kInit, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, killed(kSIGKILL));
}

// find_new_reaper (ii): the nearest is_child_subreaper ancestor with a live thread.
TEST(Exit, FindNewReaperWalksUpToSubreaper) {
    Kernel k = make_kernel();
    k.sys_prctl_set_child_subreaper(kTest, 1);
    TaskId a = do_fork(k, kTest);
    TaskId m = do_fork(k, a);
    TaskId b = do_fork(k, m);
    exit_and_settle(k, m, 0);
    EXPECT_EQ(k.task(b).real_parent, kTest);
    EXPECT_TRUE(has_child(k, kTest, b));
}

// find_new_reaper (ii): a subreaper without a live thread is skipped.
TEST(Exit, FindNewReaperSkipsExitingSubreaper) {
    Kernel k = make_kernel();
    k.sys_prctl_set_child_subreaper(kTest, 1);
    TaskId s = do_fork(k, kTest);
    k.sys_prctl_set_child_subreaper(s, 1);
    TaskId a = do_fork(k, s);
    TaskId b = do_fork(k, a);
    begin_exit(k, s, 0);  // S is PF_EXITING: no live thread
    begin_exit(k, a, 0);
    step(k, TK::ExitNotify, a);
    EXPECT_EQ(k.task(b).real_parent, kTest);
    k.settle();
    EXPECT_EQ(k.task(b).real_parent, kTest);
}

// find_new_reaper (ii) is gated by father->signal->has_child_subreaper; (iii) falls back to child_reaper.
TEST(Exit, SubreaperWalkNeedsHasChildSubreaper) {
    Kernel k = make_kernel();
    k.sys_prctl_set_child_subreaper(kTest, 1);
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, a);
    Access::signal(k, a).has_child_subreaper = false;
    exit_and_settle(k, a, 0);
    EXPECT_EQ(k.task(b).real_parent, kInit);
    // and without any subreaper: init
    Kernel k2 = make_kernel();
    TaskId a2 = do_fork(k2, kTest);
    TaskId b2 = do_fork(k2, a2);
    exit_and_settle(k2, a2, 0);
    EXPECT_EQ(k2.task(b2).real_parent, kInit);
    EXPECT_TRUE(has_child(k2, kInit, b2));
}

// ---------------------------------------------------------------- reparent_leader

// reparent_leader: exit_signal is reset to SIGCHLD; afterwards a plain wait sees the child and SIGCHLD is sent.
TEST(Exit, ReparentLeaderResetsCloneChildExitSignal) {
    Kernel k = make_kernel();
    k.sys_prctl_set_child_subreaper(kTest, 1);
    TaskId p = do_fork(k, kTest);
    TaskId c = spawn(k, p, clone3_args(0, kSIGUSR1));
    exit_group_and_settle(k, p, 0);
    EXPECT_EQ(k.task(c).real_parent, kTest);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);
    EXPECT_EQ(k.task(c).origin, SignalOrigin::ReparentReset);
    ASSERT_TRUE(take(k, kTest, kSIGCHLD));  // P's own exit
    ASSERT_TRUE(k.sys_wait4(kTest, p, kWNOHANG).returns_id);
    exit_group_and_settle(k, c, 6);
    EXPECT_FALSE(pending(k, kTest, kSIGUSR1));
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    SysRet w = k.sys_wait4(kTest, c, kWNOHANG);  // no __WCLONE needed any more
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(*w.status, exited(6));
}

// reparent_leader: a zombie clone child is reset and its new parent notified with SIGCHLD.
TEST(Exit, ReparentLeaderNotifiesNewParentOfZombie) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId c = spawn(k, p, clone_args(0, kSIGUSR1));
    exit_and_settle(k, c, 6);
    ASSERT_TRUE(is_zombie(k, c));
    ASSERT_TRUE(pending(k, p, kSIGUSR1));
    exit_and_settle(k, p, 0);
    EXPECT_EQ(k.task(c).real_parent, kInit);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);
    EXPECT_TRUE(pending(k, kInit, kSIGCHLD));
    EXPECT_FALSE(pending(k, kInit, kSIGUSR1));
    SysRet w = k.sys_wait4(kInit, c, kWNOHANG);
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(*w.status, exited(6));
}

// reparent_leader: with the reset, a new parent that ignores SIGCHLD autoreaps the reparented zombie.
TEST(Exit, ReparentLeaderToIgnoringInitAutoreaps) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kInit, kSIGCHLD, Handler::Ign, 0);
    TaskId p = do_fork(k, kTest);
    TaskId c = spawn(k, p, clone_args(0, kSIGUSR1));
    exit_and_settle(k, c, 6);
    exit_and_settle(k, p, 0);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kInit, kSIGUSR1));
}

// reparent_leader: a CLONE_PARENT child with exit_signal 0 is reset and notified when its parent dies.
TEST(Exit, ReparentLeaderResetsCloneParentExitSignal0) {
    Kernel k = make_kernel();
    TaskId m2 = do_fork(k, kTest);
    TaskId m = spawn(k, m2, clone3_args(0, 0));
    TaskId g = spawn(k, m, clone3_args(CF_PARENT));
    EXPECT_EQ(k.task(g).real_parent, m2);
    EXPECT_EQ(k.task(g).exit_signal, 0);
    exit_and_settle(k, g, 3);
    EXPECT_TRUE(is_zombie(k, g));
    EXPECT_FALSE(pending(k, m2, kSIGCHLD));
    exit_and_settle(k, m2, 0);
    EXPECT_EQ(k.task(g).real_parent, kInit);
    EXPECT_EQ(k.task(g).exit_signal, kSIGCHLD);
    EXPECT_EQ(k.task(m).exit_signal, kSIGCHLD);  // the live one too
    EXPECT_TRUE(pending(k, kInit, kSIGCHLD));
    SysRet w = k.sys_wait4(kInit, g, kWNOHANG);
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(*w.status, exited(3));
}

// reparent_leader: the invisible zombie of H1 (no-parent-check profile) becomes visible once its parent dies.
TEST(Exit, ReparentLeaderResolvesInvisibleZombieWithoutParentCheck) {
    Kernel k = make_kernel("7.1-no-parent-check");
    TaskId m = do_fork(k, kTest);
    TaskId a = spawn(k, m, clone3_args(CF_AUTOREAP));
    TaskId g = spawn(k, a, clone3_args(CF_PARENT));
    exit_and_settle(k, g, 4);
    ASSERT_TRUE(is_zombie(k, g));
    EXPECT_EQ(k.sys_wait4(m, kNoTask, kWNOHANG).err, ECHILD_);
    exit_and_settle(k, m, 0);
    EXPECT_EQ(k.task(g).exit_signal, kSIGCHLD);
    EXPECT_TRUE(pending(k, kInit, kSIGCHLD));
    SysRet w = k.sys_wait4(kInit, g, kWNOHANG);
    ASSERT_TRUE(w.returns_id) << w.rule;
    EXPECT_EQ(*w.status, exited(4));
}

// reparent_leader: a traced zombie is reset but not notified (its tracer still owns it).
TEST(Exit, ReparentLeaderDoesNotNotifyForTracedZombie) {
    Kernel k = make_kernel();
    TaskId d = do_fork(k, kTest);
    TaskId p = do_fork(k, kTest);
    TaskId c = spawn(k, p, clone_args(0, kSIGUSR1));
    ASSERT_EQ(k.sys_ptrace_seize(d, c, false).ret, 0);
    exit_and_settle(k, c, 1);
    ASSERT_TRUE(is_zombie(k, c));
    ASSERT_TRUE(take(k, d, kSIGCHLD));
    exit_and_settle(k, p, 0);
    EXPECT_EQ(k.task(c).real_parent, kInit);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);  // reset anyway
    EXPECT_EQ(k.task(c).parent, d);
    EXPECT_TRUE(is_zombie(k, c));
    EXPECT_FALSE(pending(k, kInit, kSIGCHLD));
    EXPECT_FALSE(pending(k, d, kSIGCHLD));
    // the tracer reaps (EXIT_TRACE), then init is notified with the reset SIGCHLD
    ASSERT_TRUE(k.sys_wait4(d, c, kWNOHANG).returns_id);
    EXPECT_TRUE(pending(k, kInit, kSIGCHLD));
    EXPECT_TRUE(k.sys_wait4(kInit, c, kWNOHANG).returns_id);
}

// ---------------------------------------------------------------- transitions and settle

// enabled_transitions: releases, then notifies, then exits; each by task.
TEST(Transitions, EnabledOrder) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Ign, 0);
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    TaskId c = do_fork(k, kTest);
    TaskId d = do_fork(k, kTest);
    for (TaskId t : {a, b, c, d}) ASSERT_EQ(k.sys_kill(kTest, t, kSIGKILL).ret, 0);
    step(k, TK::DoExit, a);
    step(k, TK::DoExit, b);
    step(k, TK::ExitNotify, b);  // SIG_IGN: EXIT_DEAD
    step(k, TK::DoExit, c);
    auto en = k.enabled_transitions();
    ASSERT_EQ(en.size(), 4u);
    EXPECT_EQ(en[0].kind, TK::ReleaseTask);
    EXPECT_EQ(en[0].task, b);
    EXPECT_EQ(en[1].kind, TK::ExitNotify);
    EXPECT_EQ(en[1].task, a);
    EXPECT_EQ(en[2].kind, TK::ExitNotify);
    EXPECT_EQ(en[2].task, c);
    EXPECT_EQ(en[3].kind, TK::DoExit);
    EXPECT_EQ(en[3].task, d);
    k.settle();
    EXPECT_TRUE(k.enabled_transitions().empty());
    for (TaskId t : {a, b, c, d}) EXPECT_TRUE(is_released(k, t));
}

// settle: runs every transition to quiescence; nothing is enabled on a quiet kernel.
TEST(Transitions, SettleOnQuietKernelIsNoop) {
    Kernel k = make_kernel();
    std::string before = snapshot(k);
    EXPECT_TRUE(k.enabled_transitions().empty());
    k.settle();
    EXPECT_EQ(snapshot(k), before);
}

// A busy scenario: threads, CLONE_PARENT, subreaper, ptrace, autokill, exec, group exit.
void busy_run(Kernel& k) {
    k.sys_prctl_set_child_subreaper(kTest, 1);
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    int fd;
    TaskId c = spawn_pidfd(k, p, kAutokill, fd);
    TaskId g = spawn(k, p2, clone3_args(CF_PARENT));
    TaskId h = spawn(k, p, clone_args(0, kSIGUSR1));
    k.sys_prctl_set_pdeathsig(h, kSIGUSR2);
    TaskId d = do_fork(k, kTest);
    k.sys_ptrace_seize(d, h, true);
    k.sys_exit(c, 9);
    k.sys_exit_group(p2, 3);
    k.sys_exit(g, 1);
    k.sys_execve(d, false, false);
    k.sys_exit(d, 0);
}

// settle: the same calls give the same state (the checker relies on it).
TEST(Transitions, SettleIsDeterministic) {
    Kernel k1 = make_kernel();
    Kernel k2 = make_kernel();
    busy_run(k1);
    busy_run(k2);
    Kernel copy = k1;  // a copy of the unsettled kernel
    k1.settle();
    k2.settle();
    copy.settle();
    EXPECT_EQ(snapshot(k1), snapshot(k2));
    EXPECT_EQ(snapshot(k1), snapshot(copy));
    EXPECT_TRUE(k1.enabled_transitions().empty());
}

// Kernel is a value: a copy evolves independently of the original.
TEST(Transitions, KernelCopiesAreIndependent) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    Kernel copy = k;
    exit_and_settle(copy, c, 1);
    EXPECT_TRUE(is_running(k, c));
    EXPECT_TRUE(is_zombie(copy, c));
}

}  // namespace
}  // namespace pidlab::test
