// pidlab explore: exhaustive bounded exploration of the model (model::Kernel)
// with the named invariants, and the shortest counterexample of each violated
// invariant as a replayable scenario.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checker/canon.hpp"
#include "checker/invariants.hpp"
#include "checker/ops.hpp"
#include "checker/search.hpp"
#include "format/scenario.hpp"
#include "model/kernel.hpp"
#include "model/profile.hpp"

namespace pidlab::checker {

enum class SearchMode : uint8_t { Bfs, Dfs, Random };

struct ExploreConfig {
    model::Profile profile;
    Alphabet alphabet;
    Bounds bounds;
    InvMask mask = 0;
    SearchMode mode = SearchMode::Bfs;
    SearchOptions search;
    bool symmetry = true;
    model::Cred root{0, 0, 0, true};  // T's credentials
};

// A state of the model system: the kernel and the checker's bookkeeping.
struct MState {
    model::Kernel k;
    Aux aux;
};

struct Counterexample {
    int inv = -1;
    std::string invariant;
    std::string detail;
    std::vector<Op> ops;
    bool interleaved = false;           // uses internal transitions: not a plain scenario
    scenario::Scenario scenario;        // the steps (internal transitions as `observe` placeholders when interleaved)
    std::vector<std::string> step_text; // one line per step
    std::vector<std::string> dots;      // Graphviz process tree: initial state, then after each step
    CounterexampleCheck verified;       // replayed through model::Replayer with the invariants watched
};

struct ExploreResult {
    SearchStats stats;
    std::vector<Counterexample> counterexamples;  // by invariant order
};

MState root_state(const ExploreConfig& c);
ExploreResult explore(const ExploreConfig& c);

// Rebuilds the counterexample of `inv` from its ops (names, steps, pictures, replay check).
Counterexample make_counterexample(const ExploreConfig& c, int inv, const std::vector<uint32_t>& path,
                                   const std::string& detail);

// Writes DIR/INVARIANT.json (the scenario; INVARIANT.interleaved.json when it needs
// internal transitions) and DIR/INVARIANT/step-NN.dot. Returns the files written.
std::vector<std::string> write_counterexample(const Counterexample& c, const std::string& dir);

// The process tree of a state as Graphviz (Boost.Graph's write_graphviz).
std::string tree_dot(const model::Kernel& k, const Namer& names, const std::string& title);

}  // namespace pidlab::checker
