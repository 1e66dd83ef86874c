// Properties of replay and of the scenario format over random scenarios, and of
// the generators themselves (validity, and that the fast runner and
// model::Replayer see the same thing).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "prop_util.hpp"

using namespace pidlab;
using namespace pidlab::proptest;

namespace {

const std::vector<std::string>& all_profiles() {
    static const std::vector<std::string> v = {"7.1", "pre-7.1", "6.12", "6.1", "rfc-v1", "v2", "v3", "v4", "v5"};
    return v;
}

model::Profile any_profile() { return profile(*rc::gen::elementOf(all_profiles())); }

std::string dump(const scenario::RunResult& r) {
    auto j = scenario::to_json(r);
    j.erase("file");
    j.erase("scenario");
    return j.dump();
}

}  // namespace

// Replay is a function of (scenario, profile).
RC_GTEST_PROP(Replay, is_deterministic, ()) {
    const auto p = any_profile();
    const auto s = *prop::gen_scenario(p, {}, 40);
    auto a = model::replay(s, p);
    auto b = model::replay(s, p);
    RC_ASSERT(!a.error.has_value());
    RC_ASSERT(dump(a.run_result()) == dump(b.run_result()));
}

// A generated sequence observes, step by step, what model::replay observes for the
// scenario it forms (the World runs the same Replayer, one step at a time).
RC_GTEST_PROP(Replay, generated_steps_observe_what_replay_observes, ()) {
    const auto p = any_profile();
    const auto cmds = *prop::gen_commands(p, {}, 40);
    const auto s = prop::to_scenario(cmds);
    prop::World w(p);
    for (const auto& st : s.steps) {
        RC_ASSERT(w.why_invalid(st) == "");
        w.apply(st);
    }
    auto r = model::replay(s, p);
    RC_ASSERT(!r.error.has_value());
    RC_ASSERT(r.steps.size() == w.observations().size());
    for (size_t i = 0; i < r.steps.size(); ++i) RC_ASSERT(r.steps[i].obs == w.observations()[i]);
    RC_ASSERT(r.final == w.final_observations());
}

// load -> dump -> load gives the same scenario and the same observations; a scenario whose
// expectations are its own observations passes them.
RC_GTEST_PROP(Format, json_round_trip, ()) {
    const auto p = any_profile();
    auto s = *prop::gen_scenario(p, {}, 40);
    auto r = model::replay(s, p);
    RC_ASSERT(!r.error.has_value());
    // full expectations: every step expects what it observed, `final` every task's observation
    for (size_t i = 0; i < s.steps.size(); ++i) {
        auto o = r.steps[i].obs;
        o.rule.clear();
        s.steps[i].expect = o;
    }
    for (const auto& [name, o] : r.final) {
        if (o.error) continue;  // a task whose creation failed: `final` has no word for it
        auto f = o;
        f.rule.clear();
        s.final.emplace_back(name, f);
    }
    s.kernel = p.name;
    s.description = "a random scenario with its own observations as expectations";
    const std::string text = scenario::to_json(s).dump(2);
    const auto s2 = scenario::parse_scenario(text, "roundtrip.json");
    RC_ASSERT(scenario::to_json(s2).dump(2) == text);
    const auto s3 = scenario::parse_scenario(scenario::to_json(s2).dump(), "roundtrip.json");
    RC_ASSERT(scenario::to_json(s3).dump(2) == text);
    auto r2 = model::replay(s2, p);
    RC_ASSERT(!r2.error.has_value());
    RC_ASSERT(r2.passed());
    RC_ASSERT(dump(r2.run_result()) == dump(r.run_result()));
}

// The fast runner (CSteps on a bare Kernel) finds a violation exactly where model::Replayer
// with checker::ScenarioMonitor finds it in the named scenario, and the World generating
// from the same seed makes the same steps.
RC_GTEST_PROP(Generators, fast_runner_agrees_with_replay, ()) {
    const auto p = any_profile();
    const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
    const bool unprivileged = *rc::gen::arbitrary<bool>();  // T as uid 1000 without capabilities
    const int uid = unprivileged ? 1000 : 0;
    const prop::GenConfig cfg;
    prop::FastRunner fr(p, cfg, checker::all_invariants(), uid, !unprivileged);
    const int at = fr.run_case(seed, 30);
    const auto w = prop::name_case(p, cfg, fr.steps(), 0, uid, !unprivileged);
    const auto s = w.scenario();
    RC_ASSERT(s.root_uid == uid);
    RC_ASSERT(s.steps.size() == fr.steps().size());
    const auto v = prop::find_violation(s, p, checker::all_invariants());
    RC_ASSERT(!v.error.has_value());
    RC_ASSERT(v.step == at);
    if (at >= 0) {
        std::vector<std::string> names;
        for (const auto& x : fr.violations()) {
            std::string n = checker::invariants()[x.inv].name;
            if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
        }
        RC_ASSERT(names == v.invariants);
    }
    prop::World g(p, cfg.limits, uid, !unprivileged);
    g.watch(checker::all_invariants());
    prop::FastChooser ch(seed);
    g.run_random(cfg, ch, 30, true);
    RC_ASSERT(scenario::to_json(g.scenario()).dump() == scenario::to_json(w.scenario()).dump());
    RC_ASSERT(prop::generator_fallbacks() == 0u);
}

// Generated scenarios are valid scenario files, however the choices shrink.
RC_GTEST_PROP(Generators, make_valid_scenarios, ()) {
    const auto p = any_profile();
    const auto s = *prop::gen_scenario(p, {}, 60);
    const auto s2 = roundtrip(s);
    RC_ASSERT(s2.tasks == s.tasks);
    auto r = model::replay(s2, p);
    RC_ASSERT(!r.error.has_value());
    RC_ASSERT(static_cast<int>(s2.tasks.size()) <= prop::Limits{}.max_names);
    RC_CLASSIFY(s.steps.size() <= 5, "<= 5 steps");
    RC_CLASSIFY(s.steps.size() > 20, "> 20 steps");
}

// Shrinking (the delta-debugging shrinker) keeps scenarios valid and the failure alive.
RC_GTEST_PROP(Shrink, keeps_the_violation, ()) {
    const auto p = profile(*rc::gen::element<std::string>("v4", "v5", "7.1", "v2"));
    const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
    prop::FastRunner fr(p, {}, checker::all_invariants());
    const int at = fr.run_case(seed, 30);
    RC_TAG(at >= 0 ? "violation" : "none");
    if (at < 0) return;
    const auto inv = std::string(checker::invariants()[fr.violations().front().inv].name);
    const auto s = prop::name_case(p, {}, fr.steps(), 0).scenario();
    prop::BatchPredicate pred = [&](const std::vector<scenario::Scenario>& cs) {
        std::vector<bool> out;
        for (const auto& c : cs) out.push_back(prop::first_violation(c, p, inv) >= 0);
        return out;
    };
    auto m = prop::shrink(s, p, pred);
    RC_ASSERT(m.steps.size() <= s.steps.size());
    RC_ASSERT(prop::first_violation(roundtrip(m), p, inv) >= 0);
    RC_ASSERT(!model::replay(m, p).error.has_value());
}
