// kernel/sys.c: prctl (PR_SET/GET_CHILD_SUBREAPER, NO_NEW_PRIVS, PDEATHSIG),
// __sys_setresuid, setresgid+setresuid+capset; kernel/cred.c: commit_creds.
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

// prctl(PR_SET_CHILD_SUBREAPER): is_child_subreaper = !!arg2; PR_GET_CHILD_SUBREAPER reads it.
TEST(Prctl, SubreaperSetAndGet) {
    Kernel k = make_kernel();
    EXPECT_EQ(*k.sys_prctl_get_child_subreaper(kTest).value, 0);
    ASSERT_EQ(k.sys_prctl_set_child_subreaper(kTest, 5).ret, 0);
    EXPECT_TRUE(k.signal_of(kTest).is_child_subreaper);
    EXPECT_EQ(*k.sys_prctl_get_child_subreaper(kTest).value, 1);
    TaskId t2 = do_thread(k, kTest);  // a process attribute: every thread sees it
    EXPECT_EQ(*k.sys_prctl_get_child_subreaper(t2).value, 1);
    ASSERT_EQ(k.sys_prctl_set_child_subreaper(t2, 0).ret, 0);
    EXPECT_FALSE(k.signal_of(kTest).is_child_subreaper);
    EXPECT_EQ(*k.sys_prctl_get_child_subreaper(kTest).value, 0);
}

// walk_process_tree(propagate_has_child_subreaper): every existing descendant gets has_child_subreaper.
TEST(Prctl, SubreaperPropagatesToExistingDescendants) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, a);
    TaskId a2 = do_thread(k, a);
    TaskId c = do_fork(k, a2);  // a child of a non-leader thread
    TaskId g = do_fork(k, c);
    TaskId x = do_fork(k, kInit);
    for (TaskId t : {a, b, c, g}) ASSERT_FALSE(k.signal_of(t).has_child_subreaper);
    k.sys_prctl_set_child_subreaper(kTest, 1);
    for (TaskId t : {a, b, c, g}) EXPECT_TRUE(k.signal_of(t).has_child_subreaper) << t;
    EXPECT_FALSE(k.signal_of(x).has_child_subreaper);
    EXPECT_FALSE(k.signal_of(kTest).has_child_subreaper);  // the caller itself is not a descendant
    // the orphan of B's death now finds T
    TaskId bb = do_fork(k, b);
    exit_and_settle(k, b, 0);
    EXPECT_EQ(k.task(bb).real_parent, kTest);
}

// propagate_has_child_subreaper: a subtree whose root already has the flag is skipped.
TEST(Prctl, SubreaperPropagationSkipsSubtreesThatHaveIt) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, a);
    TaskId g = do_fork(k, b);
    Access::signal(k, b).has_child_subreaper = true;  // the walk stops at B
    k.sys_prctl_set_child_subreaper(kTest, 1);
    EXPECT_TRUE(k.signal_of(a).has_child_subreaper);
    EXPECT_FALSE(k.signal_of(g).has_child_subreaper);
}

// prctl(PR_SET_CHILD_SUBREAPER, 0): does not clear the descendants' has_child_subreaper.
TEST(Prctl, ClearingSubreaperKeepsDescendantsHint) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    k.sys_prctl_set_child_subreaper(kTest, 1);
    k.sys_prctl_set_child_subreaper(kTest, 0);
    EXPECT_TRUE(k.signal_of(a).has_child_subreaper);
    TaskId b = do_fork(k, a);
    exit_and_settle(k, a, 0);
    EXPECT_EQ(k.task(b).real_parent, kInit);  // the walk finds no subreaper
}

// prctl(PR_SET_NO_NEW_PRIVS): arg2 must be 1; one-way; PR_GET_NO_NEW_PRIVS returns 0/1.
TEST(Prctl, NoNewPrivs) {
    Kernel k = make_kernel();
    SysRet g0 = k.sys_prctl_get_no_new_privs(kTest);
    EXPECT_EQ(g0.ret, 0);
    EXPECT_EQ(*g0.value, 0);
    EXPECT_EQ(k.sys_prctl_set_no_new_privs(kTest, 0).err, EINVAL_);
    EXPECT_EQ(k.sys_prctl_set_no_new_privs(kTest, 2).err, EINVAL_);
    EXPECT_FALSE(k.task(kTest).no_new_privs);
    ASSERT_EQ(k.sys_prctl_set_no_new_privs(kTest, 1).ret, 0);
    SysRet g1 = k.sys_prctl_get_no_new_privs(kTest);
    EXPECT_EQ(g1.ret, 1);
    EXPECT_EQ(*g1.value, 1);
    EXPECT_EQ(k.sys_prctl_set_no_new_privs(kTest, 0).err, EINVAL_);
    EXPECT_TRUE(k.task(kTest).no_new_privs);
    // per task: a thread created before the call does not have it
    Kernel k2 = make_kernel();
    TaskId t2 = do_thread(k2, kTest);
    k2.sys_prctl_set_no_new_privs(kTest, 1);
    EXPECT_FALSE(k2.task(t2).no_new_privs);
}

