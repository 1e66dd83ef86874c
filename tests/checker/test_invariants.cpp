// Each invariant both ways: a state (or transition) that violates it and one that does not.
#include "checker_test_util.hpp"

namespace pidlab::checktest {
namespace {

constexpr TaskId T = kTest;

// ---- no_clone_parent_leak

TEST(NoCloneParentLeak, ViolatedWhenAutoreapZeroTravelsThroughCloneParent) {
    World w("v5");  // no merged CLONE_PARENT check
    TaskId a = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    TaskId g = w.clone(a, c3(CF_PARENT)).task;
    ASSERT_GE(g, 0);
    auto v = state_violations(w, "no_clone_parent_leak");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_NE(v[0].detail.find("C2"), std::string::npos);
}

TEST(NoCloneParentLeak, HoldsOnMergedKernelAndForAChosenZero) {
    World w("7.1");
    TaskId a = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    EXPECT_LT(w.clone(a, c3(CF_PARENT)).ret, 0);  // EINVAL: Oleg's check
    // a zero T asked for, passed on by CLONE_PARENT from a non-autoreap sibling: legal
    TaskId b = w.clone(T, c3(CF_PIDFD, 0)).task;
    TaskId g = w.clone(b, c3(CF_PARENT)).task;
    ASSERT_GE(g, 0);
    EXPECT_EQ(w.k.task(g).exit_signal, 0);
    EXPECT_TRUE(state_violations(w, "no_clone_parent_leak").empty());
}

// ---- no_invisible_zombie

TEST(NoInvisibleZombie, ViolatedByTheLeakedZeroOnExit) {
    World w("7.1-no-parent-check");
    TaskId a = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    TaskId g = w.clone(a, c3(CF_PARENT)).task;
    EXPECT_TRUE(state_violations(w, "no_invisible_zombie").empty());  // alive: not yet
    w.run([&](Kernel& k) { return k.sys_exit_group(g, 0); });
    EXPECT_EQ(w.k.task(g).exit_state, ExitState::Zombie);
    EXPECT_TRUE(has(state_violations(w, "no_invisible_zombie"), "no_invisible_zombie"));
}

TEST(NoInvisibleZombie, HoldsForAZeroTheParentChoseAndAfterAParentExec) {
    World w("7.1-no-parent-check");
    TaskId b = w.clone(T, c3(CF_PIDFD, 0)).task;  // T chose exit_signal 0
    w.run([&](Kernel& k) { return k.sys_exit_group(b, 0); });
    EXPECT_EQ(w.k.task(b).exit_state, ExitState::Zombie);
    EXPECT_TRUE(state_violations(w, "no_invisible_zombie").empty());
    // the leaked zero, but the parent exec'd since: the notification became SIGCHLD
    World x("7.1-no-parent-check");
    TaskId a = x.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    TaskId g = x.clone(a, c3(CF_PARENT)).task;
    x.run([&](Kernel& k) { return k.sys_execve(T, false, true); });
    x.run([&](Kernel& k) { return k.sys_exit_group(g, 0); });
    EXPECT_EQ(x.k.task(g).exit_state, ExitState::Zombie);
    EXPECT_TRUE(state_violations(x, "no_invisible_zombie").empty());
}

// ---- autoreap_no_zombie

TEST(AutoreapNoZombie, ViolatedByABrokenKernelThatLeavesTheZombie) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    // a kernel that forgot signal->autoreap in do_notify_parent: the child stays a zombie
    Access::signal(w.k, c).autoreap = false;
    w.run([&](Kernel& k) { return k.sys_exit_group(c, 0); });
    Access::signal(w.k, c).autoreap = true;
    ASSERT_EQ(w.k.task(c).exit_state, ExitState::Zombie);
    EXPECT_TRUE(has(state_violations(w, "autoreap_no_zombie"), "autoreap_no_zombie"));
}

TEST(AutoreapNoZombie, HoldsUntracedAndAllowsATracedZombie) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    w.run([&](Kernel& k) { return k.sys_exit_group(c, 0); });
    EXPECT_EQ(w.k.task(c).exit_state, ExitState::Released);
    EXPECT_TRUE(state_violations(w, "autoreap_no_zombie").empty());
    // traced by a sibling: a zombie for the tracer (H7), allowed
    World x("7.1");
    TaskId tracer = x.clone(T, fork_args()).task;
    TaskId d = x.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    ASSERT_EQ(x.run([&](Kernel& k) { return k.sys_ptrace_seize(tracer, d, false); }).ret, 0);
    x.run([&](Kernel& k) { return k.sys_exit_group(d, 0); });
    EXPECT_EQ(x.k.task(d).exit_state, ExitState::Zombie);
    EXPECT_TRUE(state_violations(x, "autoreap_no_zombie").empty());
}

