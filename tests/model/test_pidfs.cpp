// fs/file.c (fd tables, dup, close, fput), kernel/pid.c (pidfd_open), fs/pidfs.c
// (pidfs_file_release = autokill, pidfd_poll, PIDFD_GET_INFO, pidfs_exit).
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// ---------------------------------------------------------------- pidfd_open

// pidfd_open: a new O_CLOEXEC file with one reference, at the lowest free fd >= 3.
TEST(PidfdOpen, Basic) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    SysRet r = k.sys_pidfd_open(kTest, c, kPIDFD_NONBLOCK);
    ASSERT_GE(r.ret, 0);
    EXPECT_TRUE(r.returns_id);
    EXPECT_EQ(r.fd, 3);
    EXPECT_EQ(r.ret, 3);
    const FdEntry* e = k.fd_entry(kTest, r.fd);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->cloexec);
    const File& f = k.file(e->file);
    EXPECT_EQ(f.refs, 1);
    EXPECT_EQ(f.pid, c);
    EXPECT_TRUE(f.nonblock);
    EXPECT_FALSE(f.thread);
    EXPECT_FALSE(f.autokill);
    EXPECT_FALSE(f.clone3);
    int b = must_pidfd_open(k, kTest, c);
    EXPECT_EQ(b, 4);
    EXPECT_NE(file_index(k, kTest, b), e->file);  // each pidfd_open is a new struct file
    ASSERT_EQ(k.sys_close(kTest, 3).ret, 0);
    EXPECT_EQ(must_pidfd_open(k, kTest, c), 3);  // lowest free number
}

// pidfd_open: flags outside PIDFD_NONBLOCK|PIDFD_THREAD are EINVAL; PIDFD_THREAD is unknown before 6.9.
TEST(PidfdOpen, FlagValidationByVersion) {
    Kernel k = make_kernel();
    EXPECT_EQ(k.sys_pidfd_open(kTest, kInit, 1).err, EINVAL_);
    EXPECT_GE(k.sys_pidfd_open(kTest, kInit, kPIDFD_THREAD).ret, 0);
    Kernel old = make_kernel("6.1");
    SysRet r = old.sys_pidfd_open(kTest, kInit, kPIDFD_THREAD);
    EXPECT_EQ(r.err, EINVAL_);
    EXPECT_TRUE(rule_has(r, "unknown flag")) << r.rule;
    Kernel mid = make_kernel("6.12");
    EXPECT_GE(mid.sys_pidfd_open(kTest, kInit, kPIDFD_THREAD).ret, 0);
}

// pidfd_open: a zombie can be opened; a reaped task is ESRCH.
TEST(PidfdOpen, ZombieOkReapedEsrch) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    exit_and_settle(k, c, 1);
    EXPECT_GE(k.sys_pidfd_open(kTest, c, 0).ret, 0);
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    SysRet r = k.sys_pidfd_open(kTest, c, 0);
    EXPECT_EQ(r.err, ESRCH_);
    EXPECT_EQ(k.sys_pidfd_open(kTest, kNoTask, 0).err, ESRCH_);
    // an autoreap child is gone at once
    TaskId a = spawn(k, kTest, clone3_args(CF_AUTOREAP));
    exit_and_settle(k, a, 1);
    EXPECT_EQ(k.sys_pidfd_open(kTest, a, 0).err, ESRCH_);
}

// pidfd_prepare: a non-leader without PIDFD_THREAD is ENOENT from 6.15, EINVAL before.
TEST(PidfdOpen, NonLeaderErrnoByVersion) {
    struct V { const char* prof; int err; };
    for (V v : {V{"7.1", ENOENT_}, V{"6.18", ENOENT_}, V{"6.15", ENOENT_}, V{"6.14", EINVAL_}, V{"6.12", EINVAL_},
                V{"6.1", EINVAL_}}) {
        Kernel k = make_kernel(v.prof);
        TaskId p = do_fork(k, kTest);
        TaskId p2 = do_thread(k, p);
        SysRet r = k.sys_pidfd_open(kTest, p2, 0);
        EXPECT_EQ(r.err, v.err) << v.prof;
        EXPECT_TRUE(rule_has(r, "not a thread-group leader")) << r.rule;
        if (k.profile().pidfs()) {
            SysRet t = k.sys_pidfd_open(kTest, p2, kPIDFD_THREAD);
            ASSERT_GE(t.ret, 0) << v.prof;
            EXPECT_TRUE(file_at(k, kTest, t.fd).thread);
        }
    }
}

