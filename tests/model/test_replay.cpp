// model/replay.cpp: Replayer/replay: a scenario's steps become the model's system calls, the kernel
// settles after each step, observations are compared with `expect`, names follow fd tables.
#include "format/scenario.hpp"
#include "model/replay.hpp"
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

using scenario::parse_scenario;

// replay: the reference example (scenario-format.md) passes in 7.1.
TEST(Replay, AutoreapBasicPasses) {
    auto s = parse_scenario(R"({
      "name": "autoreap_basic", "kernel": "7.1",
      "steps": [
        {"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_AUTOREAP"], "exit_signal": 0,
         "child": "C", "pidfd": "c", "expect": {"ret": "ok"}},
        {"task": "T", "op": "poll", "fd": "c", "expect": {"ret": 0, "revents": []}},
        {"task": "C", "op": "exit", "code": 42},
        {"task": "T", "op": "poll", "fd": "c", "expect": {"ret": 1, "revents": ["POLLIN", "POLLHUP"]}},
        {"task": "T", "op": "pidfd_get_info", "fd": "c", "expect": {"exit": {"exited": 42}}},
        {"task": "T", "op": "waitpid", "target": "C", "options": ["WNOHANG"], "expect": {"errno": "ECHILD"}},
        {"task": "T", "op": "signal_pending", "sig": "SIGCHLD", "expect": {"pending": false}}
      ],
      "final": {"C": {"state": "reaped"}, "T": {"state": "running", "parent": "init"}}
    })", "test");
    ReplayResult r = replay(s, profile("7.1"));
    EXPECT_FALSE(r.error.has_value());
    EXPECT_FALSE(r.foreign);
    EXPECT_EQ(r.mismatch_count(), 0u);
    EXPECT_TRUE(r.passed());
    ASSERT_EQ(r.steps.size(), 7u);
    EXPECT_EQ(*r.final.at("C").state, "reaped");
    EXPECT_EQ(r.profile, "7.1");
}

// Replayer::step: an expectation that does not hold is a mismatch; the step's rule is reported.
TEST(Replay, MismatchIsReported) {
    auto s = parse_scenario(R"({
      "name": "m", "kernel": "7.1",
      "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "C", "op": "exit", "code": 3},
        {"task": "T", "op": "waitpid", "target": "C", "expect": {"status": {"exited": 4}}}
      ]
    })", "test");
    ReplayResult r = replay(s, profile("7.1"));
    EXPECT_FALSE(r.passed());
    EXPECT_EQ(r.mismatch_count(), 1u);
    ASSERT_EQ(r.steps[2].mismatches.size(), 1u);
    EXPECT_EQ(r.steps[2].mismatches[0].key, "status");
    EXPECT_EQ(*r.steps[2].obs.pid, "C");
    EXPECT_EQ(r.steps[2].obs.status->value, 3);
    EXPECT_FALSE(r.steps[2].obs.rule.empty());
}

// replay on another revision: steps that cannot run are reported as observations, not errors.
TEST(Replay, ForeignProfileReportsDifferences) {
    auto s = parse_scenario(R"({
      "name": "f", "kernel": "7.1",
      "steps": [
        {"task": "T", "op": "clone3", "flags": ["CLONE_AUTOREAP"], "exit_signal": 0, "child": "C",
         "expect": {"ret": "ok"}},
        {"task": "C", "op": "exit", "code": 1}
      ]
    })", "test");
    ReplayResult own = replay(s, profile("7.1"));
    EXPECT_TRUE(own.passed());
    ReplayResult r = replay(s, profile("6.12"));
    EXPECT_TRUE(r.foreign);
    EXPECT_FALSE(r.error.has_value());
    EXPECT_EQ(*r.steps[0].obs.err, EINVAL_);
    EXPECT_TRUE(r.steps[1].obs.error.has_value());
    EXPECT_FALSE(r.passed());
}

// Replayer::step: a wait that would block, or init exiting, is an error of the scenario on its own kernel.
TEST(Replay, ScenarioErrors) {
    auto block = parse_scenario(R"({"name": "b", "kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "T", "op": "waitpid", "target": "C"}]})", "test");
    ReplayResult r = replay(block, profile("7.1"));
    ASSERT_TRUE(r.error.has_value());
    EXPECT_NE(r.error->path.find("steps[1]"), std::string::npos);
    auto init = parse_scenario(R"({"name": "i", "steps": [{"task": "init", "op": "exit", "code": 0}]})", "test");
    EXPECT_TRUE(replay(init, profile("7.1")).error.has_value());
    auto ns = parse_scenario(R"({"name": "n", "steps": [
        {"task": "T", "op": "clone3", "flags": ["CLONE_NEWPID"], "exit_signal": 17, "child": "C"}]})", "test");
    ReplayResult rn = replay(ns, profile("7.1"));
    ASSERT_TRUE(rn.error.has_value());
    EXPECT_NE(std::string(rn.error->what()).find("not modelled"), std::string::npos);
}