// ---- autokill_fires

TEST(AutokillFires, ViolatedWhenTheLastReferenceDropsWithoutAKill) {
    // a kernel whose release hook does nothing (autokill identity None), with the flag accepted
    Profile broken = prof("7.1");
    broken.autokill = AutokillIdentity::None;
    World w(broken);
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_GE(c, 0);
    ASSERT_TRUE(w.aux.files.at(0).autokill_clone);
    auto v = step_violations(w, "autokill_fires", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(has(v, "autokill_fires"));
    EXPECT_TRUE(w.k.alive(c));
}

TEST(AutokillFires, HoldsWhenTheCloseKills) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    auto v = step_violations(w, "autokill_fires", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(w.k.task(c).exit_state, ExitState::Released);
}

// ---- autokill_only_clone_file

TEST(AutokillOnlyCloneFile, ViolatedByTheReusedAddressOfV3) {
    // H3: the autokill pointer survives the close; a new pidfd reuses the address
    World w("v3");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_EQ(w.run([&](Kernel& k) { return k.sys_ptrace_seize(T, c, false); }).ret, 0);
    w.run([&](Kernel& k) { return k.sys_close(T, 3); });          // SIGKILL; a traced zombie stays
    ASSERT_EQ(w.k.task(c).exit_state, ExitState::Zombie);
    SysRet r = w.pidfd_open(T, c);                                 // reuses the freed address
    ASSERT_GE(r.ret, 0);
    auto v = step_violations(w, "autokill_only_clone_file", T,
                             [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, int(r.ret)); }); });
    EXPECT_TRUE(has(v, "autokill_only_clone_file"));
}

TEST(AutokillOnlyCloneFile, HoldsForTheFileFlagOfV4On) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_EQ(w.run([&](Kernel& k) { return k.sys_ptrace_seize(T, c, false); }).ret, 0);
    auto v1 = step_violations(w, "autokill_only_clone_file", T,
                              [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(v1.empty());  // the clone3 file itself: allowed
    SysRet r = w.pidfd_open(T, c);
    ASSERT_GE(r.ret, 0);
    auto v2 = step_violations(w, "autokill_only_clone_file", T,
                              [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, int(r.ret)); }); });
    EXPECT_TRUE(v2.empty());
}

