// A scenario being built one step at a time, replayed in the model as it grows.
//
// The World is the state of the random generators (prop/gen.hpp) and of the
// RapidCheck state machine (prop/rc.hpp): it knows which tasks are alive, which
// fd names each task's table holds, and whether a step can run here (its
// preconditions). Steps run through model::Replayer, so a generated sequence
// observes exactly what `pidlab replay` observes for the scenario it forms.
//
// Copying a World copies the model state (cheap: the Kernel is a set of vectors).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker/invariants.hpp"
#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "model/replay.hpp"
#include "prop/gen.hpp"

namespace pidlab::prop {

class World {
public:
    World(const model::Profile& p, const Limits& limits = {}, int root_uid = 0, bool root_caps = true);
    World(const World& o);
    World& operator=(const World& o);
    World(World&&) noexcept;
    World& operator=(World&&) noexcept;
    ~World();

    const model::Profile& profile() const { return profile_; }
    const Limits& limits() const { return limits_; }
    const model::Kernel& kernel() const { return rp_->kernel(); }
    const model::Replayer& replayer() const { return *rp_; }

    // The steps run so far (each as it was given).
    const std::vector<scenario::Step>& steps() const { return steps_; }
    const std::vector<scenario::Observation>& observations() const { return obs_; }
    // Every task name, in order of creation, failed creations included ("init", "T", ...).
    const std::vector<std::string>& names() const { return names_; }
    bool known_name(const std::string& n) const;
    // The model task of a name; kNoTask when it was never created (or its creation failed).
    model::TaskId task_id(const std::string& n) const { return rp_->task_id(n); }
    const std::string& task_name(model::TaskId t) const { return rp_->task_name(t); }
    // Tasks that can act now (running, not exiting), by TaskId.
    std::vector<model::TaskId> live_tasks() const;
    // Tasks that were created (any state), by TaskId: targets of kill, wait, pidfd_open ...
    int created_tasks() const { return static_cast<int>(kernel().tasks().size()); }

    // The fd names open in t's table: (name, fd number), by fd number.
    std::vector<std::pair<std::string, int>> fds_of(model::TaskId t) const;
    int fd_number(model::TaskId t, const std::string& name) const;

    // Names that no earlier step used: "C<n>", "f<n>".
    std::string fresh_task_name() const { return "C" + std::to_string(task_seq_ + 1); }
    std::string fresh_fd_name() const { return "f" + std::to_string(fd_seq_ + 1); }

    // The preconditions: empty when `st` can run here, else why not.
    std::string why_invalid(const scenario::Step& st) const;
    bool valid(const scenario::Step& st) const { return why_invalid(st).empty(); }

    // Steps over model ids (prop/gen.hpp): a named step's ids (false and `err` when a name does
    // not resolve), and the named step for a CStep made in this state (new names are fresh).
    bool resolve(const scenario::Step& st, CStep& out, std::string& err) const;
    scenario::Step name(const CStep& c) const;
    // A random valid step here.
    scenario::Step generate(const GenConfig& cfg, Chooser& ch) const;
    // Generates and runs `n` steps (stops after a step that violates a watched invariant when asked).
    void run_random(const GenConfig& cfg, Chooser& ch, size_t n, bool stop_on_violation = false);
    // The same, leaving out racy steps (cstep_racy: their results on real kernels depend on the
    // scheduler): a racy step is replaced by another choice, up to `tries` times, else the scenario
    // ends there. For difftest.
    void run_random_race_free(const GenConfig& cfg, Chooser& ch, size_t n, int tries = 16);

    // Runs a valid step. Throws scenario::FormatError if the model finds it cannot run.
    const scenario::Observation& apply(const scenario::Step& st);

    // Watch the checker's invariants: after each apply(), violations() names the
    // invariants that step violated (its transition and the state it left).
    void watch(checker::InvMask mask);
    const std::vector<std::string>& violations() const { return violations_; }
    const std::vector<checker::Violation>& violation_details() const { return details_; }

    // The steps so far as a scenario.
    scenario::Scenario scenario(const std::string& name = "random") const;
    // Every task's observation now (as a scenario's `final`).
    std::map<std::string, scenario::Observation> final_observations() const;

private:
    void prepare_scratch(size_t i, const scenario::Step* st) const;
    void note_name(const std::string& n, bool fd);

    model::Profile profile_;
    Limits limits_;
    int root_uid_ = 0;
    bool root_caps_ = true;
    // model::Replayer reads its scenario only inside its calls (steps[i] in step(i),
    // tasks in final_observations): every copy of a World shares one scratch scenario
    // and writes the step it runs into it just before the call.
    std::shared_ptr<scenario::Scenario> scratch_;
    std::shared_ptr<Scratch> dry_;  // kernel for dry runs, shared by copies as well
    std::optional<model::Replayer> rp_;
    std::vector<scenario::Step> steps_;
    std::vector<scenario::Observation> obs_;
    std::vector<std::string> names_;
    // fd names per fd table, exactly as model::Replayer keeps them.
    std::map<int, std::map<std::string, int>> fds_;
    int task_seq_ = 0, fd_seq_ = 0;
    // invariants
    std::optional<checker::ScenarioMonitor> monitor_;
    std::vector<std::string> violations_;
    std::vector<checker::Violation> details_;
};

}  // namespace pidlab::prop
