// Random search of the invariants in the model: `pidlab random`, the benchmarks,
// and the fast path of the properties.
//
// The FastRunner runs generated CSteps directly on a model::Kernel (buffers are
// reused from case to case) and checks the checker's invariants after each step
// exactly as checker::ScenarioMonitor does over model::Replayer. A case that
// violates an invariant is re-run through a World (model::Replayer, names) to
// become a scenario, verified there, and shrunk.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/invariants.hpp"
#include "format/scenario.hpp"
#include "model/kernel.hpp"
#include "prop/gen.hpp"
#include "prop/world.hpp"

namespace pidlab::prop {

class FastRunner {
public:
    FastRunner(const model::Profile& p, const GenConfig& cfg, checker::InvMask mask, int root_uid = 0,
               bool root_caps = true);
    // One case: up to `steps` random steps from the initial state (seeded by `seed`), checking
    // the invariants after each. Returns the index of the first violating step, or -1.
    int run_case(uint64_t seed, size_t steps);
    const std::vector<CStep>& steps() const { return steps_; }
    const std::vector<checker::Violation>& violations() const { return viol_; }
    const GenConfig& config() const { return cfg_; }
    void set_mask(checker::InvMask m) { mask_ = m; }

private:
    GenConfig cfg_;
    checker::InvMask mask_;
    model::Kernel initial_, k_, before_;
    checker::Aux aux_, aux_before_;
    Scratch scratch_;
    std::vector<CStep> steps_;
    std::vector<checker::Violation> viol_;
};

// The steps of a FastRunner case, named and run in a World (the invariants of `mask` watched).
World name_case(const model::Profile& p, const GenConfig& cfg, const std::vector<CStep>& steps, checker::InvMask mask,
                int root_uid = 0, bool root_caps = true);

// The first step of `s` that violates `invariant` when replayed with the invariants watched
// (-1: none; -2: the scenario cannot run in the model).
int first_violation(const scenario::Scenario& s, const model::Profile& p, const std::string& invariant);

// The first step of `s` (model::Replayer, checker::ScenarioMonitor) that violates an invariant of `mask`.
struct ViolationAt {
    int step = -1;                        // -1: none
    std::vector<std::string> invariants;  // violated by that step
    std::vector<std::string> details;     // "invariant: detail"
    std::optional<scenario::FormatError> error;  // the scenario could not run
};
ViolationAt find_violation(const scenario::Scenario& s, const model::Profile& p, checker::InvMask mask);

struct SearchOptions {
    model::Profile profile;
    GenConfig gen;
    checker::InvMask mask = 0;
    uint64_t seed = 1;
    uint64_t cases = 1000;
    size_t steps = 20;            // steps per case
    bool shrink = true;
    // After a finding, go on: one finding per invariant. A thread stops watching an invariant once it
    // found it, so that later cases can show the others (the findings then depend on `jobs` as well).
    bool keep_going = false;
    int jobs = 1;                 // threads (without keep_going the findings do not depend on it)
    int root_uid = 0;
    bool root_caps = true;
    // Called now and then (from one thread at a time) with the cases done so far.
    std::function<void(uint64_t done, size_t findings)> progress;
    uint64_t progress_every = 10000;
};

struct Finding {
    uint64_t case_index = 0;
    uint64_t seed = 0;            // the case's own seed (case_seed(run seed, index))
    std::string invariant;
    std::string detail;
    scenario::Scenario found;     // the case's steps up to the violation (a counterexample)
    scenario::Scenario shrunk;    // shrunk: the violation at its last step
    size_t shrink_tests = 0;
};

struct SearchResult {
    uint64_t cases = 0, steps = 0;  // cases: up to the finding when the search stopped at one
    double seconds = 0;
    double cpu_seconds = 0;         // CPU time of the search threads (shrinking excluded)
    std::vector<Finding> findings;
};

SearchResult random_search(const SearchOptions& o);

// A counterexample scenario: name, description, kernel, violates.
void label_counterexample(scenario::Scenario& s, const std::string& invariant, const std::string& profile,
                          const std::string& how);

}  // namespace pidlab::prop
