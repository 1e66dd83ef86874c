// fs/exec.c: execve: de_thread (exit_signal reset, a non-leader taking over),
// unshare_sighand, flush_signal_handlers, unshare_files + do_close_on_exec,
// bprm_fill_uid / cap_bprm_creds_from_file (setuid root, no_new_privs, secure exec).
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// de_thread: "we have changed execution domain": exit_signal = SIGCHLD.
TEST(Exec, ResetsExitSignalToSigchld) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone_args(0, kSIGUSR1));
    SysRet r = k.sys_execve(c, false, false);
    EXPECT_EQ(r.ret, 0);
    EXPECT_EQ(k.task(c).exit_signal, kSIGCHLD);
    EXPECT_EQ(k.task(c).origin, SignalOrigin::ExecReset);
    EXPECT_EQ(k.task(c).self_exec_id, 1);
    exit_and_settle(k, c, 2);
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    EXPECT_FALSE(pending(k, kTest, kSIGUSR1));
    SysRet w = k.sys_wait4(kTest, c, kWNOHANG);  // a normal child now
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(2));
}

// bprm_fill_uid: a setuid-root binary sets euid (and suid) to 0 and grants capabilities.
TEST(Exec, SetuidRootRaisesEuid) {
    Kernel k = make_kernel("7.1", kUser);
    SysRet r = k.sys_execve(kTest, true, false);
    ASSERT_EQ(r.ret, 0);
    EXPECT_EQ(*r.euid, 0);
    EXPECT_TRUE(rule_has(r, "setuid root")) << r.rule;
    EXPECT_EQ(ids(k.task(kTest).cred), (Ids{1000, 0, 0, true}));
    // a plain exec keeps the credentials
    Kernel p = make_kernel("7.1", kUser);
    SysRet q = p.sys_execve(kTest, false, false);
    EXPECT_EQ(*q.euid, 1000);
    EXPECT_EQ(ids(p.task(kTest).cred), ids(kUser));
}

// bprm_fill_uid: with no_new_privs the setuid bit is ignored.
TEST(Exec, NoNewPrivsIgnoresSetuid) {
    Kernel k = make_kernel("7.1", kUser);
    k.sys_prctl_set_no_new_privs(kTest, 1);
    k.sys_prctl_set_pdeathsig(kTest, kSIGUSR1);
    SysRet r = k.sys_execve(kTest, true, false);
    EXPECT_EQ(*r.euid, 1000);
    EXPECT_TRUE(rule_has(r, "no_new_privs")) << r.rule;
    EXPECT_EQ(ids(k.task(kTest).cred), ids(kUser));
    EXPECT_EQ(k.task(kTest).pdeath_signal, kSIGUSR1);  // not a secure exec
    // a CLONE_NNP child is covered the same way
    Kernel k2 = make_kernel("7.1", kUser);
    TaskId c = spawn(k2, kTest, clone3_args(CF_NNP, kSIGCHLD));
    EXPECT_EQ(*k2.sys_execve(c, true, false).euid, 1000);
}

// begin_new_exec: a secure (setuid) exec resets pdeath_signal; a plain one keeps it.
TEST(Exec, SecureExecResetsPdeath) {
    Kernel k = make_kernel("7.1", kUser);
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    k.sys_prctl_set_pdeathsig(a, kSIGUSR1);
    k.sys_prctl_set_pdeathsig(b, kSIGUSR1);
    k.sys_execve(a, true, false);
    k.sys_execve(b, false, false);
    EXPECT_EQ(k.task(a).pdeath_signal, 0);
    EXPECT_EQ(k.task(b).pdeath_signal, kSIGUSR1);
    // root executing a setuid-root binary changes nothing: not a secure exec
    Kernel r = make_kernel();
    r.sys_prctl_set_pdeathsig(kTest, kSIGUSR1);
    r.sys_execve(kTest, true, false);
    EXPECT_EQ(r.task(kTest).pdeath_signal, kSIGUSR1);
}

