// Helpers of the property tests: profiles, the invariant masks, expected-failure
// runs of a RapidCheck property, and the explorer's shortest counterexample.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "checker/explore.hpp"
#include "checker/invariants.hpp"
#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "prop/rc.hpp"
#include "prop/search.hpp"
#include "prop/shrink.hpp"

// Defined in librapidcheck (detail/Serialization), not declared by its public headers.
namespace rc::detail {
std::string reproduceMapToString(const std::unordered_map<std::string, Reproduce>& map);
}

namespace pidlab::proptest {

inline model::Profile profile(const std::string& name) {
    auto p = model::find_profile(name);
    if (!p) throw std::runtime_error("no profile " + name);
    return *p;
}

inline checker::InvMask mask_of(const std::string& list) {
    std::string unknown;
    auto m = checker::parse_invariants(list, unknown);
    if (!unknown.empty()) throw std::runtime_error("unknown invariant " + unknown);
    return m;
}

inline checker::InvMask all_but(const std::string& inv) { return checker::all_invariants() & ~mask_of(inv); }

// Where failing properties write their counterexamples ($PIDLAB_COUNTEREXAMPLES, else ./counterexamples).
inline std::string counterexample_dir() {
    const char* d = std::getenv("PIDLAB_COUNTEREXAMPLES");
    return d && *d ? d : "counterexamples";
}

inline std::string write_counterexample(const scenario::Scenario& s) {
    std::filesystem::create_directories(counterexample_dir());
    std::string path = counterexample_dir() + "/" + s.name + ".json";
    std::ofstream(path) << scenario::to_json(s).dump(2) << "\n";
    return path;
}

// The scenario a RapidCheck property last failed with. RapidCheck adopts every failing
// shrink and then finds no failing shrink of the last one: the last failure is the minimal one.
inline std::optional<scenario::Scenario>& last_failure() {
    static std::optional<scenario::Scenario> s;
    return s;
}

// The property body: a generated scenario of `p` violates no invariant of `mask`. On a
// violation, records the scenario up to the violating step (a counterexample), writes it
// out and fails with its JSON.
inline void invariants_hold(const model::Profile& p, checker::InvMask mask, size_t max_steps,
                            const prop::GenConfig& cfg = {}) {
    auto cmds = *prop::gen_commands(p, cfg, max_steps);
    auto s = prop::to_scenario(cmds);
    auto v = prop::find_violation(s, p, mask);
    RC_ASSERT(!v.error.has_value());  // a generated scenario always runs
    RC_TAG(v.step >= 0 ? "violation" : "holds");
    if (v.step < 0) return;
    s.steps.resize(static_cast<size_t>(v.step) + 1);
    prop::label_counterexample(s, v.invariants.front(), p.name,
                               "property test counterexample (RapidCheck, shrunk): " + v.details.front());
    last_failure() = s;
    std::string path = write_counterexample(s);
    RC_FAIL("invariant " + v.invariants.front() + " violated at step " + std::to_string(v.step) + " (" +
            v.details.front() + ")\ncounterexample: " + path + "\n" + scenario::to_json(s).dump());
}

struct ExpectedFailure {
    bool failed = false;
    int tests = 0;            // cases run before the failure
    std::string message;      // RapidCheck's report
    std::string reproduce;    // RC_PARAMS to reproduce it
    std::optional<scenario::Scenario> minimal;
};

// Runs a property that is expected to fail, with RapidCheck's configuration (RC_PARAMS: seed)
// and at least `min_tests` cases (unless RC_PARAMS sets max_success).
template <class Testable>
ExpectedFailure run_expected_failure(const std::string& id, Testable&& t, int min_tests) {
    using namespace rc::detail;
    ExpectedFailure out;
    last_failure().reset();
    TestParams params = configuration().testParams;
    const char* env = std::getenv("RC_PARAMS");
    if (!(env && std::string(env).find("max_success") != std::string::npos))
        params.maxSuccess = std::max(params.maxSuccess, min_tests);
    TestMetadata md;
    md.id = id;
    md.description = id;
    auto res = checkTestable(std::forward<Testable>(t), md, params);
    std::ostringstream os;
    printResultMessage(res, os);
    out.message = os.str();
    if (res.template is<FailureResult>()) {
        const auto& f = res.template get<FailureResult>();
        out.failed = true;
        out.tests = f.numSuccess + 1;
        std::ostringstream rp;
        rp << "seed=" << params.seed << " reproduce=" << reproduceMapToString({{id, f.reproduce}});
        out.reproduce = rp.str();
        out.minimal = last_failure();
    }
    return out;
}

// The explorer's shortest counterexample of `inv` (BFS over the default alphabet), in steps; -1 if none.
inline int explorer_shortest(const std::string& profile_name, const std::string& inv, int depth, int tasks = 4) {
    checker::ExploreConfig c;
    c.profile = profile(profile_name);
    std::string err;
    if (!checker::parse_alphabet("default", c.alphabet, err)) throw std::runtime_error(err);
    c.bounds.tasks = tasks;
    c.bounds.depth = depth;
    c.mask = mask_of(inv);
    c.mode = checker::SearchMode::Bfs;
    c.search.depth = depth;
    c.search.mask = c.mask;
    c.search.progress_secs = 0;
    c.search.threads = 1;
    auto r = checker::explore(c);
    for (const auto& ce : r.counterexamples)
        if (ce.invariant == inv) return static_cast<int>(ce.scenario.steps.size());
    return -1;
}

// A scenario through JSON and back.
inline scenario::Scenario roundtrip(const scenario::Scenario& s) {
    return scenario::parse_scenario(scenario::to_json(s).dump(), s.file.empty() ? "roundtrip.json" : s.file);
}

}  // namespace pidlab::proptest
