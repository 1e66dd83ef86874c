// The race detector (prop/gen.hpp cstep_racy) that keeps difftest's scenarios
// deterministic on real kernels: it flags the two races difftest met on 6.18, and
// not their deterministic neighbours.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "format/names.hpp"
#include "prop/gen.hpp"
#include "prop/world.hpp"

using namespace pidlab;
using scenario::Op;
using scenario::Step;

namespace {

Step step(const std::string& task, Op op) {
    Step s;
    s.task = task;
    s.op = op;
    return s;
}

// Runs all steps but the last in a World, then asks whether the last one is racy.
bool last_step_racy(const std::vector<Step>& steps) {
    prop::World w(*model::find_profile("6.18"));
    for (size_t i = 0; i + 1 < steps.size(); ++i) {
        EXPECT_EQ(w.why_invalid(steps[i]), "") << i;
        w.apply(steps[i]);
    }
    prop::CStep c;
    std::string err;
    EXPECT_TRUE(w.resolve(steps.back(), c, err)) << err;
    return prop::cstep_racy(w.kernel(), c);
}

std::vector<Step> tracer_victim(const std::string& killer) {
    Step a = step("T", Op::Clone3);
    a.exit_signal = names::kSIGCHLD;
    a.child = "C";
    Step b = step("C", Op::Ptrace);
    b.target = "T";
    b.ptrace_options = scenario::kPTRACE_O_EXITKILL;
    Step k = step(killer, Op::Kill);
    k.target = "C";
    k.sig = names::kSIGKILL;
    return {a, b, k};
}

std::vector<Step> exit_group_two_deaths(bool with_thread) {
    Step ign = step("T", Op::Sigaction);
    ign.sig = names::kSIGCHLD;
    ign.handler = scenario::Handler::Ign;
    Step c = step("T", Op::Clone3);
    c.flags = names::CF_PIDFD | names::CF_CLEAR_SIGHAND;
    c.exit_signal = names::kSIGCHLD;
    c.child = "C";
    c.new_fd = "c";
    Step th = step("C", Op::ThreadCreate);
    th.child = "C2";
    Step tr = step("C", Op::Ptrace);
    tr.target = "T";
    tr.ptrace_options = scenario::kPTRACE_O_EXITKILL;
    Step eg = step("C", Op::ExitGroup);
    eg.code = 42;
    if (with_thread) return {ign, c, th, tr, eg};
    return {ign, c, tr, eg};
}

}  // namespace

// T kills C, C's exit_ptrace kills T: T's kill(2) may or may not report before T dies.
TEST(Races, caller_killed_by_a_consequence_of_its_call) { EXPECT_TRUE(last_step_racy(tracer_victim("T"))); }

// init does the kill: its own call is not affected, T's death follows C's.
TEST(Races, the_same_kill_by_a_bystander_is_not_racy) { EXPECT_FALSE(last_step_racy(tracer_victim("init"))); }

// exit_group zaps C2 and exit_ptrace kills T: whichever exits first decides whether C is
// reaped by T's SIG_IGN or left a zombie under init (about 50/50 on 6.18).
TEST(Races, two_independent_deaths_from_one_exit_group) { EXPECT_TRUE(last_step_racy(exit_group_two_deaths(true))); }

// Without the thread, C's own exit kills T; nothing else is pending.
TEST(Races, one_death_is_not_racy) { EXPECT_FALSE(last_step_racy(exit_group_two_deaths(false))); }

// A plain exit and a reap are not racy.
TEST(Races, plain_steps_are_not_racy) {
    Step f = step("T", Op::Fork);
    f.child = "C";
    Step e = step("C", Op::Exit);
    EXPECT_FALSE(last_step_racy({f, e}));
}

// Generation for difftest leaves racy steps out, and stays deterministic for a seed.
TEST(Races, race_free_generation) {
    auto p = *model::find_profile("6.18");
    auto cfg = prop::GenConfig{};
    size_t racy_in_plain = 0;
    for (uint64_t i = 0; i < 300; ++i) {
        prop::World a(p, cfg.limits), b(p, cfg.limits);
        prop::FastChooser ca(prop::case_seed(5, i)), cb(prop::case_seed(5, i));
        a.run_random_race_free(cfg, ca, 16);
        b.run_random_race_free(cfg, cb, 16);
        ASSERT_EQ(scenario::to_json(a.scenario()).dump(), scenario::to_json(b.scenario()).dump());
        // replaying it, no step is racy
        prop::World r(p, cfg.limits);
        for (const auto& st : a.scenario().steps) {
            prop::CStep c;
            std::string err;
            ASSERT_TRUE(r.resolve(st, c, err)) << err;
            EXPECT_FALSE(prop::cstep_racy(r.kernel(), c)) << scenario::to_json(a.scenario()).dump(2);
            r.apply(st);
        }
        // plain generation does make racy steps now and then
        prop::World g(p, cfg.limits);
        prop::FastChooser cg(prop::case_seed(5, i));
        for (int s = 0; s < 16; ++s) {
            auto st = g.generate(cfg, cg);
            prop::CStep c;
            std::string err;
            ASSERT_TRUE(g.resolve(st, c, err));
            if (prop::cstep_racy(g.kernel(), c)) ++racy_in_plain;
            g.apply(st);
        }
    }
    RecordProperty("racy_steps_in_plain_generation", static_cast<int>(racy_in_plain));
}