// ---------------------------------------------------------------- close, dup, fork, CLONE_FILES

// close_fd / dup: EBADF for an fd that is not open.
TEST(Fds, CloseAndDupEbadf) {
    Kernel k = make_kernel();
    EXPECT_EQ(k.sys_close(kTest, 3).err, EBADF_);
    EXPECT_EQ(k.sys_dup(kTest, 3).err, EBADF_);
    int fd = must_pidfd_open(k, kTest, kInit);
    ASSERT_EQ(k.sys_close(kTest, fd).ret, 0);
    EXPECT_EQ(k.sys_close(kTest, fd).err, EBADF_);
}

// dup: the same file, a new fd without FD_CLOEXEC; the file is released with its last fd.
TEST(Fds, DupSharesTheFile) {
    Kernel k = make_kernel();
    int fd = must_pidfd_open(k, kTest, kInit);
    SysRet d = k.sys_dup(kTest, fd);
    ASSERT_GE(d.ret, 0);
    EXPECT_EQ(d.fd, fd + 1);
    int file = file_index(k, kTest, fd);
    EXPECT_EQ(file_index(k, kTest, d.fd), file);
    EXPECT_FALSE(entry(k, kTest, d.fd).cloexec);
    EXPECT_EQ(k.file(file).refs, 2);
    SysRet c1 = k.sys_close(kTest, fd);
    EXPECT_FALSE(k.file(file).released);
    EXPECT_FALSE(rule_has(c1, "last reference"));
    SysRet c2 = k.sys_close(kTest, d.fd);
    EXPECT_TRUE(k.file(file).released);
    EXPECT_EQ(k.file(file).refs, 0);
    EXPECT_TRUE(rule_has(c2, "last reference")) << c2.rule;
}

// dup_fd: fork copies the table, taking a reference on every file (close-on-exec ones too).
TEST(Fds, ForkTakesReferences) {
    Kernel k = make_kernel();
    int fd = must_pidfd_open(k, kTest, kInit);
    int file = file_index(k, kTest, fd);
    TaskId c = do_fork(k, kTest);
    EXPECT_EQ(k.file(file).refs, 2);
    ASSERT_NE(k.fd_entry(c, fd), nullptr);
    EXPECT_TRUE(entry(k, c, fd).cloexec);
    ASSERT_EQ(k.sys_close(c, fd).ret, 0);
    EXPECT_EQ(k.file(file).refs, 1);
    EXPECT_NE(k.fd_entry(kTest, fd), nullptr);
}

// copy_files with CLONE_FILES: one table, no extra references; a close in either is seen by both.
TEST(Fds, CloneFilesSharesTable) {
    Kernel k = make_kernel();
    int fd = must_pidfd_open(k, kTest, kInit);
    int file = file_index(k, kTest, fd);
    TaskId c = spawn(k, kTest, clone3_args(CF_FILES, kSIGCHLD));
    EXPECT_EQ(k.file(file).refs, 1);
    ASSERT_EQ(k.sys_close(c, fd).ret, 0);
    EXPECT_EQ(k.fd_entry(kTest, fd), nullptr);
    EXPECT_TRUE(k.file(file).released);
}

// ---------------------------------------------------------------- autokill (pidfs_file_release)

// pidfs_file_release: closing the last reference of the clone3 AUTOKILL file SIGKILLs the child.
TEST(Autokill, CloseKillsChild) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    ASSERT_EQ(k.sys_close(kTest, fd).ret, 0);
    EXPECT_TRUE(k.task(c).exit_requested);
    EXPECT_TRUE(k.task(c).autokilled);
    ASSERT_EQ(autokill_events(k), 1);
    EXPECT_EQ(k.events[0].target, c);
    EXPECT_TRUE(k.events[0].privileged_creator);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    EXPECT_FALSE(pending(k, kTest, kSIGCHLD));
}

