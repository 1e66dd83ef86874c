// The generators as RapidCheck state-machine commands (rc::state).
//
// The model state is a World (prop/world.hpp); a command is one scenario::Step
// (StepCommand), so any generated command sequence *is* a scenario. Commands are
// generated only where they can run, state their preconditions
// (checkPreconditions: World::why_invalid), and RapidCheck shrinks a sequence by
// removing commands and by shrinking each command's choices towards the simplest
// (RcChooser: every choice is an rc::gen::inRange that shrinks towards 0),
// re-checking the preconditions of what is left.
#pragma once

#include <memory>
#include <ostream>
#include <vector>

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include "format/scenario.hpp"
#include "prop/gen.hpp"
#include "prop/world.hpp"

namespace pidlab::prop {

// Choices drawn from RapidCheck generators (call inside rc::gen::exec or a property).
class RcChooser final : public Chooser {
public:
    uint32_t below(uint32_t n) override;
};

// The system under test of the state machine: it records the steps the commands ran.
struct Trace {
    std::vector<scenario::Step> steps;
};

using Command = rc::state::Command<World, Trace>;
using CommandPtr = std::shared_ptr<const Command>;
using Commands = rc::state::Commands<Command>;

struct StepCommand final : Command {
    scenario::Step step;
    explicit StepCommand(scenario::Step s) : step(std::move(s)) {}
    void checkPreconditions(const World& w) const override;
    void apply(World& w) const override;
    void run(const World& w, Trace& t) const override;
    void show(std::ostream& os) const override;
};

// One command that can run in `w`.
rc::Gen<CommandPtr> gen_command(const World& w, const GenConfig& cfg);

// Valid command sequences from the initial state of `p` (up to about `max_steps` commands,
// growing with RapidCheck's size).
rc::Gen<Commands> gen_commands(const model::Profile& p, const GenConfig& cfg, size_t max_steps);

// The scenario a command sequence forms.
scenario::Scenario to_scenario(const Commands& cmds, const std::string& name = "generated", int root_uid = 0,
                               bool root_caps = true);

// Valid scenarios (gen_commands mapped through to_scenario).
rc::Gen<scenario::Scenario> gen_scenario(const model::Profile& p, const GenConfig& cfg, size_t max_steps);

}  // namespace pidlab::prop

// How RapidCheck prints scenarios and steps in a counterexample (found by ADL).
namespace pidlab::scenario {
void showValue(const Scenario& s, std::ostream& os);
void showValue(const Step& s, std::ostream& os);
}  // namespace pidlab::scenario
