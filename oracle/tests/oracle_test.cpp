// The oracle on the running kernel: known behaviour observed through real
// system calls, timeouts, and cleanup (nothing left running, even after
// kill -9 of the executor). Needs root (a pid namespace per scenario).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "format/scenario.hpp"
#include "oracle/client.hpp"
#include "oracle/settle.hpp"

namespace {

namespace fs = std::filesystem;
using pidlab::oracle::HostOptions;
using pidlab::scenario::RunResult;

std::string scenario_path(const std::string& name) {
    return std::string(PIDLAB_ORACLE_TEST_DIR) + "/scenarios/" + name + ".json";
}

// A private directory holding a copy of the oracle and its exec helpers, so
// that the processes of this test can be told from anyone else's (tests may
// run in parallel).
class OracleTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "the oracle needs root (a pid namespace per scenario)";
        char buf[] = "/tmp/oracle-test.XXXXXX";
        ASSERT_NE(mkdtemp(buf), nullptr);
        tmpdir_ = buf;
        chmod(buf, 0711);  // tasks that dropped to uid 1000 reach the helpers and the socket through it
        bin_ = tmpdir_ + "/pidlab-oracle";
        fs::copy_file(PIDLAB_ORACLE_BIN, bin_);
    }
    void TearDown() override {
        if (!tmpdir_.empty()) fs::remove_all(tmpdir_);
    }

    HostOptions options(std::vector<std::string> extra = {}) const {
        HostOptions o;
        o.oracle_path = bin_;
        o.extra_args = {"--tmpdir", tmpdir_};
        o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
        return o;
    }

    // Processes running this test's copy of the oracle or of its helpers.
    int count_ours() const {
        int n = 0;
        DIR* d = opendir("/proc");
        while (auto* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            std::error_code ec;
            auto exe = fs::read_symlink(std::string("/proc/") + e->d_name + "/exe", ec).string();
            if (ec) continue;
            if (!tmpdir_.empty() && exe.rfind(tmpdir_ + "/", 0) == 0) ++n;
        }
        closedir(d);
        return n;
    }

    // Starts this test's oracle on many_tasks (`copies` times), stalling at step 6 for 20 s
    // (the executor, init, T, A, B (exec'd helper), V (CLONE_VM) and C: 7 processes);
    // stdout (and, with quiet, stderr) to /dev/null. `extra`: more options.
    pid_t start_stalled_executor(std::vector<std::string> extra, bool quiet, int copies = 1) const {
        std::vector<std::string> args = {bin_, "run", "--tmpdir", tmpdir_, "--debug-stall", "6:20000",
                                         "--step-timeout-ms", "30000"};
        args.insert(args.end(), extra.begin(), extra.end());
        for (int i = 0; i < copies; ++i) args.push_back(scenario_path("many_tasks"));
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            if (quiet) dup2(null, 2);
            execv(bin_.c_str(), argv.data());
            _exit(127);
        }
        return pid;
    }

    // Starts a stalled executor (`extra`, `copies`), waits for its `processes`, stops it
    // with SIGTERM, and checks that it died of it leaving no process and no file behind.
    void expect_clean_stop(std::vector<std::string> extra, int copies, int processes) const {
        pid_t pid = start_stalled_executor(std::move(extra), /*quiet=*/true, copies);
        ASSERT_GT(pid, 0);
        EXPECT_GE(wait_count(processes, std::chrono::milliseconds(8000), /*at_least=*/true), processes);
        ASSERT_EQ(kill(pid, SIGTERM), 0);
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        EXPECT_EQ(wait_count(0, std::chrono::milliseconds(3000)), 0);
        for (const auto& e : fs::directory_iterator(tmpdir_))
            EXPECT_EQ(e.path().filename(), "pidlab-oracle") << "left behind: " << e.path();
    }

    // The helper directories (pidlab-oracle.*) in this test's tmpdir.
    std::vector<fs::path> helper_dirs() const {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(tmpdir_))
            if (e.path().filename().string().rfind("pidlab-oracle.", 0) == 0) out.push_back(e.path());
        return out;
    }

    // Waits until count_ours() == want (or the time is up); returns the last count.
    int wait_count(int want, std::chrono::milliseconds limit, bool at_least = false) const {
        auto until = std::chrono::steady_clock::now() + limit;
        int n;
        while (((n = count_ours()) != want && !(at_least && n >= want)) && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return n;
    }

    std::string tmpdir_, bin_;
};