// pidfs_file_release: only the last reference counts (dup).
TEST(Autokill, OnlyLastReferenceDup) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    int d = k.sys_dup(kTest, fd).fd;
    k.sys_close(kTest, fd);
    k.settle();
    EXPECT_TRUE(is_running(k, c));
    EXPECT_EQ(autokill_events(k), 0);
    k.sys_close(kTest, d);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    EXPECT_EQ(autokill_events(k), 1);
}

// H5a: a forked copy of the table keeps the child alive after the parent closes; its exit kills.
TEST(Autokill, ForkCopyKeepsChildAlive) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    int fd;
    TaskId c = spawn_pidfd(k, p, kAutokill, fd);
    TaskId q = do_fork(k, p);
    k.sys_close(p, fd);
    exit_and_settle(k, p, 0);
    EXPECT_TRUE(is_running(k, c));
    exit_and_settle(k, q, 0);
    EXPECT_TRUE(is_released(k, c));
    EXPECT_TRUE(k.task(c).autokilled);
}

// H5b: with CLONE_FILES the shared table keeps the file after the parent exits; the child closing it kills itself.
TEST(Autokill, CloneFilesSelfClose) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    int fd;
    TaskId c = spawn_pidfd(k, p, kAutokill | CF_FILES, fd);
    exit_and_settle(k, p, 0);
    EXPECT_TRUE(is_running(k, c));
    EXPECT_EQ(autokill_events(k), 0);
    ASSERT_NE(k.fd_entry(c, fd), nullptr);
    k.sys_close(c, fd);
    EXPECT_TRUE(k.task(c).autokilled);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
}

// pidfs_file_release: do_send_sig_info(..., PIDTYPE_TGID) kills the whole thread group.
TEST(Autokill, KillsWholeThreadGroup) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    TaskId c2 = do_thread(k, c);
    k.sys_close(kTest, fd);
    EXPECT_TRUE(k.task(c2).exit_requested);
    EXPECT_TRUE(k.task(c2).autokilled);
    EXPECT_EQ(k.signal_of(c).group_exit_code, kSIGKILL);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    EXPECT_TRUE(is_released(k, c2));
}

// H4: autokill does not cover descendants: the grandchild is reparented and keeps running.
TEST(Autokill, DoesNotKillGrandchild) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    TaskId g = do_fork(k, c);
    k.sys_close(kTest, fd);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    EXPECT_TRUE(is_running(k, g));
    EXPECT_EQ(k.task(g).real_parent, kInit);
}

// pidfs_file_release (7.1): only the clone3 file carries PIDFD_AUTOKILL; pidfd_open files never kill.
TEST(Autokill, PidfdOpenFileNeverKills) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    int o = must_pidfd_open(k, kTest, c);
    EXPECT_FALSE(file_at(k, kTest, o).autokill);
    int od = k.sys_dup(kTest, o).fd;
    k.sys_close(kTest, o);
    k.sys_close(kTest, od);
    k.settle();
    EXPECT_TRUE(is_running(k, c));
    EXPECT_EQ(autokill_events(k), 0);
    // a plain CLONE_PIDFD file does not kill either
    int pfd;
    TaskId d = spawn_pidfd(k, kTest, CF_AUTOREAP, pfd);
    k.sys_close(kTest, pfd);
    k.settle();
    EXPECT_TRUE(is_running(k, d));
    EXPECT_EQ(autokill_events(k), 0);
}