// do_close_on_exec: pidfds (O_CLOEXEC) are closed; a dup'd fd (no FD_CLOEXEC) survives; keep_fds keeps all.
TEST(Exec, ClosesCloseOnExecFds) {
    Kernel k = make_kernel();
    int fd = must_pidfd_open(k, kTest, kInit);
    int file = file_index(k, kTest, fd);
    int d = k.sys_dup(kTest, fd).fd;
    int other = must_pidfd_open(k, kTest, kInit);
    int other_file = file_index(k, kTest, other);
    k.sys_execve(kTest, false, false);
    EXPECT_EQ(k.fd_entry(kTest, fd), nullptr);
    EXPECT_EQ(k.fd_entry(kTest, other), nullptr);
    ASSERT_NE(k.fd_entry(kTest, d), nullptr);
    EXPECT_EQ(k.file(file).refs, 1);
    EXPECT_TRUE(k.file(other_file).released);
    Kernel k2 = make_kernel();
    int f2 = must_pidfd_open(k2, kTest, kInit);
    k2.sys_execve(kTest, false, true);
    ASSERT_NE(k2.fd_entry(kTest, f2), nullptr);
    EXPECT_FALSE(entry(k2, kTest, f2).cloexec);
}

// flush_signal_handlers(me, 0): caught -> SIG_DFL, SIG_IGN kept, flags (SA_NOCLDWAIT) cleared.
TEST(Exec, FlushesSignalHandlers) {
    Kernel k = make_kernel();
    k.sys_rt_sigaction(kTest, kSIGUSR1, Handler::Catch, 0);
    k.sys_rt_sigaction(kTest, kSIGUSR2, Handler::Ign, 0);
    k.sys_rt_sigaction(kTest, kSIGCHLD, Handler::Catch, kSA_NOCLDWAIT);
    k.sys_execve(kTest, false, false);
    const Sighand& sh = k.sighand_of(kTest);
    EXPECT_EQ(sh.action[kSIGUSR1 - 1], Handler::Dfl);
    EXPECT_EQ(sh.action[kSIGUSR2 - 1], Handler::Ign);
    EXPECT_EQ(sh.action[kSIGCHLD - 1], Handler::Dfl);
    EXPECT_EQ(sh.flags[kSIGCHLD - 1], 0u);
    // so children are no longer autoreaped
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 0);
    EXPECT_TRUE(is_zombie(k, c));
}

// unshare_sighand: a CLONE_SIGHAND (non-thread) sharer keeps the old table.
TEST(Exec, UnsharesSighand) {
    Kernel k = make_kernel();
    TaskId c = spawn(k, kTest, clone3_args(CF_VM | CF_SIGHAND, kSIGCHLD));
    int old = k.task(c).sighand;
    k.sys_execve(c, false, false);
    EXPECT_NE(k.task(c).sighand, old);
    EXPECT_EQ(k.task(kTest).sighand, old);
    EXPECT_EQ(k.sighand_of(kTest).users, 1);
    EXPECT_EQ(k.sighand_of(c).users, 1);
    k.sys_rt_sigaction(c, kSIGUSR1, Handler::Ign, 0);
    EXPECT_EQ(k.sighand_of(kTest).action[kSIGUSR1 - 1], Handler::Dfl);
}

// unshare_files: a CLONE_FILES table is copied before do_close_on_exec; the sharer keeps its fds.
TEST(Exec, UnsharesCloneFilesTable) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    int fd;
    TaskId c = spawn_pidfd(k, p, kAutokill | CF_FILES, fd);
    int table = k.task(p).files;
    ASSERT_EQ(k.task(c).files, table);
    k.sys_execve(c, false, false);
    k.settle();
    EXPECT_NE(k.task(c).files, table);
    EXPECT_EQ(k.fd_tables()[table].users, 1);
    EXPECT_EQ(k.fd_entry(c, fd), nullptr);  // closed on exec in the copy
    ASSERT_NE(k.fd_entry(p, fd), nullptr);  // still open in P's table
    EXPECT_EQ(file_at(k, p, fd).refs, 1);
    EXPECT_TRUE(is_running(k, c));  // not the last reference: no autokill
    EXPECT_EQ(autokill_events(k), 0);
}

// de_thread: a leader's exec kills and releases the other threads.
TEST(Exec, DeThreadByLeader) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    k.sys_execve(p, false, false);
    EXPECT_TRUE(is_released(k, p2));
    ASSERT_EQ(k.signal_of(p).threads.size(), 1u);
    EXPECT_TRUE(k.alive(p));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// de_thread: a non-leader takes over the leader's pid, parent and children; the old leader is released