// The 7.1 finding of `pidlab random` (seed 1): a thread C3 of the autokill child C2, with its
// own fd-table copy, execs. de_thread zaps C2, whose exit_files drops the last reference to
// C2's own autokill file (the SIGKILL is right); the model's de_thread then moves the file, with
// the struct pid, to C3. The invariant judges by the file's task at the release.
TEST(AutokillOnlyCloneFile, HoldsWhenDeThreadMovesTheFileAfterTheRelease) {
    World w("7.1");
    TaskId c2 = w.clone(T, c3(CF_FILES | CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_GE(c2, 0);
    TaskId t3 = w.clone(c2, c3(CF_VM | CF_SIGHAND | CF_THREAD)).task;
    ASSERT_GE(t3, 0);
    w.run([&](Kernel& k) { return k.sys_exit_group(T, 0); });
    ASSERT_EQ(w.run([&](Kernel& k) { return k.sys_close(t3, 3); }).ret, 0);
    size_t e0 = w.k.events.size();
    auto v = step_violations(w, "autokill_only_clone_file", t3,
                             [&](World& x) { x.run([&](Kernel& k) { return k.sys_execve(t3, false, false); }); });
    EXPECT_TRUE(v.empty()) << v.front().detail;
    ASSERT_GT(w.k.events.size(), e0);  // the release did send the autokill SIGKILL
    EXPECT_EQ(w.k.events[e0].target, c2);
    EXPECT_EQ(w.k.file(0).pid, t3);  // and the file follows the struct pid to the new leader
}

// The other order within one step: de_thread moves the file first, and the exec's close of
// the close-on-exec copy releases it, naming the new leader.
TEST(AutokillOnlyCloneFile, HoldsWhenTheCloseOnExecReleasesTheMovedFile) {
    World w("7.1");
    TaskId c2 = w.clone(T, c3(CF_FILES | CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    TaskId t3 = w.clone(c2, c3(CF_VM | CF_SIGHAND | CF_THREAD)).task;
    ASSERT_GE(t3, 0);
    w.run([&](Kernel& k) { return k.sys_exit_group(T, 0); });
    auto v = step_violations(w, "autokill_only_clone_file", t3,
                             [&](World& x) { x.run([&](Kernel& k) { return k.sys_execve(t3, false, false); }); });
    EXPECT_TRUE(v.empty()) << v.front().detail;
    EXPECT_TRUE(w.k.file(0).released);
}

TEST(AutokillOnlyCloneFile, ViolatedWhenTheKillHitsATaskTheFileNeverNamed) {
    // a broken kernel whose release kills a sibling Q of the file's task
    World w("7.1");
    TaskId q = w.clone(T, fork_args()).task;  // before the pidfd: Q's fd table holds no copy
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_GE(c, 0);
    ASSERT_GE(q, 0);
    auto v = step_violations(w, "autokill_only_clone_file", T, [&](World& x) {
        size_t e0 = x.k.events.size();
        x.run([&](Kernel& k) { return k.sys_close(T, 3); });
        ASSERT_EQ(x.k.events.size(), e0 + 1);
        x.k.events.back().target = q;
    });
    EXPECT_TRUE(has(v, "autokill_only_clone_file"));
}

// ---- autokill_no_self_pin

TEST(AutokillNoSelfPin, ViolatedThroughCloneFiles) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP | CF_FILES)).task;
    EXPECT_TRUE(state_violations(w, "autokill_no_self_pin").empty());  // T still holds it too
    w.run([&](Kernel& k) { return k.sys_exit_group(T, 0); });
    EXPECT_TRUE(w.k.alive(c));
    EXPECT_TRUE(has(state_violations(w, "autokill_no_self_pin"), "autokill_no_self_pin"));
}

TEST(AutokillNoSelfPin, HoldsWithoutCloneFilesAndForAnotherHolder) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP)).task;
    TaskId q = w.clone(T, fork_args()).task;  // Q holds a copy of the pidfd (H5 a)
    w.run([&](Kernel& k) { return k.sys_exit_group(T, 0); });
    EXPECT_TRUE(w.k.alive(c));
    EXPECT_TRUE(w.k.alive(q));
    EXPECT_TRUE(state_violations(w, "autokill_no_self_pin").empty());
}

// ---- no_unprivileged_kill