// Replayer: fd names follow fd tables (fork copies them, close in the child leaves the parent's, exec drops them).
TEST(Replay, FdNamesFollowTables) {
    auto s = parse_scenario(R"({"name": "fd", "kernel": "7.1", "steps": [
        {"task": "T", "op": "pidfd_open", "target": "init", "fd": "i"},
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "C", "op": "close", "fd": "i", "expect": {"ret": 0}},
        {"task": "T", "op": "poll", "fd": "i", "expect": {"ret": 0}},
        {"task": "T", "op": "execve", "setuid_root": false},
        {"task": "T", "op": "poll", "fd": "i"}
    ]})", "test");
    Replayer rp(s, profile("7.1"));
    for (size_t i = 0; i < 5; ++i) {
        StepOutcome o = rp.step(i);
        EXPECT_TRUE(o.mismatches.empty()) << i;
    }
    EXPECT_THROW(rp.step(5), scenario::FormatError);  // "i" was closed on exec
}

// Replayer::observe and the `observe` op: state, parent (a leader's name), exit_signal, nnp, subreaper.
TEST(Replay, ObserveReportsTask) {
    auto s = parse_scenario(R"({"name": "o", "kernel": "7.1", "steps": [
        {"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": 1},
        {"task": "T", "op": "clone3", "flags": ["CLONE_NNP"], "exit_signal": "SIGUSR1", "child": "C"},
        {"task": "T", "op": "observe", "target": "C",
         "expect": {"state": "running", "parent": "T", "exit_signal": "SIGUSR1", "no_new_privs": true}},
        {"task": "C", "op": "exit", "code": 0},
        {"task": "T", "op": "observe", "target": "C", "expect": {"state": "zombie"}}
      ],
      "final": {"T": {"subreaper": true, "euid": 0}}})", "test");
    ReplayResult r = replay(s, profile("7.1"));
    EXPECT_TRUE(r.passed()) << r.mismatch_count();
    Replayer rp(s, profile("7.1"));
    rp.step(0);
    rp.step(1);
    EXPECT_EQ(rp.task_id("C"), 2);
    EXPECT_EQ(rp.task_name(2), "C");
    EXPECT_EQ(rp.task_id("nope"), kNoTask);
    EXPECT_NE(rp.tree().find("exit_signal=SIGUSR1"), std::string::npos);
    EXPECT_NE(rp.graphviz().find("digraph"), std::string::npos);
}

// replay: max_steps replays a prefix (the checker's use); waitpid decodes a signal status.
TEST(Replay, PrefixAndSignaledStatus) {
    auto s = parse_scenario(R"({"name": "p", "kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "C"},
        {"task": "T", "op": "kill", "target": "C", "sig": "SIGKILL"},
        {"task": "T", "op": "waitpid", "target": "C", "expect": {"pid": "C", "status": {"signaled": "SIGKILL"}}}
    ]})", "test");
    ReplayOptions o;
    o.max_steps = 2;
    EXPECT_EQ(replay(s, profile("7.1"), o).steps.size(), 2u);
    ReplayResult full = replay(s, profile("7.1"));
    EXPECT_TRUE(full.passed());
    EXPECT_TRUE(full.steps[2].obs.status->signaled);
}

// replay: the replay of a scenario is deterministic (identical observations twice).
TEST(Replay, Deterministic) {
    auto s = parse_scenario(R"({"name": "d", "kernel": "7.1", "steps": [
        {"task": "T", "op": "fork", "child": "P"},
        {"task": "P", "op": "thread_create", "child": "P2"},
        {"task": "P", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_AUTOREAP", "CLONE_PIDFD_AUTOKILL", "CLONE_NNP"],
         "exit_signal": 0, "child": "C", "pidfd": "c"},
        {"task": "P2", "op": "exit_group", "code": 3},
        {"task": "T", "op": "waitpid", "target": -1, "options": ["WNOHANG"]}
    ]})", "test");
    ReplayResult a = replay(s, profile("7.1"));
    ReplayResult b = replay(s, profile("7.1"));
    ASSERT_EQ(a.steps.size(), b.steps.size());
    for (size_t i = 0; i < a.steps.size(); ++i) EXPECT_TRUE(a.steps[i].obs == b.steps[i].obs) << i;
    EXPECT_EQ(*a.final.at("C").state, "reaped");
    EXPECT_EQ(*a.steps[4].obs.pid, "P");
}

}  // namespace
}  // namespace pidlab::test