bool kernel_at_least(int major, int minor) {
    int ma = 0, mi = 0;
    std::sscanf(pidlab::oracle::host_kernel_release().c_str(), "%d.%d", &ma, &mi);
    return ma > major || (ma == major && mi >= minor);
}

// ---- every scenario of tests/scenarios meets its own expectations ---------------

class ScenarioExpectations : public OracleTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ScenarioExpectations, HoldOnThisKernel) {
    auto file = scenario_path(GetParam());
    auto s = pidlab::scenario::load_scenario_file(file);
    if (s.kernel == "pre-7.1" && kernel_at_least(7, 1)) GTEST_SKIP() << "written for kernels without the 7.1 flags";
    auto results = pidlab::oracle::run_on_host({file}, options());
    ASSERT_EQ(results.size(), 1u);
    const RunResult& r = results[0];
    ASSERT_FALSE(r.aborted) << *r.aborted;
    EXPECT_EQ(r.kernel, pidlab::oracle::host_kernel_release());
    ASSERT_EQ(r.steps.size(), s.steps.size());
    for (size_t i = 0; i < s.steps.size(); ++i) {
        if (!s.steps[i].expect) continue;
        for (const auto& m : pidlab::scenario::compare(*s.steps[i].expect, r.steps[i]))
            ADD_FAILURE() << "step " << i << " (" << pidlab::scenario::describe_step(s.steps[i]) << "): " << m.key
                          << " expected " << m.expected << ", observed " << m.observed;
    }
    for (const auto& name : s.tasks) EXPECT_TRUE(r.final.count(name)) << "no final observation of " << name;
    for (const auto& [name, expect] : s.final)
        for (const auto& m : pidlab::scenario::compare(expect, r.final.at(name)))
            ADD_FAILURE() << "final " << name << ": " << m.key << " expected " << m.expected << ", observed "
                          << m.observed;
    EXPECT_EQ(count_ours(), 0);
}

INSTANTIATE_TEST_SUITE_P(Oracle, ScenarioExpectations,
                         ::testing::Values("zombie_parent", "exit_signal", "reparent_init", "reparent_subreaper",
                                           "pdeath_pending", "pidfd_info_after_reap", "would_block", "pre71_new_flags",
                                           "setuid_exec", "exec_fds", "threads_exit", "many_tasks"));

// ---- a few facts spelled out, independent of the files' expectations --------------

TEST_F(OracleTest, ObservesZombieAndExitSignals) {
    auto r = pidlab::oracle::run_on_host({scenario_path("zombie_parent"), scenario_path("exit_signal")}, options());
    ASSERT_EQ(r.size(), 2u);
    ASSERT_FALSE(r[0].aborted);
    EXPECT_EQ(r[0].steps[2].state, "zombie");
    EXPECT_EQ(r[0].steps[2].parent, "T");
    ASSERT_FALSE(r[1].aborted);
    EXPECT_EQ(r[1].steps[1].exit_signal, 10);  // clone with SIGUSR1
    EXPECT_EQ(r[1].steps[3].exit_signal, 0);   // clone3 with 0
    EXPECT_FALSE(r[1].final.at("init").parent) << "init's parent is outside the namespace";
}