TEST(NoUnprivilegedKill, ViolatedByV3AutokillOfASetuidChild) {
    // H2: an unprivileged creator kills a child that became root for good
    World w("v3", kUser);
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_GE(c, 0);
    w.run([&](Kernel& k) { return k.sys_execve(c, true, false); });
    ASSERT_EQ(w.run([&](Kernel& k) { return k.sys_setresuid(c, 0); }).ret, 0);
    EXPECT_NE(w.run([&](Kernel& k) { return k.sys_kill(T, c, kSIGKILL); }).ret, 0);  // kill(2): EPERM
    auto v = step_violations(w, "no_unprivileged_kill", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(has(v, "no_unprivileged_kill"));
}

TEST(NoUnprivilegedKill, HoldsWithNnpOnMergedKernelAndForAPrivilegedCreator) {
    World w("7.1", kUser);
    EXPECT_LT(w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).ret, 0);  // EPERM without NNP
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL | CF_NNP)).task;
    w.run([&](Kernel& k) { return k.sys_execve(c, true, false); });  // NNP: the setuid bit is ignored
    w.run([&](Kernel& k) { return k.sys_setresuid(c, 0); });        // EPERM
    auto v = step_violations(w, "no_unprivileged_kill", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(w.k.task(c).exit_state, ExitState::Released);
    // a root creator (CAP_SYS_ADMIN at creation) may kill anyone
    World r("7.1");
    TaskId d = r.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    r.run([&](Kernel& k) { return k.drop_privileges(d, 2000); });
    auto v2 = step_violations(r, "no_unprivileged_kill", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(v2.empty());
}

// The 7.1 finding of `pidlab random` (seed 3): the creator made the file unprivileged (uid
// 65534), then exec'd the setuid-root helper and dropped to uid 1000; the kill of C (uid 65534)
// is one the creator could make when it created the file: judged by its credentials then.
TEST(NoUnprivilegedKill, JudgesTheCreatorByItsCredentialsAtCreation) {
    World w("7.1");
    ASSERT_EQ(w.run([&](Kernel& k) { return k.drop_privileges(T, 65534); }).ret, 0);
    TaskId c = w.clone(T, c3(CF_FILES | CF_PIDFD | CF_AUTOREAP | CF_NNP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_GE(c, 0);
    EXPECT_EQ(w.aux.files.at(0).creator_cred.uid, 65534);
    EXPECT_FALSE(w.aux.files.at(0).creator_cred.caps);
    w.run([&](Kernel& k) { return k.sys_execve(T, true, false); });  // T: euid 0; its copy closed on exec
    ASSERT_EQ(w.run([&](Kernel& k) { return k.drop_privileges(T, 1000); }).ret, 0);
    EXPECT_FALSE(kill_ok_by_cred(w.k.task(T).cred, w.k.task(c).cred));  // now T could not kill C
    auto v = step_violations(w, "no_unprivileged_kill", c, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(c, 3); }); });
    EXPECT_TRUE(v.empty()) << v.front().detail;
    EXPECT_EQ(w.k.task(c).exit_state, ExitState::Released);  // the autokill did fire
}

TEST(NoUnprivilegedKill, ViolatedThoughTheCreatorGainedRootAfterCreation) {
    // v3 (no CLONE_NNP needed): created at uid 1000, the child becomes root for good, and
    // the creator itself execs a setuid-root helper before the close: it could kill the
    // child now, but it could not when it created the file.
    World w("v3", kUser);
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP | CF_PIDFD_AUTOKILL)).task;
    ASSERT_GE(c, 0);
    w.run([&](Kernel& k) { return k.sys_execve(c, true, false); });
    ASSERT_EQ(w.run([&](Kernel& k) { return k.sys_setresuid(c, 0); }).ret, 0);
    w.run([&](Kernel& k) { return k.sys_execve(T, true, true); });  // keeps the pidfd
    ASSERT_EQ(w.run([&](Kernel& k) { return k.sys_setresuid(T, 0); }).ret, 0);
    EXPECT_TRUE(kill_ok_by_cred(w.k.task(T).cred, w.k.task(c).cred));
    auto v = step_violations(w, "no_unprivileged_kill", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_close(T, 3); }); });
    EXPECT_TRUE(has(v, "no_unprivileged_kill"));
}

// ---- nnp_monotonic

TEST(NnpMonotonic, ViolatedWhenATaskLosesIt) {
    World w("7.1");
    w.run([&](Kernel& k) { return k.sys_prctl_set_no_new_privs(T, 1); });
    auto v = step_violations(w, "nnp_monotonic", T, [&](World& x) { Access::task(x.k, T).no_new_privs = false; });
    EXPECT_TRUE(has(v, "nnp_monotonic"));
    // or a child created without it
    World y("7.1");
    y.run([&](Kernel& k) { return k.sys_prctl_set_no_new_privs(T, 1); });
    auto v2 = step_violations(y, "nnp_monotonic", T, [&](World& x) {
        TaskId c = x.clone(T, fork_args()).task;
        Access::task(x.k, c).no_new_privs = false;
    });
    EXPECT_TRUE(has(v2, "nnp_monotonic"));
}

TEST(NnpMonotonic, HoldsAcrossForkExecAndCloneNnp) {
    World w("7.1");
    w.run([&](Kernel& k) { return k.sys_prctl_set_no_new_privs(T, 1); });
    auto v = step_violations(w, "nnp_monotonic", T, [&](World& x) { x.clone(T, fork_args()); });
    EXPECT_TRUE(v.empty());
    auto v2 = step_violations(w, "nnp_monotonic", T, [&](World& x) { x.run([&](Kernel& k) { return k.sys_execve(T, true, false); }); });
    EXPECT_TRUE(v2.empty());
    EXPECT_TRUE(w.k.task(T).no_new_privs);
}