// prctl(PR_SET_PDEATHSIG): !valid_signal(arg2) is EINVAL; 0 disables; PR_GET_PDEATHSIG reads it.
TEST(Prctl, Pdeathsig) {
    Kernel k = make_kernel();
    EXPECT_EQ(k.sys_prctl_set_pdeathsig(kTest, 65).err, EINVAL_);
    EXPECT_EQ(k.sys_prctl_set_pdeathsig(kTest, -1).err, EINVAL_);
    EXPECT_EQ(*k.sys_prctl_get_pdeathsig(kTest).value, 0);
    ASSERT_EQ(k.sys_prctl_set_pdeathsig(kTest, 64).ret, 0);
    EXPECT_EQ(*k.sys_prctl_get_pdeathsig(kTest).value, 64);
    ASSERT_EQ(k.sys_prctl_set_pdeathsig(kTest, 0).ret, 0);
    EXPECT_EQ(*k.sys_prctl_get_pdeathsig(kTest).value, 0);
}

// __sys_setresuid: a new id needs CAP_SETUID; one of the current ids is always allowed.
TEST(Setresuid, UnprivilegedNeedsOwnIds) {
    Kernel k = make_kernel("7.1", kUser);
    SysRet r = k.sys_setresuid(kTest, 2000);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_TRUE(rule_has(r, "CAP_SETUID")) << r.rule;
    EXPECT_EQ(ids(k.task(kTest).cred), ids(kUser));
    EXPECT_EQ(k.sys_setresuid(kTest, 1000).ret, 0);
}

// cap_emulate_setxuid + commit_creds: root leaving uid 0 loses its capabilities; the euid change resets pdeath.
TEST(Setresuid, RootDropsCapsAndResetsPdeath) {
    Kernel k = make_kernel();
    k.sys_prctl_set_pdeathsig(kTest, kSIGUSR1);
    ASSERT_EQ(k.sys_setresuid(kTest, 1000).ret, 0);
    EXPECT_EQ(ids(k.task(kTest).cred), (Ids{1000, 1000, 1000, false}));
    EXPECT_EQ(k.task(kTest).pdeath_signal, 0);
    EXPECT_EQ(k.sys_setresuid(kTest, 0).err, EPERM_);  // no way back
}

// commit_creds: no euid change, no capability gain: pdeath_signal is kept.
TEST(Setresuid, SameEuidKeepsPdeath) {
    Kernel k = make_kernel("7.1", kUser);
    k.sys_prctl_set_pdeathsig(kTest, kSIGUSR1);
    ASSERT_EQ(k.sys_setresuid(kTest, 1000).ret, 0);
    EXPECT_EQ(k.task(kTest).pdeath_signal, kSIGUSR1);
}

// __sys_setresuid after a setuid-root exec: the saved/effective root allows either direction.
TEST(Setresuid, AfterSetuidExec) {
    Kernel k = make_kernel("7.1", kUser);
    TaskId a = do_fork(k, kTest);
    TaskId b = do_fork(k, kTest);
    k.sys_execve(a, true, false);
    k.sys_execve(b, true, false);
    ASSERT_EQ(ids(k.task(a).cred), (Ids{1000, 0, 0, true}));
    k.sys_prctl_set_pdeathsig(a, kSIGUSR1);
    ASSERT_EQ(k.sys_setresuid(a, 1000).ret, 0);
    EXPECT_EQ(ids(k.task(a).cred), (Ids{1000, 1000, 1000, false}));
    EXPECT_EQ(k.task(a).pdeath_signal, 0);
    ASSERT_EQ(k.sys_setresuid(b, 0).ret, 0);
    EXPECT_EQ(ids(k.task(b).cred), (Ids{0, 0, 0, true}));
}

// setresgid + setresuid + capset(none): EPERM without capabilities for another uid; resets pdeath.
TEST(DropPrivileges, Rules) {
    Kernel k = make_kernel();
    TaskId a = do_fork(k, kTest);
    k.sys_prctl_set_pdeathsig(a, kSIGUSR1);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);
    EXPECT_EQ(ids(k.task(a).cred), (Ids{1000, 1000, 1000, false}));
    EXPECT_EQ(k.task(a).pdeath_signal, 0);
    SysRet r = k.drop_privileges(a, 2000);
    EXPECT_EQ(r.err, EPERM_);
    EXPECT_EQ(k.task(a).cred.uid, 1000);
    k.sys_prctl_set_pdeathsig(a, kSIGUSR1);
    ASSERT_EQ(k.drop_privileges(a, 1000).ret, 0);  // to itself: allowed, nothing changes
    EXPECT_EQ(k.task(a).pdeath_signal, kSIGUSR1);
    // root dropping to uid 0 without caps: the euid does not change, capabilities are lost
    TaskId b = do_fork(k, kTest);
    k.sys_prctl_set_pdeathsig(b, kSIGUSR1);
    ASSERT_EQ(k.drop_privileges(b, 0).ret, 0);
    EXPECT_EQ(ids(k.task(b).cred), (Ids{0, 0, 0, false}));
    EXPECT_EQ(k.task(b).pdeath_signal, kSIGUSR1);
}

// commit_creds: a gain of capabilities (not a subset of the old set) resets pdeath_signal.
TEST(CommitCreds, CapabilityGainResetsPdeath) {
    Kernel k = make_kernel("7.1", Cred{0, 0, 0, false});  // uid 0 without capabilities
    k.sys_prctl_set_pdeathsig(kTest, kSIGUSR1);
    k.sys_execve(kTest, false, false);  // exec as root grants the full set
    EXPECT_TRUE(k.task(kTest).cred.caps);
    EXPECT_EQ(k.task(kTest).pdeath_signal, 0);
}

}  // namespace
}  // namespace pidlab::test