TEST_F(OracleTest, NewCloneFlagsAreRejectedBeforeLinux71) {
    if (kernel_at_least(7, 1)) GTEST_SKIP() << "this kernel has CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL";
    auto r = pidlab::oracle::run_on_host({scenario_path("pre71_new_flags")}, options());
    ASSERT_EQ(r.size(), 1u);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(r[0].steps[i].ret, (pidlab::scenario::Ret{false, -1})) << "step " << i;
        EXPECT_EQ(r[0].steps[i].err, EINVAL) << "step " << i;
    }
}

TEST_F(OracleTest, PidfdInfoHasTheExitOnlyAfterTheReap) {
    if (!kernel_at_least(6, 15)) GTEST_SKIP() << "PIDFD_INFO_EXIT arrived in 6.15";
    auto r = pidlab::oracle::run_on_host({scenario_path("pidfd_info_after_reap")}, options());
    ASSERT_EQ(r.size(), 1u);
    ASSERT_TRUE(r[0].steps[5].exit);
    EXPECT_FALSE(*r[0].steps[5].exit) << "a zombie has no exit info";
    ASSERT_TRUE(r[0].steps[8].exit);
    ASSERT_TRUE(*r[0].steps[8].exit);
    EXPECT_EQ(**r[0].steps[8].exit, (pidlab::scenario::WaitStatus{false, 42}));
    EXPECT_EQ(r[0].steps[7].revents, 0x11u) << "POLLIN|POLLHUP once reaped";
}

// ---- limits and timeouts ------------------------------------------------------------

TEST_F(OracleTest, StepTimeoutAbortsAndTheNextScenarioRuns) {
    auto r = pidlab::oracle::run_on_host({scenario_path("many_tasks"), scenario_path("zombie_parent")},
                                         options({"--debug-stall", "6:3000", "--step-timeout-ms", "200"}));
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(r[0].aborted);
    EXPECT_NE(r[0].aborted->find("step 6"), std::string::npos) << *r[0].aborted;
    EXPECT_NE(r[0].aborted->find("the step timeout (200 ms)"), std::string::npos) << *r[0].aborted;
    EXPECT_EQ(r[0].steps.size(), 6u) << "the steps before the stall are reported";
    EXPECT_FALSE(r[1].aborted);
    EXPECT_EQ(r[1].steps.size(), 5u);
    EXPECT_EQ(wait_count(0, std::chrono::milliseconds(500)), 0);
}

TEST_F(OracleTest, ScenarioTimeoutAborts) {
    auto r = pidlab::oracle::run_on_host(
        {scenario_path("many_tasks")},
        options({"--debug-stall", "6:3000", "--step-timeout-ms", "5000", "--scenario-timeout-ms", "300"}));
    ASSERT_EQ(r.size(), 1u);
    ASSERT_TRUE(r[0].aborted);
    EXPECT_NE(r[0].aborted->find("the scenario timeout (300 ms)"), std::string::npos) << *r[0].aborted;
    EXPECT_EQ(wait_count(0, std::chrono::milliseconds(500)), 0);
}

TEST_F(OracleTest, TooManyTasksIsRefused) {
    HostOptions o = options();
    o.max_tasks = 3;
    auto r = pidlab::oracle::run_on_host({scenario_path("reparent_init")}, o);
    ASSERT_TRUE(r[0].aborted);
    EXPECT_NE(r[0].aborted->find("the limit is 3"), std::string::npos) << *r[0].aborted;
    EXPECT_TRUE(r[0].steps.empty());
}

TEST_F(OracleTest, FormatErrorIsRecordedAndTheRunGoesOn) {
    auto bad = tmpdir_ + "/bad.json";
    std::ofstream(bad) << R"({"steps": [{"task": "T", "op": "fork"}]})";
    auto r = pidlab::oracle::run_on_host({bad, scenario_path("zombie_parent")}, options());
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(r[0].aborted);
    EXPECT_NE(r[0].aborted->find("steps[0]"), std::string::npos) << *r[0].aborted;
    EXPECT_FALSE(r[1].aborted);
}

