#include "prop/rc.hpp"

#include <nlohmann/json.hpp>

namespace pidlab::prop {

uint32_t RcChooser::below(uint32_t n) {
    if (n <= 1) return 0;
    // rc::gen::inRange narrows its range with the size: choose at the nominal size (uniform),
    // still shrinking towards 0. The size scales the number of steps instead (gen_commands).
    return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange<uint32_t>(0, n));
}

void StepCommand::checkPreconditions(const World& w) const {
    // RC_PRE discards the command: RapidCheck regenerates or drops it.
    RC_PRE(w.valid(step));
}

void StepCommand::apply(World& w) const { w.apply(step); }

void StepCommand::run(const World&, Trace& t) const { t.steps.push_back(step); }

void StepCommand::show(std::ostream& os) const { os << scenario::to_json(step).dump(); }

rc::Gen<CommandPtr> gen_command(const World& w, const GenConfig& cfg) {
    // The generator may run again later (to shrink the command): it keeps its own copy of the state.
    auto snap = std::make_shared<const World>(w);
    return rc::gen::exec([snap, cfg]() -> CommandPtr {
        RcChooser ch;
        return std::make_shared<const StepCommand>(snap->generate(cfg, ch));
    });
}

rc::Gen<Commands> gen_commands(const model::Profile& p, const GenConfig& cfg, size_t max_steps) {
    World initial(p, cfg.limits);
    auto g = rc::state::gen::commands(initial, [cfg](const World& w) { return gen_command(w, cfg); });
    return rc::gen::scale(static_cast<double>(max_steps) / 100.0, std::move(g));
}

scenario::Scenario to_scenario(const Commands& cmds, const std::string& name, int root_uid, bool root_caps) {
    scenario::Scenario s;
    s.name = name;
    s.file = name + ".json";
    s.root_uid = root_uid;
    s.root_caps = root_caps;
    s.tasks = {"init", "T"};
    for (const auto& c : cmds) {
        const auto* sc = dynamic_cast<const StepCommand*>(c.get());
        if (!sc) continue;
        s.steps.push_back(sc->step);
        const auto op = sc->step.op;
        if (op == scenario::Op::Fork || op == scenario::Op::Clone || op == scenario::Op::Clone3 ||
            op == scenario::Op::ThreadCreate)
            s.tasks.push_back(sc->step.child);
    }
    return s;
}

rc::Gen<scenario::Scenario> gen_scenario(const model::Profile& p, const GenConfig& cfg, size_t max_steps) {
    return rc::gen::map(gen_commands(p, cfg, max_steps), [](const Commands& cmds) { return to_scenario(cmds); });
}

}  // namespace pidlab::prop

namespace pidlab::scenario {
void showValue(const Scenario& s, std::ostream& os) { os << to_json(s).dump(); }
void showValue(const Step& s, std::ostream& os) { os << to_json(s).dump(); }
}  // namespace pidlab::scenario
