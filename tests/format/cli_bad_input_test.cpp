// Bad input through the CLI binary: `pidlab replay` exits 2 (never by a signal,
// never hanging) and its stderr names the file and the JSON path.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli_run.hpp"

using pidlab::test::CliRun;

namespace fs = std::filesystem;

namespace {

class Cli : public testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("pidlab_cli_tests_" + std::to_string(getpid()));
        fs::create_directories(dir_);
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }

    static std::string write(const std::string& name, const std::string& text) {
        return pidlab::test::write_file(dir_, name, text);
    }

    // Runs the pidlab binary with `args`, stdout and stderr captured, at most 60 s.
    static CliRun run(const std::vector<std::string>& args) {
        return pidlab::test::run_cli(PIDLAB_CLI, args, dir_, std::chrono::seconds(60));
    }

    // Exit status 2 and one error line on stderr containing every needle.
    static void expect_exit2(const CliRun& r, const std::vector<std::string>& needles) {
        EXPECT_FALSE(r.timed_out) << "hung";
        EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "\nstderr: " << r.err;
        EXPECT_EQ(r.status, 2) << "stdout: " << r.out << "\nstderr: " << r.err;
        for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "stderr lacks \"" << n << "\":\n" << r.err;
    }

    static fs::path dir_;
};

fs::path Cli::dir_;

const char* kGood = R"({"kernel": "7.1", "steps": [
    {"task": "T", "op": "fork", "child": "C", "expect": {"ret": "ok"}},
    {"task": "C", "op": "exit", "code": 1},
    {"task": "T", "op": "waitpid", "target": "C", "expect": {"pid": "C", "status": {"exited": 1}}}]})";

std::string one_step(const std::string& step) { return R"({"kernel": "7.1", "steps": [)" + step + "]}"; }

}  // namespace

TEST_F(Cli, GoodScenarioPasses) {
    auto f = write("good/good.json", kGood);
    auto r = run({"replay", f});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    r = run({"replay", "--json", f});
    EXPECT_EQ(r.status, 0) << r.err;
    r = run({"replay", "-q", "--tree", "--kernel", "pre-7.1", f});
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Cli, MalformedJson) {
    auto f = write("malformed/truncated.json", R"({"steps": [)");
    expect_exit2(run({"replay", f}), {f, "(file)", "malformed JSON at line 1, column 12"});
    f = write("malformed/trailing.json", R"({"steps": []} garbage)");
    expect_exit2(run({"replay", f}), {f, "malformed JSON"});
    f = write("malformed/escape.json", R"({"name": "\x", "steps": []})");
    expect_exit2(run({"replay", f}), {f, "malformed JSON"});
    f = write("malformed/nan.json", R"({"steps": [], "root": {"uid": NaN}})");
    expect_exit2(run({"replay", f}), {f, "malformed JSON"});
    f = write("malformed/empty.json", "");
    expect_exit2(run({"replay", f}), {f, "malformed JSON"});
    f = write("malformed/binary.json", std::string("\x7f" "ELF\0\0\1\2", 8));
    expect_exit2(run({"replay", f}), {f, "malformed JSON"});
}

TEST_F(Cli, WrongTopLevelType) {
    auto f = write("top/array.json", "[1, 2]");
    expect_exit2(run({"replay", f}), {f, "a scenario is a JSON object, found an array"});
}

TEST_F(Cli, UnknownNames) {
    auto f = write("names/op.json", one_step(R"({"task": "T", "op": "spawn"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].op: unknown op \"spawn\""});
    f = write("names/flag.json", one_step(R"({"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_NOPE"], "child": "C", "pidfd": "c"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].flags[1]: unknown clone flag \"CLONE_NOPE\""});
    f = write("names/signal.json", one_step(R"({"task": "T", "op": "kill", "target": "init", "sig": "SIGFOO"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].sig: unknown signal \"SIGFOO\""});
    f = write("names/errno.json", one_step(R"({"task": "T", "op": "fork", "child": "C", "expect": {"errno": "ENOPE"}})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].expect.errno: unknown errno name \"ENOPE\""});
    f = write("names/key.json", one_step(R"({"task": "T", "op": "fork", "child": "C", "sig": 9})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].sig: unknown key \"sig\""});
    f = write("names/type.json", one_step(R"({"task": "T", "op": "exit", "code": "0"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].code: expected an integer, found a string"});
    f = write("names/task.json", one_step(R"({"task": "Q", "op": "exit", "code": 0})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].task: undefined task \"Q\""});
    f = write("names/fd.json", one_step(R"({"task": "T", "op": "close", "fd": "q"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[0].fd: undefined fd \"q\""});
    f = write("names/dup.json", one_step(R"({"task": "T", "op": "fork", "child": "C"}, {"task": "T", "op": "fork", "child": "C"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[1].child: duplicate task name \"C\""});
    f = write("names/final.json", R"({"steps": [], "final": {"Nobody": {"state": "reaped"}}})");
    expect_exit2(run({"replay", f}), {f + ": final.Nobody: undefined task \"Nobody\""});
}