// ---- cleanup ----------------------------------------------------------------------

TEST_F(OracleTest, NothingLeftAfterARun) {
    auto r = pidlab::oracle::run_on_host({scenario_path("many_tasks"), scenario_path("threads_exit")}, options());
    ASSERT_EQ(r.size(), 2u);
    EXPECT_FALSE(r[0].aborted);
    EXPECT_EQ(r[0].final.at("V").state, "running") << "tasks were alive at the end of the scenario";
    EXPECT_EQ(count_ours(), 0);
}

TEST_F(OracleTest, NothingLeftAfterKillingTheExecutor) {
    pid_t pid = start_stalled_executor({"--scenario-timeout-ms", "30000"}, /*quiet=*/false);
    ASSERT_GT(pid, 0);
    // The executor, init, T, A, B (exec'd helper), V (CLONE_VM) and C: 7 processes.
    int seen = wait_count(7, std::chrono::milliseconds(5000), /*at_least=*/true);
    EXPECT_GE(seen, 7) << "the scenario did not get to its stall";
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(wait_count(0, std::chrono::milliseconds(3000)), 0) << "puppets survived the executor";

    // SIGKILL could not remove the helper directory (with its setuid copy): the next executor does.
    EXPECT_EQ(helper_dirs().size(), 1u) << "the killed executor's helper directory";
    auto r = pidlab::oracle::run_on_host({scenario_path("zombie_parent")}, options());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].aborted);
    EXPECT_EQ(helper_dirs().size(), 0u) << "a stale helper directory survived the next run";
}

TEST_F(OracleTest, ALiveExecutorsHelperDirectoryIsKept) {
    pid_t pid = start_stalled_executor({"--scenario-timeout-ms", "30000"}, /*quiet=*/true);
    ASSERT_GT(pid, 0);
    EXPECT_GE(wait_count(7, std::chrono::milliseconds(5000), /*at_least=*/true), 7);
    // Another executor in the same directory runs while the first one stalls.
    auto r = pidlab::oracle::run_on_host({scenario_path("zombie_parent")}, options());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].aborted);
    auto left = helper_dirs();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_TRUE(fs::exists(left[0] / "helper-suid")) << "the live executor lost its helpers";
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_EQ(wait_count(0, std::chrono::milliseconds(3000)), 0);
}

TEST_F(OracleTest, StopSignalCleansUpProcessesAndHelpers) {
    expect_clean_stop({}, 1, 7);  // the executor and the scenario's 6 tasks
}

// ---- parallel jobs ------------------------------------------------------------------

TEST_F(OracleTest, JobsGiveTheSameResultsInTheFilesOrder) {
    std::vector<std::string> files;
    for (const char* n : {"zombie_parent", "exit_signal", "reparent_init", "reparent_subreaper", "pdeath_pending",
                          "would_block", "exec_fds", "threads_exit", "many_tasks", "setuid_exec"})
        files.push_back(scenario_path(n));
    auto one = pidlab::oracle::run_on_host(files, options());
    auto three = pidlab::oracle::run_on_host(files, options({"--jobs", "3"}));
    ASSERT_EQ(one.size(), files.size());
    ASSERT_EQ(three.size(), files.size());
    for (size_t i = 0; i < files.size(); ++i) {
        EXPECT_EQ(three[i].file, files[i]);
        EXPECT_EQ(pidlab::scenario::to_json(three[i]).dump(), pidlab::scenario::to_json(one[i]).dump()) << files[i];
    }
    EXPECT_EQ(count_ours(), 0);
    EXPECT_TRUE(helper_dirs().empty());
}

