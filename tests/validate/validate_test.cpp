// The table of `pidlab validate`, cell by cell, from the validate engine without VMs: what the
// series' history says each revision does (issue #5), verified on the model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "checker/invariants.hpp"
#include "cli/validate.hpp"
#include "format/scenario.hpp"

using namespace pidlab;

namespace {

// The options of the test: the default run's random search and corpus, smaller explorations that
// still reach every expected cell (the CLONE_PARENT leak in 2 and 3 steps, the setuid kill in 5, the
// pointer reuse in 5 with ptrace).
validate::Options test_options(const std::string& rev) {
    validate::Options o = validate::default_options();
    o.revisions = {rev};
    o.explore = {{"default", 3, 7}, {"ptrace", 3, 5}};
    o.corpus = PIDLAB_SOURCE_DIR "/scenarios";
    return o;
}

// Expected: invariant -> shortest counterexample (0: holds).
const std::map<std::string, std::map<std::string, size_t>>& expected() {
    static const std::map<std::string, std::map<std::string, size_t>> e = [] {
        std::map<std::string, std::map<std::string, size_t>> m;
        for (const auto& rev : validate::all_revisions())
            for (const auto& inv : checker::invariants()) m[rev][inv.name] = 0;
        for (const char* rev : {"rfc-v1", "v2", "v3", "v4", "v5"}) {
            m[rev]["no_clone_parent_leak"] = 2;  // CLONE_PARENT from an autoreap process: exit_signal 0 leaks
            m[rev]["no_invisible_zombie"] = 3;   // ... and the sibling's zombie is reaped by nobody
        }
        for (const char* rev : {"v2", "v3"}) {
            m[rev]["no_unprivileged_kill"] = 5;      // autokill of a setuid child by an unprivileged creator
            m[rev]["autokill_only_clone_file"] = 5;  // the autokill pointer reused by another file
        }
        for (const char* rev : {"v2", "v3", "v4", "v5", "7.1"})
            m[rev]["autokill_no_self_pin"] = 2;  // a CLONE_FILES child holds its own kill switch
        return m;
    }();
    return e;
}

class Table : public ::testing::TestWithParam<std::string> {};

TEST_P(Table, every_cell_is_as_expected_and_every_counterexample_replays) {
    const std::string rev = GetParam();
    auto o = test_options(rev);
    auto r = validate::run(o);
    ASSERT_EQ(r.revisions.size(), 1u);
    const auto& rr = r.revisions[0];
    const auto& invs = checker::invariants();
    ASSERT_EQ(rr.cells.size(), invs.size());
    for (size_t i = 0; i < invs.size(); ++i) {
        size_t want = expected().at(rev).at(invs[i].name);
        const auto& c = rr.cells[i];
        if (want == 0) {
            EXPECT_FALSE(c.violated) << rev << " " << invs[i].name << ": " << validate::cell_text(c, o) << " by "
                                     << c.how << ": " << c.detail;
            EXPECT_EQ(validate::cell_text(c, o).rfind("holds (", 0), 0u);
        } else {
            EXPECT_TRUE(c.violated) << rev << " " << invs[i].name;
            EXPECT_EQ(c.length, want) << rev << " " << invs[i].name << " by " << c.how;
            EXPECT_EQ(c.source, validate::Source::Explore) << rev << " " << invs[i].name;
            EXPECT_EQ(validate::cell_text(c, o), "violated (" + std::to_string(want) + " steps)");
            EXPECT_EQ(c.scenario.violates, invs[i].name);
            EXPECT_EQ(c.scenario.kernel, rev);
            EXPECT_EQ(c.scenario.steps.size(), want);
            EXPECT_EQ(c.dots.size(), want + 1);
        }
    }
    // The corpus runs under every revision; the merged kernel's own scenarios meet their expectations there.
    EXPECT_GT(rr.corpus.files, 100u);
    EXPECT_EQ(rr.corpus.runs + rr.corpus.does_not_run, rr.corpus.files);
    if (rev == "7.1") EXPECT_EQ(rr.corpus.does_not_run, 0u);
    for (const auto& e : rr.explores) EXPECT_TRUE(e.complete) << e.spec.label();

    // Written, every counterexample replays to its violation (what `pidlab replay FILE` checks).
    auto dir = std::filesystem::temp_directory_path() / ("pidlab-validate-test-" + rev);
    std::filesystem::remove_all(dir);
    EXPECT_EQ(validate::write_outputs(r, dir.string(), false), 0u);
    for (size_t i = 0; i < invs.size(); ++i) {
        const auto& c = r.revisions[0].cells[i];
        if (!c.violated) continue;
        EXPECT_TRUE(c.replays) << c.json_file << ": " << c.replay_problem;
        EXPECT_TRUE(std::filesystem::exists(dir / rev / (std::string(invs[i].name) + ".json")));
        EXPECT_TRUE(std::filesystem::exists(dir / rev / invs[i].name / "step-00.dot"));
    }
    std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Revisions, Table, ::testing::Values("rfc-v1", "v2", "v3", "v4", "v5", "7.1"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (auto& ch : s)
                                 if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return s;
                         });

TEST(Validate, same_options_same_table) {
    auto o = test_options("v3");
    o.explore = {{"default", 3, 6}};
    o.random_cases = 20000;
    auto a = validate::run(o), b = validate::run(o);
    EXPECT_EQ(validate::text_table(a, o), validate::text_table(b, o));
    for (size_t i = 0; i < a.revisions[0].cells.size(); ++i)
        EXPECT_EQ(scenario::to_json(a.revisions[0].cells[i].scenario).dump(),
                  scenario::to_json(b.revisions[0].cells[i].scenario).dump());
}

TEST(Validate, parse_revisions) {
    std::vector<std::string> out;
    std::string err;
    EXPECT_TRUE(validate::parse_revisions("all", out, err));
    EXPECT_EQ(out, validate::all_revisions());
    EXPECT_TRUE(validate::parse_revisions("v5,7.1", out, err));
    EXPECT_EQ(out, (std::vector<std::string>{"v5", "7.1"}));
    EXPECT_FALSE(validate::parse_revisions("v5,v9", out, err));
    EXPECT_NE(err.find("\"v9\""), std::string::npos) << err;
}

int run_cli(const std::string& args) {
    std::string cmd = std::string(PIDLAB_CLI) + " validate " + args + " >/dev/null 2>&1";
    int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(ValidateCli, bad_usage_exits_2) {
    EXPECT_EQ(run_cli("--revisions v9 --no-vm"), 2);
    EXPECT_EQ(run_cli("--revisions v5 --explore default@4 --no-vm"), 2);
    EXPECT_EQ(run_cli("--revisions v5 --explore nonsense@3x4 --no-vm"), 2);
    EXPECT_EQ(run_cli("--revisions v5 --vm 9.9"), 2);
    EXPECT_EQ(run_cli("--revisions v5 --tasks 99 --no-vm"), 2);
    EXPECT_EQ(run_cli("--revisions v5 --corpus /nonexistent --no-vm"), 2);
    EXPECT_EQ(run_cli("--bogus"), 2);
}

TEST(ValidateCli, small_run_writes_the_table_and_counterexamples) {
    auto dir = std::filesystem::temp_directory_path() / "pidlab-validate-cli-test";
    std::filesystem::remove_all(dir);
    EXPECT_EQ(run_cli("--revisions rfc-v1,7.1 --explore 'default@3x4' --cases 2000 --no-vm --no-svg -q --out " +
                      dir.string()),
              0);
    EXPECT_TRUE(std::filesystem::exists(dir / "table.md"));
    EXPECT_TRUE(std::filesystem::exists(dir / "rfc-v1" / "no_clone_parent_leak.json"));
    EXPECT_TRUE(std::filesystem::exists(dir / "7.1" / "autokill_no_self_pin" / "step-02.dot"));
    EXPECT_FALSE(std::filesystem::exists(dir / "7.1" / "no_clone_parent_leak.json"));
    std::filesystem::remove_all(dir);
}

}  // namespace