TEST_F(Cli, ReplayTimeErrors) {
    auto f = write("replay/dead.json", one_step(R"({"task": "T", "op": "fork", "child": "C"}, {"task": "C", "op": "exit", "code": 0},
                                                 {"task": "C", "op": "kill", "target": "T", "sig": 0})"));
    expect_exit2(run({"replay", f}), {f + ": steps[2].task: task C is not alive"});
    f = write("replay/failed.json", one_step(R"({"task": "T", "op": "clone3", "flags": ["CLONE_THREAD"], "child": "C"},
                                                 {"task": "C", "op": "exit", "code": 0})"));
    expect_exit2(run({"replay", f}), {f + ": steps[1].task: task C was never created"});
    f = write("replay/block.json", one_step(R"({"task": "T", "op": "fork", "child": "C"}, {"task": "T", "op": "waitpid", "target": "C"})"));
    expect_exit2(run({"replay", f}), {f + ": steps[1].options: the wait would block"});
    expect_exit2(run({"replay", "--json", f}), {f + ": steps[1].options"});
    // On a foreign kernel the step reports the problem and the run goes on.
    auto r = run({"replay", "--kernel", "pre-7.1", f});
    EXPECT_EQ(r.signal, 0);
    EXPECT_NE(r.status, 2) << r.err;
}

TEST_F(Cli, UnknownScenarioKernel) {
    auto f = write("kernel/bogus.json", R"({"kernel": "bogus", "steps": []})");
    expect_exit2(run({"replay", f}), {f, "kernel", "bogus"});
}

TEST_F(Cli, Limits) {
    std::string s;
    for (int i = 0; i < 63; ++i) s += (i ? "," : "") + std::string(R"({"task": "T", "op": "fork", "child": "C)") + std::to_string(i) + "\"}";
    auto f = write("limits/tasks.json", one_step(s));
    expect_exit2(run({"replay", f}), {f + ": steps[62].child: more than 64 tasks"});
    s.clear();
    for (int i = 0; i < 4097; ++i) s += (i ? "," : "") + std::string(R"({"task": "T", "op": "signal_pending", "sig": 17})");
    f = write("limits/steps.json", one_step(s));
    expect_exit2(run({"replay", f}), {f + ": steps: more than 4096 steps"});
    f = write("limits/deep.json", std::string(100000, '['));
    expect_exit2(run({"replay", f}), {f + ": (file): JSON nested deeper than 32 levels"});
    f = write("limits/huge.json", R"({"steps": [], "description": ")" + std::string(5 << 20, 'x') + "\"}");
    expect_exit2(run({"replay", f}), {f + ": (file): file too large"});
}

TEST_F(Cli, PathsAndUsage) {
    fs::create_directories(dir_ / "nothing_here");
    write("nothing_here/readme.txt", "no scenarios");
    expect_exit2(run({"replay", (dir_ / "nothing_here").string()}), {"no scenario files"});
    auto missing = (dir_ / "missing.json").string();
    expect_exit2(run({"replay", missing}), {missing, "no such file or directory"});
    auto good = write("usage/good.json", kGood);
    expect_exit2(run({"replay", "--kernel", "9000-bogus", good}), {"unknown kernel profile \"9000-bogus\""});
    expect_exit2(run({}), {});
    expect_exit2(run({"replay"}), {});
    expect_exit2(run({"replay", "--bogus", good}), {"--bogus"});
    expect_exit2(run({"replay", "--kernel"}), {});
    expect_exit2(run({"no-such-command"}), {});
}

TEST_F(Cli, OneBadFileAmongGoodOnes) {
    auto good = write("mixed/a_good.json", kGood);
    auto bad = write("mixed/b_bad.json", one_step(R"({"task": "T", "op": "fork", "child": "C", "expect": {"ret": "yes"}})"));
    auto good2 = write("mixed/c_good.json", kGood);
    auto r = run({"replay", "-q", (dir_ / "mixed").string()});
    expect_exit2(r, {bad + ": steps[0].expect.ret: expected \"ok\" or a number"});
    EXPECT_EQ(r.err.find(good), std::string::npos) << "good files are not errors";
    EXPECT_NE(r.out.find("2 passed, 1 failed"), std::string::npos) << r.out;
}

TEST_F(Cli, OneErrorLinePerBadFile) {
    // A file with several problems gets one error (the first), on one line.
    auto f = write("one/many.json", R"({"bogus": 1, "steps": [{"task": "Q", "op": "nope"}]})");
    auto r = run({"replay", f});
    expect_exit2(r, {f + ": bogus: unknown key \"bogus\""});
    size_t lines = 0;
    for (char c : r.err) lines += c == '\n';
    EXPECT_LE(lines, 2u) << r.err;  // the error and, at most, the summary
}