// silently; the old leader's children were reparented to a live thread (and got their pdeath_signal).
TEST(Exec, DeThreadByNonLeader) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId p3 = do_thread(k, p);
    TaskId c = do_fork(k, p);
    k.sys_prctl_set_pdeathsig(c, kSIGUSR1);
    int pid = k.task(p).pid;
    k.sys_execve(p2, false, false);
    k.settle();
    EXPECT_EQ(k.task(p2).leader, p2);
    EXPECT_EQ(k.task(p2).pid, pid);
    EXPECT_EQ(k.task(p2).real_parent, kTest);
    EXPECT_EQ(k.task(p2).exit_signal, kSIGCHLD);
    EXPECT_TRUE(is_released(k, p));
    EXPECT_TRUE(is_released(k, p3));
    EXPECT_TRUE(has_child(k, kTest, p2));
    EXPECT_FALSE(has_child(k, kTest, p));
    ASSERT_EQ(k.signal_of(p2).threads.size(), 1u);
    EXPECT_EQ(k.signal_of(p2).threads[0], p2);
    EXPECT_EQ(k.task(c).real_parent, p2);
    EXPECT_TRUE(has_child(k, p2, c));
    EXPECT_TRUE(pending(k, c, kSIGUSR1));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
    exit_and_settle(k, p2, 4);
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    SysRet w = k.sys_wait4(kTest, p2, kWNOHANG);
    ASSERT_TRUE(w.returns_id);
    EXPECT_EQ(*w.status, exited(4));
}

// ---------------------------------------------------------------- suspected model bugs

// security/commoncap.c: cap_bprm_creds_from_file: "Check for privilege-elevated exec":
// !uid_eq(new->euid, old->uid) sets bprm->secureexec, so every exec by a task whose euid differs
// from its uid (after a setuid exec) is secure and begin_new_exec resets pdeath_signal.
TEST(Exec, ExecWithEuidNotUidIsSecure) {
    Kernel k = make_kernel("7.1", kUser);
    k.sys_execve(kTest, true, false);
    ASSERT_EQ(ids(k.task(kTest).cred), (Ids{1000, 0, 0, true}));
    k.sys_prctl_set_pdeathsig(kTest, kSIGUSR1);
    k.sys_execve(kTest, false, false);
    EXPECT_EQ(k.task(kTest).pdeath_signal, 0);
}

// fs/exec.c: de_thread never touches tsk->parent: after a non-leader exec the new leader still reports
// to its real parent (copy_process set p->parent = p->real_parent), not to the old leader's tracer.
TEST(Exec, DeThreadKeepsTheExecingThreadsParent) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId d = do_fork(k, kTest);
    ASSERT_EQ(k.sys_ptrace_seize(d, p, false).ret, 0);
    k.sys_execve(p2, false, false);
    k.settle();
    take(k, d, kSIGCHLD);  // the old leader's exit, reported to its tracer
    take(k, kTest, kSIGCHLD);
    EXPECT_EQ(k.task(p2).parent, kTest);
    EXPECT_FALSE(k.task(p2).ptraced);
    exit_and_settle(k, p2, 0);
    EXPECT_TRUE(pending(k, kTest, kSIGCHLD));
    EXPECT_FALSE(pending(k, d, kSIGCHLD));
}

// kernel/exit.c: do_group_exit: with signal->group_exec_task set (de_thread), a zapped thread exits with
// code 0, not SIGKILL (get_signal -> do_group_exit(SIGKILL) -> "else if (sig->group_exec_task) exit_code = 0").
TEST(Exec, DeThreadZappedThreadsExitWithCode0) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    TaskId p3 = do_thread(k, p);
    int tfd = must_pidfd_open(k, kTest, p3, kPIDFD_THREAD);
    k.sys_execve(p2, false, false);
    k.settle();
    ASSERT_TRUE(is_released(k, p3));
    SysRet r = k.sys_pidfd_get_info(kTest, tfd);
    ASSERT_TRUE(r.info_exit.has_value());
    EXPECT_EQ(*r.info_exit, exited(0));
}

}  // namespace
}  // namespace pidlab::test