TEST_F(OracleTest, JobsDieWithTheirParent) {
    pid_t pid = start_stalled_executor({"--scenario-timeout-ms", "30000", "--jobs", "2"}, /*quiet=*/false, 2);
    ASSERT_GT(pid, 0);
    // The parent, and two jobs with their 6 scenario tasks each.
    EXPECT_GE(wait_count(15, std::chrono::milliseconds(8000), /*at_least=*/true), 15);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_EQ(wait_count(0, std::chrono::milliseconds(3000)), 0) << "jobs or puppets survived the parent";
    EXPECT_EQ(helper_dirs().size(), 2u) << "the killed jobs' helper directories";
    auto r = pidlab::oracle::run_on_host({scenario_path("zombie_parent")}, options());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].aborted);
    EXPECT_TRUE(helper_dirs().empty()) << "a stale helper directory survived the next run";
}

TEST_F(OracleTest, StopSignalReachesTheJobs) {
    expect_clean_stop({"--jobs", "2"}, 2, 15);  // the parent, and two jobs with their 6 tasks each
}

// ---- what settling reads from stat -----------------------------------------------------

namespace procfs = pidlab::oracle::procfs;

// A stat line with the given state, flags (field 9) and own pending set (field 31);
// comm holds ") (" to check that the fields are counted from the last ')'.
std::string stat_line(char state, unsigned long flags, unsigned long long sigpnd) {
    std::string s = "42 (a) (b) " + std::string(1, state) + " 7";  // fields 1-4: pid, comm, state, ppid
    for (int field = 5; field <= 52; ++field) {
        unsigned long long v = field == 9 ? flags : field == 31 ? sigpnd : field == 38 ? 17 : field;
        s += " " + std::to_string(v);
    }
    return s + "\n";
}

TEST(StatParsing, ReadsTheFieldsSettlingUses) {
    auto line = stat_line('S', 0x400100, 1ULL << 8);
    auto st = procfs::parse_stat(line.data(), line.size());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->ppid, 7);
    EXPECT_EQ(st->flags, 0x400100u);
    EXPECT_EQ(st->sigpnd, 1ULL << 8);
    EXPECT_EQ(st->exit_signal, 17);
    auto cut = line.substr(0, line.find(" 37 "));  // ends before exit_signal (field 38)
    EXPECT_FALSE(procfs::parse_stat(cut.data(), cut.size()));
}

TEST(StatParsing, DyingAndExiting) {
    auto st = [](char state, unsigned long flags, unsigned long long sigpnd) {
        auto line = stat_line(state, flags, sigpnd);
        return *procfs::parse_stat(line.data(), line.size());
    };
    const unsigned long long sigkill = 1ULL << (SIGKILL - 1), sigusr1 = 1ULL << (SIGUSR1 - 1);
    EXPECT_FALSE(procfs::dying(st('S', 0x400000, sigusr1)));  // alive, another signal pending
    EXPECT_TRUE(procfs::dying(st('S', 0, sigkill)));           // SIGKILL in its own set
    EXPECT_FALSE(procfs::exiting(st('S', 0, sigkill)));
    EXPECT_TRUE(procfs::exiting(st('R', 0x400, 0)));           // PF_SIGNALED: dequeued a fatal signal
    EXPECT_TRUE(procfs::exiting(st('R', 0x4, 0)));             // PF_EXITING
    EXPECT_TRUE(procfs::exiting(st('Z', 0, 0)));
    EXPECT_TRUE(procfs::exiting(st('X', 0, 0)));
    EXPECT_TRUE(procfs::dying(st('X', 0, 0)));
}

