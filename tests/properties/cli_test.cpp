// pidlab random and pidlab difftest from the command line: exit codes, determinism
// for a seed, counterexample files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <algorithm>

#include <nlohmann/json.hpp>

#include "checker/invariants.hpp"
#include "format/scenario.hpp"
#include "model/profile.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
    int status = -1;
    std::string out;
};

Run run(const std::string& args) {
    std::string cmd = std::string(PIDLAB_CLI) + " " + args + " 2>/dev/null";
    Run r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string tmpdir(const std::string& tag) {
    auto d = fs::temp_directory_path() / ("pidlab-prop-cli-" + tag + "-" + std::to_string(getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
}

std::vector<std::string> scenario_files_in(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".json") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST(CliRandom, bad_usage_exits_2) {
    EXPECT_EQ(run("random --kernel no-such-kernel --cases 10").status, 2);
    EXPECT_EQ(run("random --invariants no_such_invariant --cases 10").status, 2);
    EXPECT_EQ(run("random --cases 0").status, 2);
    EXPECT_EQ(run("random --weights fork:x").status, 2);
    EXPECT_EQ(run("random --no-such-option").status, 2);
}

TEST(CliRandom, nothing_found_exits_0) {
    auto r = run("random --kernel pre-7.1 --cases 2000 --seed 5 -q --json");
    EXPECT_EQ(r.status, 0) << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["cases"], 2000);
    EXPECT_TRUE(j["findings"].empty());
}

TEST(CliRandom, a_finding_exits_1_and_is_written_as_a_counterexample) {
    auto dir = tmpdir("found");
    auto r = run("random --kernel v4 --cases 100000 --seed 9 --invariants no_invisible_zombie -q --out " + dir);
    EXPECT_EQ(r.status, 1) << r.out;
    auto files = scenario_files_in(dir);
    ASSERT_EQ(files.size(), 1u);
    auto s = pidlab::scenario::load_scenario_file(files.front());
    EXPECT_EQ(s.violates, "no_invisible_zombie");
    EXPECT_EQ(s.kernel, "v4");
    auto chk = pidlab::checker::check_counterexample(s, *pidlab::model::find_profile("v4"));
    EXPECT_TRUE(chk.violated_at_last_step);
    // `pidlab replay` shows it as a verified counterexample
    EXPECT_EQ(run("replay -q " + files.front()).status, 0);
    fs::remove_all(dir);
}

TEST(CliRandom, deterministic_for_a_seed_whatever_the_jobs) {
    auto a = tmpdir("det-a"), b = tmpdir("det-b");
    auto ra = run("random --kernel 7.1 --cases 30000 --seed 77 -q --out " + a);
    auto rb = run("random --kernel 7.1 --cases 30000 --seed 77 -q -j 2 --out " + b);
    EXPECT_EQ(ra.status, rb.status);
    auto strip = [](std::string s, const std::string& dir) {
        for (size_t p; (p = s.find(dir)) != std::string::npos;) s.replace(p, dir.size(), "DIR");
        return s;
    };
    EXPECT_EQ(strip(ra.out, a), strip(rb.out, b));
    auto fa = scenario_files_in(a), fb = scenario_files_in(b);
    ASSERT_EQ(fa.size(), fb.size());
    for (size_t i = 0; i < fa.size(); ++i) EXPECT_EQ(slurp(fa[i]), slurp(fb[i]));
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST(CliDifftest, bad_usage_exits_2) {
    EXPECT_EQ(run("difftest --cases 10").status, 2);                    // neither --host nor --vm
    EXPECT_EQ(run("difftest --host --vm 7.2 --cases 10").status, 2);    // both
    EXPECT_EQ(run("difftest --vm 9.9 --cases 10").status, 2);           // unknown series
    EXPECT_EQ(run("difftest --host --cases 0").status, 2);
}

// A few cases on the host kernel (root: the oracle needs pid namespaces).
TEST(CliDifftest, host_smoke) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    auto dir = tmpdir("dt");
    auto r = run("difftest --host --cases 40 --seed 1 --steps 8 --max-shrinks 1 --max-shrink-rounds 4 -q --json --out " + dir);
    ASSERT_TRUE(r.status == 0 || r.status == 1) << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["cases"], 40);
    EXPECT_EQ(j["disagreements"].size() == 0, r.status == 0);
    for (const auto& d : j["disagreements"])
        if (d.contains("file")) EXPECT_NO_THROW(pidlab::scenario::load_scenario_file(d["file"].get<std::string>()));
    fs::remove_all(dir);
}