// H3 (v2/v3): the release hook compares signal->autokill_pidfd with the file's address; a reused
// address (a pidfd_open file) sends a second SIGKILL. 7.1's f_flags bit does not.
TEST(Autokill, V2ReusedAddressKillsAgain) {
    for (const char* prof : {"v2", "v3", "7.1"}) {
        Kernel k = make_kernel(prof);
        int fd;
        bool v2 = std::string(prof) != "7.1";
        TaskId c = spawn_pidfd(k, kTest, v2 ? (CF_AUTOREAP | CF_PIDFD_AUTOKILL) : kAutokill, fd);
        int addr = file_at(k, kTest, fd).addr;
        k.sys_close(kTest, fd);
        ASSERT_EQ(autokill_events(k), 1) << prof;
        ASSERT_FALSE(is_released(k, c));  // SIGKILL pending, not yet reaped
        int o = must_pidfd_open(k, kTest, c);
        EXPECT_EQ(file_at(k, kTest, o).addr, addr) << prof;  // the slab reuses the address
        k.sys_close(kTest, o);
        EXPECT_EQ(autokill_events(k), v2 ? 2 : 1) << prof;
        k.settle();
        EXPECT_TRUE(is_released(k, c));
    }
}

// pidfs_file_release (v2/v3): the pointer identifies the file; a file of another process never matches.
TEST(Autokill, V2PointerMatchesOnlyItsOwnProcess) {
    Kernel k = make_kernel("v2");
    TaskId d = do_fork(k, kTest);  // before the clone3: its table holds no copy of the autokill file
    int fd;
    TaskId c = spawn_pidfd(k, kTest, CF_AUTOREAP | CF_PIDFD_AUTOKILL, fd);
    int od = must_pidfd_open(k, kTest, d);
    k.sys_close(kTest, od);
    EXPECT_EQ(autokill_events(k), 0);
    EXPECT_TRUE(is_running(k, d));
    k.sys_close(kTest, fd);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
}

// H2: the autokill SIGKILL is forced, without check_kill_permission (v2: no NNP, the child can become root).
TEST(Autokill, ForcedWithoutPermissionCheck) {
    Kernel k = make_kernel("v2", kUser);
    int fd;
    TaskId c = spawn_pidfd(k, kTest, CF_AUTOREAP | CF_PIDFD_AUTOKILL, fd);
    k.sys_execve(c, true, false);
    ASSERT_EQ(k.task(c).cred.euid, 0);
    ASSERT_EQ(k.sys_setresuid(c, 0).ret, 0);
    EXPECT_EQ(k.sys_kill(kTest, c, kSIGKILL).err, EPERM_);
    k.sys_close(kTest, fd);
    EXPECT_TRUE(k.task(c).autokilled);
    EXPECT_FALSE(k.events[0].privileged_creator);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
    // 7.1: CLONE_NNP is required unprivileged, and then the setuid exec does not elevate
    Kernel k71 = make_kernel("7.1", kUser);
    int fd2;
    TaskId c2 = spawn_pidfd(k71, kTest, kAutokill, fd2);
    k71.sys_execve(c2, true, false);
    EXPECT_EQ(k71.task(c2).cred.euid, 1000);
}

// H5c: the holder's exec closes the O_CLOEXEC pidfd (autokill); keep_fds (FD_CLOEXEC cleared) keeps it.
TEST(Autokill, HolderExecClosesPidfd) {
    for (bool keep : {false, true}) {
        Kernel k = make_kernel();
        TaskId p = do_fork(k, kTest);
        int fd;
        TaskId c = spawn_pidfd(k, p, kAutokill, fd);
        k.sys_execve(p, false, keep);
        k.settle();
        EXPECT_EQ(is_released(k, c), !keep) << keep;
        EXPECT_EQ(k.fd_entry(p, fd) != nullptr, keep) << keep;
        if (keep) {
            EXPECT_FALSE(entry(k, p, fd).cloexec);
            k.sys_execve(p, false, false);  // no longer close-on-exec
            k.settle();
            EXPECT_TRUE(is_running(k, c));
        }
    }
}