// The own pending set really is field 31 on this kernel: a blocked SIGUSR1 sent to one thread.
TEST(StatParsing, OwnPendingSetOnThisKernel) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t child = fork();
    if (child == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, nullptr);
        char c = 1;
        if (write(ready[1], &c, 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    ASSERT_GT(child, 0);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    ASSERT_EQ(syscall(SYS_tgkill, child, child, SIGUSR1), 0);
    std::ifstream in("/proc/" + std::to_string(child) + "/task/" + std::to_string(child) + "/stat");
    std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto st = procfs::parse_stat(line.data(), line.size());
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    ASSERT_TRUE(st) << line;
    EXPECT_EQ(st->sigpnd, 1ULL << (SIGUSR1 - 1)) << line;
    EXPECT_FALSE(procfs::dying(*st));
}

// ---- the client ---------------------------------------------------------------------

TEST(OracleClient, ParsesLinesInFileOrder) {
    std::istringstream in(
        "\r\n"
        R"({"scenario":"b","file":"/x/b.json","kernel":"k","steps":[{"ret":0}],"final":{}})"
        "\r\n"
        R"({"scenario":"a","file":"/pidlab/scenarios/a.json","kernel":"k","steps":[],"final":{},"aborted":"why"})"
        "\n"
        R"({"done":true,"kernel":"k","scenarios":2})"
        "\n");
    auto out = pidlab::oracle::parse_oracle_output(in, {"/host/a.json", "/x/b.json"});
    EXPECT_EQ(out.kernel, "k");
    ASSERT_EQ(out.results.size(), 2u);
    EXPECT_EQ(out.results[0].scenario, "a");
    EXPECT_EQ(out.results[0].aborted, "why");
    EXPECT_EQ(out.results[1].scenario, "b");
}

TEST(OracleClient, MatchesTheVmsNumberedCopies) {
    // oracle/vm/run-vm.sh copies the files as NNNN-NAME.json, numbered from 1 in
    // the order given; two files may share a name.
    std::istringstream in(
        R"({"scenario":"x2","file":"/pidlab/scenarios/0002-x.json","kernel":"k","steps":[],"final":{}})"
        "\n"
        R"({"scenario":"x1","file":"/pidlab/scenarios/0001-x.json","kernel":"k","steps":[],"final":{}})"
        "\n"
        R"({"done":true,"kernel":"k","scenarios":2})");
    auto out = pidlab::oracle::parse_oracle_output(in, {"lifecycle/x.json", "selftests/x.json"});
    ASSERT_EQ(out.results.size(), 2u);
    EXPECT_EQ(out.results[0].scenario, "x1");
    EXPECT_EQ(out.results[1].scenario, "x2");
}

TEST(OracleClient, RejectsGarbageTruncationAndErrors) {
    auto parse = [](const std::string& text, bool noise = false) {
        std::istringstream in(text);
        pidlab::oracle::ParseOptions o;
        o.skip_noise = noise;
        return pidlab::oracle::parse_oracle_output(in, {}, o);
    };
    const std::string done = R"({"done":true,"kernel":"k","scenarios":0})";
    EXPECT_THROW(parse("hello\n" + done), std::runtime_error);
    EXPECT_NO_THROW(parse("[    0.1] kernel noise\n" + done, true));
    EXPECT_THROW(parse(""), std::runtime_error);  // no done line: the executor died
    EXPECT_THROW(parse(R"({"error":"mount proc: EPERM"})"), std::runtime_error);
    EXPECT_THROW(parse(R"({"done":true,"kernel":"k","scenarios":1})"), std::runtime_error);
    EXPECT_THROW(parse(R"({"scenario":1})" "\n" + done), std::runtime_error);
}

TEST(OracleClient, ThrowsWhenTheExecutorFails) {
    HostOptions o;
    o.oracle_path = "/bin/false";
    EXPECT_THROW(pidlab::oracle::run_on_host({"x.json"}, o), std::runtime_error);
    o.oracle_path = "/bin/echo";  // prints its arguments: not the oracle's output
    EXPECT_THROW(pidlab::oracle::run_on_host({"x.json"}, o), std::runtime_error);
    o.oracle_path = "/nonexistent/pidlab-oracle";
    EXPECT_THROW(pidlab::oracle::run_on_host({"x.json"}, o), std::runtime_error);
}

}  // namespace