// ---- parent_alive

TEST(ParentAlive, ViolatedWhenAChildIsNotReparented) {
    World w("7.1");
    TaskId p = w.clone(T, fork_args()).task;
    TaskId c = w.clone(p, fork_args()).task;
    // a kernel that forgot forget_original_parent: p dies, c keeps it as its parent
    Access::task(w.k, p).children.clear();
    w.run([&](Kernel& k) { return k.sys_exit_group(p, 0); });
    ASSERT_EQ(w.k.task(c).real_parent, p);
    EXPECT_TRUE(has(state_violations(w, "parent_alive"), "parent_alive"));
}

TEST(ParentAlive, HoldsAfterReparentingToInitAndToASubreaper) {
    World w("7.1");
    w.run([&](Kernel& k) { return k.sys_prctl_set_child_subreaper(T, 1); });
    TaskId p = w.clone(T, fork_args()).task;
    TaskId c = w.clone(p, fork_args()).task;
    w.run([&](Kernel& k) { return k.sys_exit_group(p, 0); });
    EXPECT_EQ(w.k.task(c).real_parent, T);
    EXPECT_TRUE(state_violations(w, "parent_alive").empty());
    w.run([&](Kernel& k) { return k.sys_exit_group(T, 0); });
    EXPECT_EQ(w.k.task(c).real_parent, kInit);
    EXPECT_TRUE(state_violations(w, "parent_alive").empty());
}

// ---- exit_info_kept

TEST(ExitInfoKept, ViolatedWhenTheExitIsNotStored) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    w.run([&](Kernel& k) { return k.sys_exit_group(c, 7); });
    ASSERT_EQ(w.k.task(c).exit_state, ExitState::Released);
    Access::task(w.k, c).pidfs_has_exit = false;  // a kernel that skipped pidfs_exit
    EXPECT_TRUE(has(state_violations(w, "exit_info_kept"), "exit_info_kept"));
}

TEST(ExitInfoKept, HoldsThroughTheClonePidfdAndAPidfdOpen) {
    World w("7.1");
    TaskId c = w.clone(T, c3(CF_PIDFD | CF_AUTOREAP)).task;
    ASSERT_GE(w.pidfd_open(T, c).ret, 0);
    w.run([&](Kernel& k) { return k.sys_exit_group(c, 7); });
    EXPECT_TRUE(state_violations(w, "exit_info_kept").empty());
    SysRet r = w.k.sys_pidfd_get_info(T, 4);
    ASSERT_TRUE(r.info_exit.has_value());
    EXPECT_EQ(*r.info_exit, 7 << 8);
}

// ---- registry

TEST(Registry, NamesStatementsAndParsing) {
    EXPECT_EQ(invariants().size(), 10u);
    for (const auto& i : invariants()) {
        EXPECT_TRUE(invariant_index(i.name).has_value());
        EXPECT_GT(std::string(i.statement).size(), 20u);
    }
    std::string unknown;
    EXPECT_EQ(parse_invariants("all", unknown), all_invariants());
    EXPECT_EQ(parse_invariants("parent_alive,nnp_monotonic", unknown), only("parent_alive") | only("nnp_monotonic"));
    EXPECT_TRUE(unknown.empty());
    parse_invariants("parent_alive,nope", unknown);
    EXPECT_EQ(unknown, "nope");
}

TEST(Registry, KillOkByCredFollowsTheKernel) {
    EXPECT_TRUE(kill_ok_by_cred(kUser, kUser));
    EXPECT_FALSE(kill_ok_by_cred(kUser, Cred{0, 0, 0, true}));
    EXPECT_TRUE(kill_ok_by_cred(kUser, Cred{1000, 0, 0, true}));  // setuid exec: ruid still 1000
    EXPECT_TRUE(kill_ok_by_cred(kRoot, kUser));                   // CAP_KILL
}

}  // namespace
}  // namespace pidlab::checktest
