// The explorer: alphabet parsing, canonical encoding, BFS/DFS/random walks sharing
// the checks, shortest counterexamples that replay.
#include <filesystem>

#include "checker/canon.hpp"
#include "checker/explore.hpp"
#include "checker_test_util.hpp"

namespace pidlab::checktest {
namespace {

constexpr TaskId T = kTest;

ExploreConfig config(const std::string& kernel, int tasks, int depth, const std::string& ops = "minimal") {
    ExploreConfig c;
    c.profile = prof(kernel);
    std::string err;
    EXPECT_TRUE(parse_alphabet(ops, c.alphabet, err)) << err;
    c.bounds.tasks = tasks;
    c.bounds.depth = depth;
    c.mask = all_invariants();
    c.search.threads = 2;
    c.search.depth = depth;
    c.search.progress_secs = 0;
    c.search.stop_when_all_found = false;
    return c;
}

const Counterexample* find(const ExploreResult& r, const std::string& inv) {
    for (const auto& c : r.counterexamples)
        if (c.invariant == inv) return &c;
    return nullptr;
}

TEST(Alphabet, PresetsItemsAndErrors) {
    Alphabet a;
    std::string err;
    ASSERT_TRUE(parse_alphabet("minimal,-close,dup,clone3=PIDFD|AUTOREAP|FILES,clone3=PIDFD/SIGUSR1", a, err)) << err;
    EXPECT_FALSE(a.has("close"));
    EXPECT_TRUE(a.has("dup"));
    EXPECT_TRUE(a.has("fork"));
    ASSERT_EQ(a.clone3.size(), 5u);
    EXPECT_EQ(a.clone3[3].flags, CF_PIDFD | CF_AUTOREAP | CF_FILES);
    EXPECT_EQ(a.clone3[3].exit_signal, 0);
    EXPECT_EQ(a.clone3[4].exit_signal, kSIGUSR1);
    EXPECT_FALSE(parse_alphabet("default,nonsense", a, err));
    EXPECT_FALSE(parse_alphabet("clone3=NEWPID", a, err));
    EXPECT_FALSE(parse_alphabet("clone3=PIDFD/SIGNOPE", a, err));
    ASSERT_TRUE(parse_alphabet("default,-clone3", a, err));
    EXPECT_FALSE(a.has("clone3"));
}

TEST(Ops, OnlyWhereTheyMakeSense) {
    ExploreConfig c = config("7.1", 2, 4, "default");
    Kernel k(c.profile, kRoot);
    std::vector<Op> ops;
    enabled_ops(k, c.alphabet, c.bounds, ops);
    for (const auto& op : ops) {
        EXPECT_EQ(op.actor, T);                      // init does not act
        EXPECT_NE(c.alphabet.items()[op.item].token, "close");      // no fd yet
        EXPECT_NE(c.alphabet.items()[op.item].token, "setresuid");  // already root
    }
    k.sys_clone(T, fork_args());
    enabled_ops(k, c.alphabet, c.bounds, ops);
    for (const auto& op : ops) EXPECT_NE(c.alphabet.items()[op.item].token, "fork");  // the task budget is spent
}

TEST(Canon, RenamingOfTasksAndFdsIsASymmetry) {
    // T forks A and B; A exits and is reaped, or B does: the same state up to names.
    auto run = [](int which) {
        Kernel k(prof("7.1"), kRoot);
        TaskId a = k.sys_clone(T, fork_args()).task;
        TaskId b = k.sys_clone(T, fork_args()).task;
        k.sys_exit_group(which == 0 ? a : b, 0);
        k.settle();
        k.sys_wait4(T, kNoTask, W_NOHANG);
        k.settle();
        return k;
    };
    Kernel k1 = run(0), k2 = run(1);
    std::string s1, s2;
    CanonOptions sym;
    EXPECT_EQ(fingerprint_state(k1, {}, sym, s1), fingerprint_state(k2, {}, sym, s2));
    CanonOptions plain;
    plain.symmetry = false;
    EXPECT_NE(fingerprint_state(k1, {}, plain, s1), fingerprint_state(k2, {}, plain, s2));
    // fd numbers are names too: {3: A's pidfd} vs {4: A's pidfd} after closing 3
    Kernel k3(prof("7.1"), kRoot), k4(prof("7.1"), kRoot);
    TaskId a3 = k3.sys_clone(T, fork_args()).task;
    TaskId a4 = k4.sys_clone(T, fork_args()).task;
    k3.sys_pidfd_open(T, a3, 0);
    k4.sys_pidfd_open(T, a4, 0);
    k4.sys_pidfd_open(T, a4, 0);
    k4.sys_close(T, 3);
    EXPECT_EQ(fingerprint_state(k3, {}, sym, s1), fingerprint_state(k4, {}, sym, s2));
    // and different states differ
    k4.sys_prctl_set_no_new_privs(T, 1);
    EXPECT_NE(fingerprint_state(k3, {}, sym, s1), fingerprint_state(k4, {}, sym, s2));
}

TEST(Explore, SelfPinOnMergedKernelThroughCloneFiles) {
    auto r = explore(config("7.1", 3, 4));
    ASSERT_EQ(r.counterexamples.size(), 1u);
    const auto& c = r.counterexamples[0];
    EXPECT_EQ(c.invariant, "autokill_no_self_pin");
    ASSERT_EQ(c.ops.size(), 2u);  // clone3(...|CLONE_FILES), then the creator exits
    EXPECT_TRUE(c.scenario.steps[0].flags & CF_FILES);
    EXPECT_TRUE(c.verified.violated_at_last_step);
    EXPECT_FALSE(c.verified.error.has_value());
    EXPECT_EQ(c.verified.first_violation_step, 1);
    EXPECT_TRUE(r.stats.exhausted);
}

TEST(Explore, CloneParentLeakWithoutTheMergedCheckIsFoundShortest) {
    auto r = explore(config("7.1-no-parent-check", 3, 4));
    const auto* leak = find(r, "no_clone_parent_leak");
    ASSERT_NE(leak, nullptr);
    EXPECT_EQ(leak->ops.size(), 2u);  // T: clone3(AUTOREAP) = A; A: clone3(CLONE_PARENT)
    EXPECT_TRUE(leak->verified.violated_at_last_step);
    const auto* zombie = find(r, "no_invisible_zombie");
    ASSERT_NE(zombie, nullptr);
    EXPECT_EQ(zombie->ops.size(), 3u);
    EXPECT_TRUE(zombie->verified.violated_at_last_step);
    EXPECT_EQ(find(r, "parent_alive"), nullptr);
}

TEST(Explore, WrittenCounterexampleLoadsAndReplays) {
    auto r = explore(config("7.1-no-parent-check", 3, 3));
    const auto* leak = find(r, "no_clone_parent_leak");
    ASSERT_NE(leak, nullptr);
    auto dir = std::filesystem::temp_directory_path() / "pidlab-checker-test-out";
    std::filesystem::remove_all(dir);
    auto files = write_counterexample(*leak, dir.string());
    ASSERT_GE(files.size(), 3u);  // the scenario and a picture per state
    auto s = scenario::load_scenario_file(files[0]);
    EXPECT_EQ(s.violates, "no_clone_parent_leak");
    EXPECT_EQ(s.kernel, "7.1-no-parent-check");
    auto chk = check_counterexample(s, prof(s.kernel));
    EXPECT_TRUE(chk.violated_at_last_step);
    auto rr = model::replay(s, prof(s.kernel));
    EXPECT_TRUE(rr.passed());
    std::string dot;
    {
        std::ifstream f(files[1]);
        dot.assign(std::istreambuf_iterator<char>(f), {});
    }
    EXPECT_NE(dot.find("digraph"), std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST(Explore, SymmetryAndStoresAgreeOnVerdicts) {
    auto base = config("v3", 3, 4, "default");
    auto a = explore(base);
    auto nosym = base;
    nosym.symmetry = false;
    auto b = explore(nosym);
    auto exact = base;
    exact.search.store = StoreKind::Exact;
    auto e = explore(exact);
    auto bit = base;
    bit.search.store = StoreKind::Bitstate;
    bit.search.bitstate_log2 = 24;
    auto x = explore(bit);
    EXPECT_LE(a.stats.states, b.stats.states);
    EXPECT_EQ(a.stats.states, e.stats.states);
    EXPECT_LE(x.stats.states, a.stats.states);
    auto verdicts = [](const ExploreResult& r) {
        std::vector<std::pair<std::string, size_t>> v;
        for (const auto& c : r.counterexamples) v.push_back({c.invariant, c.ops.size()});
        return v;
    };
    EXPECT_EQ(verdicts(a), verdicts(b));
    EXPECT_EQ(verdicts(a), verdicts(e));
    EXPECT_FALSE(a.counterexamples.empty());
}

TEST(Explore, OneAndTwoWorkersAgree) {
    auto c1 = config("v5", 3, 4, "default");
    c1.search.threads = 1;
    auto c2 = c1;
    c2.search.threads = 2;
    auto r1 = explore(c1), r2 = explore(c2);
    EXPECT_EQ(r1.stats.states, r2.stats.states);
    EXPECT_EQ(r1.stats.transitions, r2.stats.transitions);
    ASSERT_EQ(r1.counterexamples.size(), r2.counterexamples.size());
    for (size_t i = 0; i < r1.counterexamples.size(); ++i)
        EXPECT_EQ(r1.counterexamples[i].ops.size(), r2.counterexamples[i].ops.size());
}

TEST(Explore, DfsAndRandomWalksShareTheChecks) {
    auto c = config("7.1-no-parent-check", 3, 4);
    c.mode = SearchMode::Dfs;
    auto d = explore(c);
    EXPECT_NE(find(d, "no_clone_parent_leak"), nullptr);
    EXPECT_NE(find(d, "autokill_no_self_pin"), nullptr);
    c.mode = SearchMode::Random;
    c.search.walks = 3000;
    auto w = explore(c);
    EXPECT_NE(find(w, "autokill_no_self_pin"), nullptr);
    for (const auto& cx : w.counterexamples) EXPECT_TRUE(cx.verified.violated_at_last_step) << cx.invariant;
}

TEST(Explore, InterleavedTransitionsAreStepsOfTheirOwn) {
    auto c = config("7.1", 2, 3);
    c.bounds.interleave = true;
    c.alphabet.interleave = true;
    // after exit_group, the kernel's remaining work (exit_notify, release_task) is an op of its own
    Kernel k(c.profile, kRoot);
    k.sys_exit_group(T, 0);
    std::vector<Op> ops;
    enabled_ops(k, c.alphabet, c.bounds, ops);
    ASSERT_FALSE(ops.empty());
    EXPECT_TRUE(ops[0].internal());
    auto r = explore(c);
    const auto* pin = find(r, "autokill_no_self_pin");
    ASSERT_NE(pin, nullptr);
    EXPECT_LE(pin->ops.size(), 3u);
    bool internal = false;
    for (const auto& op : pin->ops) internal |= op.internal();
    EXPECT_EQ(pin->interleaved, internal);
    // more states than with settle: the intermediate ones
    auto settled = explore(config("7.1", 2, 3));
    EXPECT_GT(r.stats.states, settled.stats.states);
}

TEST(Explore, DepthZeroChecksTheInitialState) {
    auto r = explore(config("7.1", 4, 0));
    EXPECT_EQ(r.stats.states, 1u);
    EXPECT_TRUE(r.counterexamples.empty());
}

}  // namespace
}  // namespace pidlab::checktest