// pidfs_file_release: do_send_sig_info(SIGKILL, SEND_SIG_PRIV): forced through SIGNAL_UNKILLABLE (H12).
TEST(Autokill, ForcedThroughSignalUnkillable) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    Access::signal(k, c).unkillable = true;  // as if C were a pid-namespace init
    EXPECT_EQ(k.sys_kill(kTest, c, kSIGKILL).ret, 0);
    EXPECT_FALSE(k.task(c).exit_requested);  // kill() from inside is ignored
    k.sys_close(kTest, fd);
    EXPECT_TRUE(k.task(c).exit_requested);
    k.settle();
    EXPECT_TRUE(is_released(k, c));
}

// pidfs_file_release: pid_task(pid, PIDTYPE_TGID) is NULL once the child is reaped: nothing is sent.
TEST(Autokill, ReleaseAfterReapSendsNothing) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    exit_and_settle(k, c, 0);
    ASSERT_TRUE(is_released(k, c));
    k.sys_close(kTest, fd);
    EXPECT_EQ(autokill_events(k), 0);
    EXPECT_FALSE(k.task(c).autokilled);
}

// ---------------------------------------------------------------- pidfd_poll

// pidfd_poll (6.9+): 0 while running, POLLIN once exited, POLLIN|POLLHUP once reaped.
TEST(Poll, LifecycleIn71) {
    Kernel k = make_kernel();
    TaskId c = do_fork(k, kTest);
    int fd = must_pidfd_open(k, kTest, c);
    SysRet a = k.sys_poll(kTest, fd);
    EXPECT_EQ(*a.revents, 0u);
    EXPECT_EQ(a.ret, 0);
    exit_and_settle(k, c, 1);
    SysRet b = k.sys_poll(kTest, fd);
    EXPECT_EQ(*b.revents, unsigned(P_IN));
    EXPECT_EQ(b.ret, 1);
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, unsigned(P_IN | P_HUP));
}

// pidfd_poll (5.3-6.8): thread_group_exited; no EPOLLHUP even after the reap.
TEST(Poll, NoHupBefore69) {
    Kernel k = make_kernel("6.1");
    TaskId c = do_fork(k, kTest);
    int fd = must_pidfd_open(k, kTest, c);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, 0u);
    exit_and_settle(k, c, 1);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, unsigned(P_IN));
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, unsigned(P_IN));
}

// pidfd_poll by version for a leader that exited before its threads (delay_group_leader).
TEST(Poll, DelayedLeaderByVersion) {
    struct V { const char* prof; unsigned thread_fd; };
    // 6.9..6.11: a PIDFD_THREAD pidfd is readable as soon as that task exited; 6.15+ (and the measured
    // 6.12 stable backport, profile.hpp): not for a delayed leader.
    for (V v : {V{"6.10", P_IN}, V{"6.15", 0}, V{"6.18", 0}, V{"7.1", 0}}) {
        Kernel k = make_kernel(v.prof);
        TaskId p = do_fork(k, kTest);
        TaskId p2 = do_thread(k, p);
        int tfd = must_pidfd_open(k, kTest, p, kPIDFD_THREAD);
        int gfd = must_pidfd_open(k, kTest, p);
        exit_and_settle(k, p, 1);
        ASSERT_TRUE(k.delay_group_leader(p));
        EXPECT_EQ(*k.sys_poll(kTest, tfd).revents, v.thread_fd) << v.prof;
        EXPECT_EQ(*k.sys_poll(kTest, gfd).revents, 0u) << v.prof;
        exit_and_settle(k, p2, 1);
        EXPECT_EQ(*k.sys_poll(kTest, tfd).revents, unsigned(P_IN)) << v.prof;
        EXPECT_EQ(*k.sys_poll(kTest, gfd).revents, unsigned(P_IN)) << v.prof;
    }
    Kernel old = make_kernel("6.1");
    TaskId p = do_fork(old, kTest);
    TaskId p2 = do_thread(old, p);
    int gfd = must_pidfd_open(old, kTest, p);
    exit_and_settle(old, p, 1);
    EXPECT_EQ(*old.sys_poll(kTest, gfd).revents, 0u);
    exit_and_settle(old, p2, 1);
    EXPECT_EQ(*old.sys_poll(kTest, gfd).revents, unsigned(P_IN));
}

