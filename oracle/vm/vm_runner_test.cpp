// Tests of the VM runner. The boot tests need qemu-system-x86 and a kernel (the
// cache, or Debian's archive) and run only with PIDLAB_VM_TESTS set:
//   PIDLAB_VM_TESTS=1         boot 7.2
//   PIDLAB_VM_TESTS=all       boot all five series
//   PIDLAB_VM_TESTS="6.1 7.3" boot those
#include "oracle/vm/vm_runner.hpp"

#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>
#include <unistd.h>

namespace vm = pidlab::oracle::vm;

namespace {

std::vector<std::string> series_under_test() {
    const char* env = std::getenv("PIDLAB_VM_TESTS");
    if (env == nullptr || *env == '\0' || std::string(env) == "0") return {};
    std::string v(env);
    if (v == "1") return {"7.2"};
    if (v == "all") return vm::known_series();
    std::vector<std::string> out;
    std::istringstream in(v);
    for (std::string s; in >> s;) out.push_back(s);
    return out;
}

const std::vector<std::string> kScenarios = {
    std::string(PIDLAB_VM_TEST_SCENARIOS) + "/scenarios/a_fork_exit.json",
    std::string(PIDLAB_VM_TEST_SCENARIOS) + "/scenarios/b_pidfd_poll.json",
};

}  // namespace

TEST(VmRunner, KnownSeries) {
    EXPECT_EQ(vm::known_series(), (std::vector<std::string>{"6.1", "6.12", "7.1", "7.2", "7.3"}));
}

TEST(VmRunner, FindsItsScripts) {
    auto dir = vm::find_scripts_dir();
    ASSERT_FALSE(dir.empty());
    EXPECT_EQ(::access((dir + "/run-vm.sh").c_str(), R_OK), 0);
    EXPECT_EQ(::access((dir + "/fetch-kernels.sh").c_str(), R_OK), 0);
}

TEST(VmRunner, UnknownSeriesIsAnError) {
    auto run = vm::run_in_vm("5.10", PIDLAB_VM_TESTINIT, kScenarios);
    EXPECT_FALSE(run.completed);
    EXPECT_NE(run.error.find("5.10"), std::string::npos) << run.error;
}

TEST(VmRunner, MissingInitIsAnErrorWithoutBooting) {
    vm::VmOptions opt;
    opt.offline = true;
    auto run = vm::run_in_vm("7.2", "/nonexistent/pidlab-init", kScenarios, opt);
    EXPECT_FALSE(run.completed);
    EXPECT_FALSE(run.error.empty());
    EXPECT_TRUE(run.lines.empty());
    EXPECT_NE(run.exit_status, 0);
}

TEST(VmRunner, BootsAndCollectsResults) {
    auto series = series_under_test();
    if (series.empty()) GTEST_SKIP() << "set PIDLAB_VM_TESTS=1|all|\"SERIES...\" to boot kernels";
    for (const auto& s : series) {
        SCOPED_TRACE("series " + s);
        vm::VmOptions opt;
        opt.timeout_seconds = 120;
        auto run = vm::run_in_vm(s, PIDLAB_VM_TESTINIT, kScenarios, opt);
        ASSERT_TRUE(run.completed) << run.error << "\n--- console:\n" << run.console_log;
        EXPECT_TRUE(run.error.empty()) << run.error;
        EXPECT_EQ(run.boots, 1 + static_cast<int>(run.crashed_boots.size()));
        EXPECT_EQ(run.series, s);
        EXPECT_EQ(run.status, "ok");
        EXPECT_FALSE(run.package.empty());
        EXPECT_FALSE(run.version.empty());
        EXPECT_EQ(run.version.rfind(s + ".", 0), 0u) << run.version;
        ASSERT_FALSE(run.release.empty());
        ASSERT_EQ(run.lines.size(), 4u);
        EXPECT_EQ(run.lines[0].rfind("{\"hello\": \"" + run.release + "\"", 0), 0u) << run.lines[0];
        EXPECT_NE(run.lines[0].find("\"args\": \"vm-init\""), std::string::npos) << run.lines[0];
        EXPECT_NE(run.lines[1].find("\"0001-a_fork_exit.json\""), std::string::npos) << run.lines[1];
        EXPECT_NE(run.lines[2].find("\"0002-b_pidfd_poll.json\""), std::string::npos) << run.lines[2];
        EXPECT_EQ(run.lines[3],
                  "{\"done\": true, \"kernel\": \"" + run.release + "\", \"scenarios\": 2}");
        for (const auto& l : run.lines) {
            EXPECT_EQ(l.find('\r'), std::string::npos);
            EXPECT_EQ(l.find("console line"), std::string::npos) << "console output leaked: " << l;
        }
        // The init's console line goes to ttyS0 only.
        EXPECT_NE(run.console_log.find("testinit: console line"), std::string::npos);
        EXPECT_GT(run.seconds, 0.0);
    }
}

TEST(VmRunner, BootsAgainAfterAGuestCrash) {
    auto series = series_under_test();
    if (series.empty()) GTEST_SKIP() << "set PIDLAB_VM_TESTS=1|all|\"SERIES...\" to boot kernels";
    vm::VmOptions opt;
    opt.timeout_seconds = 120;
    opt.init_args = {"crash"};  // the test init exits: the kernel panics
    opt.boot_attempts = 2;
    auto run = vm::run_in_vm(series.front(), PIDLAB_VM_TESTINIT, kScenarios, opt);
    EXPECT_FALSE(run.completed);
    EXPECT_EQ(run.boots, 2);
    ASSERT_EQ(run.crashed_boots.size(), 1u);
    EXPECT_NE(run.crashed_boots[0].find("Kernel panic"), std::string::npos) << run.crashed_boots[0];
    EXPECT_NE(run.console_log.find("Attempted to kill init"), std::string::npos);
    EXPECT_TRUE(run.lines.empty());
    EXPECT_FALSE(run.error.empty());
}

TEST(VmRunner, RunsTheRealExecutor) {
#ifndef PIDLAB_VM_ORACLE
    GTEST_SKIP() << "pidlab-oracle is not part of this build";
#else
    auto series = series_under_test();
    if (series.empty()) GTEST_SKIP() << "set PIDLAB_VM_TESTS=1|all|\"SERIES...\" to boot kernels";
    for (const auto& s : series) {
        SCOPED_TRACE("series " + s);
        vm::VmOptions opt;
        opt.timeout_seconds = 180;
        auto run = vm::run_in_vm(s, PIDLAB_VM_ORACLE, kScenarios, opt);
        ASSERT_TRUE(run.completed) << run.error << "\n--- console:\n" << run.console_log;
        // One line per scenario, in order, then the done line.
        ASSERT_EQ(run.lines.size(), 3u);
        EXPECT_NE(run.lines[0].find("\"vm_smoke_fork_exit\""), std::string::npos) << run.lines[0];
        EXPECT_NE(run.lines[1].find("\"vm_smoke_pidfd_poll\""), std::string::npos) << run.lines[1];
        EXPECT_NE(run.lines[2].find("\"done\""), std::string::npos) << run.lines[2];
        EXPECT_NE(run.lines[2].find(run.release), std::string::npos) << run.lines[2];
    }
#endif
}
