// Shrinking a failing scenario by delta debugging over its steps and tasks,
// keeping every candidate valid. Candidates are judged in batches, so that a
// predicate that runs them on a real kernel (difftest) pays one oracle run or
// one VM boot per round.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "format/scenario.hpp"
#include "model/profile.hpp"

namespace pidlab::prop {

// For each candidate, whether it still fails.
using BatchPredicate = std::function<std::vector<bool>(const std::vector<scenario::Scenario>&)>;

struct ShrinkStats {
    size_t rounds = 0;      // batches judged
    size_t tests = 0;       // candidates judged
    size_t accepted = 0;    // candidates that still failed and were kept
};

struct ShrinkOptions {
    size_t max_tests = 20000;  // stop judging after this many candidates
    size_t max_batch = 64;     // candidates per batch
    bool simplify_steps = true;  // also try simpler flags, options and arguments
    bool race_free = false;      // candidates also drop steps whose results depend on the scheduler (difftest)
};

// The steps of `s` that can run in the model, in order (the others are dropped; with `race_free`,
// racy steps too: prop/gen.hpp cstep_racy).
scenario::Scenario repair(const scenario::Scenario& s, const model::Profile& p, bool race_free = false);

// A smaller scenario that still fails (`s` itself must fail). Every candidate is repaired
// (valid in the model) before it is judged.
scenario::Scenario shrink(const scenario::Scenario& s, const model::Profile& p, const BatchPredicate& fails,
                          const ShrinkOptions& opts = {}, ShrinkStats* stats = nullptr);

}  // namespace pidlab::prop