// pidfd_poll: a PIDFD_THREAD pidfd of a non-leader: POLLIN at exit_notify, POLLIN|POLLHUP at release.
TEST(Poll, ThreadPidfdOfNonLeader) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    int tfd = must_pidfd_open(k, kTest, p2, kPIDFD_THREAD);
    begin_exit(k, p2, 0);
    EXPECT_EQ(*k.sys_poll(kTest, tfd).revents, 0u);
    step(k, TK::ExitNotify, p2);
    EXPECT_EQ(*k.sys_poll(kTest, tfd).revents, unsigned(P_IN));
    step(k, TK::ReleaseTask, p2);
    EXPECT_EQ(*k.sys_poll(kTest, tfd).revents, unsigned(P_IN | P_HUP));
}

// H8: between exit_notify (POLLIN) and release_task (pidfs_exit, POLLHUP) there is no exit information.
TEST(Poll, PollinWithoutHupBetweenNotifyAndRelease) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, CF_AUTOREAP, fd);
    begin_exit(k, c, 42);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, 0u);
    step(k, TK::ExitNotify, c);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, unsigned(P_IN));
    SysRet mid = k.sys_pidfd_get_info(kTest, fd);
    EXPECT_EQ(mid.ret, 0);
    EXPECT_TRUE(mid.has_info_exit);
    EXPECT_FALSE(mid.info_exit.has_value());
    step(k, TK::ReleaseTask, c);
    EXPECT_EQ(*k.sys_poll(kTest, fd).revents, unsigned(P_IN | P_HUP));
    SysRet after = k.sys_pidfd_get_info(kTest, fd);
    ASSERT_TRUE(after.info_exit.has_value());
    EXPECT_EQ(*after.info_exit, exited(42));
}

// do_pollfd: an fd that is not open reports POLLNVAL.
TEST(Poll, NotOpenIsPollnval) {
    Kernel k = make_kernel();
    SysRet r = k.sys_poll(kTest, 9);
    EXPECT_EQ(*r.revents, unsigned(P_NVAL));
    EXPECT_EQ(r.ret, 1);
}

// ---------------------------------------------------------------- PIDFD_GET_INFO

// pidfd_ioctl: no PIDFD_GET_INFO before 6.13: ENOTTY (no ioctl, < 6.11), then EINVAL.
TEST(GetInfo, MissingBefore613) {
    Kernel a = make_kernel("6.1");
    int fa = must_pidfd_open(a, kTest, kInit);
    EXPECT_EQ(a.sys_pidfd_get_info(kTest, fa).err, ENOTTY_);
    Kernel b = make_kernel("6.12");
    int fb = must_pidfd_open(b, kTest, kInit);
    EXPECT_EQ(b.sys_pidfd_get_info(kTest, fb).err, EINVAL_);
    EXPECT_EQ(b.sys_pidfd_get_info(kTest, 42).err, EBADF_);
}

// pidfd_info (6.13, 6.14): works while the task exists, ESRCH once reaped (no PIDFD_INFO_EXIT).
TEST(GetInfo, NoExitInfoBefore615) {
    Kernel k = make_kernel("6.13");
    TaskId c = do_fork(k, kTest);
    int fd = must_pidfd_open(k, kTest, c);
    SysRet a = k.sys_pidfd_get_info(kTest, fd);
    EXPECT_EQ(a.ret, 0);
    EXPECT_FALSE(a.info_exit.has_value());
    exit_and_settle(k, c, 3);
    EXPECT_EQ(k.sys_pidfd_get_info(kTest, fd).ret, 0);
    ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
    EXPECT_EQ(k.sys_pidfd_get_info(kTest, fd).err, ESRCH_);
}

