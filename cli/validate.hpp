// pidlab validate: the model-side engine. For each revision of the series (a
// model profile) it runs the bundled corpus with the invariants watched,
// exhaustive exploration in a few bounded configurations, and random search
// (the property-test engine, fixed seed and budget), and keeps for each
// invariant its shortest counterexample — or the bounds within which it holds.
//
// The real-kernel part (what the merged kernel answers to each counterexample)
// lives in validate_cmd.cpp, next to the crosscheck code it uses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/invariants.hpp"
#include "format/scenario.hpp"
#include "model/profile.hpp"

namespace pidlab::validate {

// One exhaustive (BFS) configuration.
struct ExploreSpec {
    std::string ops = "default";  // an alphabet spec (checker::parse_alphabet)
    int tasks = 3;                // T included
    int depth = 6;
    std::string label() const;    // "default 4t/6d"
};

struct Options {
    std::vector<std::string> revisions;  // profile names, in column order
    std::vector<ExploreSpec> explore;
    uint64_t random_cases = 0;           // 0: no random search
    size_t random_steps = 24;
    uint64_t seed = 1;
    int random_jobs = 2;                 // fixed: the findings depend on it (keep-going)
    int threads = 0;                     // explore workers (0: every core); does not change results
    std::string corpus;                  // scenario directory ("" : no corpus phase)
    uint64_t max_states = 0;             // per exploration (0: no limit)
    std::function<void(const std::string&)> progress;  // progress lines (stderr)
};

// The revisions of the series in order, and the default run.
std::vector<std::string> all_revisions();
Options default_options();
// Parses "rfc-v1,v5,7.1" (or "all"); returns false with a message naming the bad item.
bool parse_revisions(const std::string& list, std::vector<std::string>& out, std::string& err);

enum class Source { Explore, Random, Corpus };
const char* source_name(Source s);

struct Cell {
    bool violated = false;
    size_t length = 0;             // steps of the shortest counterexample
    Source source = Source::Explore;
    std::string how;               // "explore default 4t/6d", "random search case 38", "corpus lifecycle/x.json"
    std::string detail;            // the invariant's own one-line explanation
    scenario::Scenario scenario;   // the counterexample (violates, kernel = the revision)
    std::vector<std::string> dots; // Graphviz: the initial state, then after each step
    // Filled by write_outputs(): the files and the replay check of the written JSON.
    std::string json_file, dot_dir, svg_file;
    bool replays = false;          // `pidlab replay FILE` shows the violation at its last step
    std::string replay_problem;
};

struct ExploreRun {
    ExploreSpec spec;
    uint64_t states = 0, transitions = 0;
    bool complete = false;         // every state within the bounds was explored
    double seconds = 0;
    std::vector<std::string> violated;
};

struct CorpusRun {
    size_t files = 0;
    size_t runs = 0;               // run to the end under this revision
    size_t does_not_run = 0;       // a step cannot run under this revision (a flag it lacks ...)
    size_t meets = 0;              // run and meet every expectation
    size_t violations = 0;         // scenarios that violate an invariant
    double seconds = 0;
    std::vector<std::string> not_running;  // "file: why"
};

struct RandomRun {
    uint64_t cases = 0, steps = 0;
    double seconds = 0;
    std::vector<std::string> found;  // invariants
};

struct RevisionResult {
    std::string revision;            // profile name
    std::string profile;             // its description
    std::vector<Cell> cells;         // by invariant index
    std::vector<ExploreRun> explores;
    RandomRun random;
    CorpusRun corpus;
    double seconds = 0;
};

struct Result {
    std::vector<RevisionResult> revisions;
    double seconds = 0;
};

// Throws std::runtime_error on an unusable option (unknown profile, bad alphabet, unreadable corpus).
Result run(const Options& o);

// "holds (default 4t/6d, ptrace 3t/5d, 200k×24 random)" / "violated (2 steps)" / "violated (5 steps, random search)".
std::string cell_text(const Cell& c, const Options& o, bool markdown = false);
std::string bounds_text(const Options& o);

// Writes DIR/REV/INVARIANT.json, DIR/REV/INVARIANT/step-NN.dot (and step-NN.svg of the last step
// when `dot` is installed) for every violated cell, then loads each JSON back and checks that it
// shows the violation at its last step under the revision (Cell::replays). Returns the number that
// do not.
size_t write_outputs(Result& r, const std::string& dir, bool svg = true);

// The table, invariants as rows and revisions as columns (aligned text), and the same in Markdown.
std::string text_table(const Result& r, const Options& o);
std::string markdown_table(const Result& r, const Options& o);

}  // namespace pidlab::validate
