// `pidlab replay` of a counterexample (a scenario with `violates`): the named invariant
// is checked (checker::check_counterexample), through the CLI binary. Counterexamples
// written by `pidlab explore --out` replay and pass; an interleaved trace is refused
// with a clear error.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checker/explore.hpp"

#include "tests/cli_run.hpp"

using pidlab::test::CliRun;

namespace {

namespace fs = std::filesystem;

class ReplayViolates : public testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("pidlab_replay_violates_" + std::to_string(getpid()));
        fs::create_directories(dir_);
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }

    static std::string write(const std::string& name, const std::string& text) {
        return pidlab::test::write_file(dir_, name, text);
    }

    // Runs the pidlab binary with `args`, stdout and stderr captured, at most 120 s.
    static CliRun run(const std::vector<std::string>& args) {
        CliRun r = pidlab::test::run_cli(PIDLAB_CLI, args, dir_, std::chrono::seconds(120));
        if (r.timed_out) ADD_FAILURE() << "pidlab hung";
        return r;
    }

    static fs::path dir_;
};

fs::path ReplayViolates::dir_;

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// v5 lets CLONE_PARENT pass the autoreap parent's exit_signal 0 on (H1): step 1 violates
// no_clone_parent_leak.
// expect_ret: the JSON value step 1 expects as its "ret"
std::string leak(const std::string& violates, const std::string& expect_ret = "\"ok\"") {
    return R"({"name": "leak", "kernel": "v5", "violates": ")" + violates + R"(", "steps": [
  {"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_AUTOREAP"], "exit_signal": 0, "child": "A", "pidfd": "a"},
  {"task": "A", "op": "clone3", "flags": ["CLONE_PARENT"], "exit_signal": 0, "child": "G", "expect": {"ret": )" +
           expect_ret + R"(}}]})";
}

TEST_F(ReplayViolates, UnknownInvariantExits2NamingFileAndPath) {
    auto f = write("unknown.json", leak("no_clone_parent_leek"));
    auto r = run({"replay", f});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, f + ": violates: unknown invariant \"no_clone_parent_leek\"")) << r.err;
    EXPECT_TRUE(contains(r.err, "no_clone_parent_leak")) << "the known names are listed: " << r.err;
}

TEST_F(ReplayViolates, ViolationAtTheLastStepPasses) {
    auto f = write("leak.json", leak("no_clone_parent_leak"));
    auto r = run({"replay", f});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "violates no_clone_parent_leak at step 1 (as the file says)")) << r.out;
    EXPECT_TRUE(contains(r.out, "PASS leak")) << r.out;
    auto j = run({"replay", "--json", f});
    EXPECT_EQ(j.status, 0) << j.err;
    EXPECT_TRUE(contains(j.out, "\"at_last_step\": true")) << j.out;
}

TEST_F(ReplayViolates, ViolationMissingFails) {
    // the scenario holds parent_alive at every step: the file's claim is wrong
    auto f = write("wrong.json", leak("parent_alive"));
    auto r = run({"replay", f});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "VIOLATES MISMATCH: the file says it violates parent_alive, but no step violates it"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "FAIL leak")) << r.out;
    auto j = run({"replay", "--json", f});
    EXPECT_EQ(j.status, 1);
    EXPECT_TRUE(contains(j.out, "\"path\": \"violates\"")) << j.out;
    // the same on 7.1, where Oleg's check refuses the CLONE_PARENT: nothing leaks
    std::string s71 = leak("no_clone_parent_leak", "-1");
    s71.replace(s71.find("\"v5\""), 4, "\"7.1\"");
    auto r71 = run({"replay", write("leak71.json", s71)});
    EXPECT_EQ(r71.status, 1) << r71.out << r71.err;
    EXPECT_TRUE(contains(r71.out, "VIOLATES MISMATCH")) << r71.out;
}

TEST_F(ReplayViolates, ViolationPresentButAnExpectationFails) {
    auto f = write("expect.json", leak("no_clone_parent_leak", "-1"));
    auto r = run({"replay", f});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "violates no_clone_parent_leak at step 1 (as the file says)")) << r.out;
    EXPECT_TRUE(contains(r.out, "MISMATCH")) << r.out;
}

TEST_F(ReplayViolates, ExploreCounterexamplesReplay) {
    auto out = (dir_ / "explore").string();
    auto e = run({"explore", "--kernel", "v5", "--tasks", "3", "--depth", "3", "-q", "--keep-going", "--out", out});
    ASSERT_EQ(e.status, 1) << e.out << e.err;  // v5: the CLONE_PARENT leak is found
    ASSERT_TRUE(fs::exists(out + "/no_clone_parent_leak.json")) << e.out;
    auto r = run({"replay", out});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "violates no_clone_parent_leak at step ")) << r.out;
    EXPECT_TRUE(contains(r.out, "(as the file says)")) << r.out;
}

TEST_F(ReplayViolates, InterleavedTraceIsRefusedClearly) {
    // what `pidlab explore --interleave --out` writes for a counterexample that needs the
    // kernel's internal transitions
    pidlab::checker::Counterexample cx;
    cx.invariant = "no_invisible_zombie";
    cx.interleaved = true;
    cx.scenario.kernel = "v5";
    cx.detail = "C2 is a zombie that nothing reports";
    cx.step_text = {"T clone3 flags=CLONE_PIDFD|CLONE_AUTOREAP", "(kernel) do_exit C1"};
    auto files = pidlab::checker::write_counterexample(cx, (dir_ / "interleaved").string());
    ASSERT_FALSE(files.empty());
    ASSERT_TRUE(contains(files.front(), ".interleaved.json"));
    auto r = run({"replay", files.front()});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, files.front() + ": trace: an interleaved counterexample")) << r.err;
    EXPECT_TRUE(contains(r.err, "not a scenario to replay")) << r.err;
}

}  // namespace