// pidfd_info (6.15+): exit information only after the reap (pidfs_exit in release_task), never for a zombie.
TEST(GetInfo, ExitInfoOnlyAfterReap) {
    for (const char* prof : {"6.15", "7.1"}) {
        Kernel k = make_kernel(prof);
        TaskId c = do_fork(k, kTest);
        int fd = must_pidfd_open(k, kTest, c);
        SysRet a = k.sys_pidfd_get_info(kTest, fd);
        EXPECT_EQ(a.ret, 0) << prof;
        EXPECT_TRUE(a.has_info_exit);
        EXPECT_FALSE(a.info_exit.has_value());
        exit_and_settle(k, c, 3);
        EXPECT_FALSE(k.sys_pidfd_get_info(kTest, fd).info_exit.has_value()) << prof;
        ASSERT_TRUE(k.sys_wait4(kTest, c, 0).returns_id);
        SysRet b = k.sys_pidfd_get_info(kTest, fd);
        EXPECT_EQ(b.ret, 0);
        ASSERT_TRUE(b.info_exit.has_value()) << prof;
        EXPECT_EQ(*b.info_exit, exited(3));
    }
}

// pidfs_exit: a killed process reports the signal; a delayed leader reports the group's code.
TEST(GetInfo, ExitInfoOfKilledAndMultithreaded) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    int o = must_pidfd_open(k, kTest, c);
    k.sys_close(kTest, fd);
    k.settle();
    EXPECT_EQ(*k.sys_pidfd_get_info(kTest, o).info_exit, killed(kSIGKILL));
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    int pf = must_pidfd_open(k, kTest, p);
    exit_and_settle(k, p, 3);
    exit_and_settle(k, p2, 7);
    ASSERT_TRUE(k.sys_wait4(kTest, p, 0).returns_id);
    EXPECT_EQ(*k.sys_pidfd_get_info(kTest, pf).info_exit, exited(7));
}

// ---------------------------------------------------------------- struct pid identity across a non-leader exec

// fs/exec.c: de_thread: exchange_tids(tsk, leader) + transfer_pid(TGID): after a non-leader execs, the
// process's pidfd (the old leader's struct pid) refers to the exec'ing thread; the thread's own old
// PIDFD_THREAD pidfd refers to the released old leader.
TEST(Pidfs, PidfdFollowsTheStructPidAcrossNonLeaderExec) {
    Kernel k = make_kernel();
    TaskId p = do_fork(k, kTest);
    TaskId p2 = do_thread(k, p);
    int gfd = must_pidfd_open(k, kTest, p);
    int tfd = must_pidfd_open(k, kTest, p2, kPIDFD_THREAD);
    k.sys_execve(p2, false, false);
    k.settle();
    EXPECT_EQ(*k.sys_poll(kTest, gfd).revents, 0u);  // the process lives on under that pid
    EXPECT_EQ(k.sys_pidfd_send_signal(kTest, gfd, kSIGUSR1).ret, 0);
    EXPECT_TRUE(pending(k, p2, kSIGUSR1));
    EXPECT_EQ(k.sys_waitid(kTest, WaitType::Pidfd, kNoTask, gfd, kWEXITED | kWNOHANG).ret, 0);
    EXPECT_EQ(*k.sys_poll(kTest, tfd).revents, unsigned(P_IN | P_HUP));  // the old tid is gone
}

// fs/pidfs.c: pidfs_file_release: pid_task(pid, PIDTYPE_TGID) "always targets the current holder of the
// pid, even after the child exec'd" (kernel-semantics.md §6.3): after a non-leader thread of the child
// execs (de_thread: transfer_pid(leader, tsk, PIDTYPE_TGID)), closing the clone3 pidfd kills that thread.
TEST(Autokill, KillsTheProcessAfterNonLeaderExec) {
    Kernel k = make_kernel();
    int fd;
    TaskId c = spawn_pidfd(k, kTest, kAutokill, fd);
    TaskId c2 = do_thread(k, c);
    k.sys_execve(c2, false, false);
    k.settle();
    ASSERT_TRUE(k.alive(c2));
    k.sys_close(kTest, fd);
    EXPECT_EQ(autokill_events(k), 1);
    EXPECT_TRUE(k.task(c2).exit_requested);
    k.settle();
    EXPECT_TRUE(is_released(k, c2));  // autoreap survives exec
}

}  // namespace
}  // namespace pidlab::test
