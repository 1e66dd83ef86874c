// pidlab explore: exhaustive bounded exploration of the model with named
// invariants; the shortest counterexample of each violated one is written as a
// replayable scenario plus Graphviz pictures of the process tree.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <iostream>
#include <memory>
#include <thread>

#include "checker/explore.hpp"
#include "cli/commands.hpp"
#include "model/profile.hpp"

namespace pidlab::cli {

namespace {

struct ExploreArgs {
    std::string kernel = "7.1";
    int tasks = 4;
    int depth = 8;
    std::string ops = "default";
    std::string invariants = "all";
    std::string out;
    bool list_invariants = false;
    bool list_ops = false;
    bool interleave = false;
    bool no_symmetry = false;
    std::string search = "bfs";
    std::string store = "fp64";
    int bitstate_log2 = 32;
    int threads = 0;
    uint64_t max_states = 0;
    uint64_t walks = 1000;
    uint64_t seed = 1;
    double progress = 1.0;
    bool quiet = false;
    bool keep_going = false;
    int root_uid = 0;
    bool root_unprivileged = false;
};

std::string human_bytes(double b) {
    if (b >= 1 << 30) return fmt::format("{:.2f} GiB", b / (1 << 30));
    if (b >= 1 << 20) return fmt::format("{:.1f} MiB", b / (1 << 20));
    return fmt::format("{:.0f} KiB", b / 1024);
}

int run_explore(const ExploreArgs& a) {
    using namespace pidlab::checker;
    if (a.list_invariants) {
        for (const auto& inv : invariants())
            fmt::print("{:<26} [{}] {}\n", inv.name, inv.kind == InvKind::State ? "state" : "transition", inv.statement);
        return 0;
    }
    if (a.list_ops) {
        fmt::print("{}\n", alphabet_help());
        for (const char* p : {"minimal", "default", "ptrace", "full"}) {
            Alphabet al;
            std::string err;
            parse_alphabet(p, al, err);
            fmt::print("  {:<8} {}\n", p, al.describe());
        }
        return 0;
    }
    ExploreConfig c;
    auto prof = model::find_profile(a.kernel);
    if (!prof) {
        std::cerr << "pidlab explore: unknown kernel profile \"" << a.kernel << "\" (known:";
        for (const auto& n : model::profile_names()) std::cerr << " " << n;
        std::cerr << ")\n";
        return 2;
    }
    c.profile = *prof;
    std::string err;
    if (!parse_alphabet(a.ops, c.alphabet, err)) {
        std::cerr << "pidlab explore: --ops: " << err << "\n";
        return 2;
    }
    std::string unknown;
    c.mask = parse_invariants(a.invariants, unknown);
    if (!unknown.empty() || c.mask == 0) {
        std::cerr << "pidlab explore: --invariants: unknown invariant(s) \"" << unknown
                  << "\" (see --list-invariants)\n";
        return 2;
    }
    if (a.tasks < 1 || a.tasks > 60) {
        std::cerr << "pidlab explore: --tasks must be between 1 and 60\n";
        return 2;
    }
    if (a.depth < 0 || a.depth > 64) {
        std::cerr << "pidlab explore: --depth must be between 0 and 64\n";
        return 2;
    }
    c.bounds.tasks = a.tasks;
    c.bounds.depth = a.depth;
    c.bounds.interleave = a.interleave;
    c.alphabet.interleave = a.interleave;
    c.symmetry = !a.no_symmetry;
    c.root = model::Cred{a.root_uid, a.root_uid, a.root_uid, !a.root_unprivileged && a.root_uid == 0};
    if (a.search == "bfs") c.mode = SearchMode::Bfs;
    else if (a.search == "dfs") c.mode = SearchMode::Dfs;
    else if (a.search == "random") c.mode = SearchMode::Random;
    else {
        std::cerr << "pidlab explore: --search must be bfs, dfs or random\n";
        return 2;
    }
    if (a.store == "fp64") c.search.store = StoreKind::Fp64;
    else if (a.store == "exact") c.search.store = StoreKind::Exact;
    else if (a.store == "bitstate") c.search.store = StoreKind::Bitstate;
    else {
        std::cerr << "pidlab explore: --store must be fp64, exact or bitstate\n";
        return 2;
    }
    if (a.bitstate_log2 < 10 || a.bitstate_log2 > 38) {
        std::cerr << "pidlab explore: --bitstate-bits must be between 10 and 38 (log2 of the bit count)\n";
        return 2;
    }
    c.search.bitstate_log2 = a.bitstate_log2;
    c.search.threads = a.threads > 0 ? a.threads : std::max(1u, std::thread::hardware_concurrency());
    c.search.depth = a.depth;
    c.search.max_states = a.max_states;
    c.search.walks = a.walks;
    c.search.seed = a.seed;
    c.search.progress_secs = a.quiet ? 0 : a.progress;
    c.search.stop_when_all_found = !a.keep_going;

    std::cerr << fmt::format("pidlab explore: kernel {}, tasks {} (T included), depth {}, {} search, {} worker(s), "
                             "store {}{}\n  ops: {}\n",
                             c.profile.describe(), a.tasks, a.depth, a.search, c.search.threads, a.store,
                             c.symmetry ? ", symmetry reduction" : "", c.alphabet.describe());
    auto res = explore(c);
    const auto& st = res.stats;
    fmt::print("explored {} distinct states, {} transitions, depth {} in {:.2f} s ({:.0f} states/s, {:.0f} "
               "transitions/s)\n",
               st.states, st.transitions, st.depth, st.seconds, st.states / std::max(st.seconds, 1e-9),
               st.transitions / std::max(st.seconds, 1e-9));
    std::string levels;
    for (auto n : st.level_sizes) levels += (levels.empty() ? "" : " ") + std::to_string(n);
    fmt::print("states per depth: {}\n", levels);
    fmt::print("store {} ({:.1f} bytes/state), peak memory {}\n", human_bytes(double(st.store_bytes)),
               double(st.store_bytes) / std::max<uint64_t>(1, st.states), human_bytes(double(st.peak_rss)));
    if (c.mode == SearchMode::Bfs) {
        if (st.closed) fmt::print("the whole reachable state space was explored (it ends before depth {})\n", a.depth);
        else if (st.exhausted) fmt::print("every state within depth {} was explored\n", a.depth);
        else fmt::print("the search stopped early ({})\n",
                        res.counterexamples.size() == size_t(__builtin_popcount(c.mask)) ? "every watched invariant was violated"
                                                                                          : "state limit");
    }
    if (c.search.store == StoreKind::Fp64)
        fmt::print("hash compaction: 64-bit fingerprints; probability that any two states collided <= {:.2g}\n",
                   st.collision_bound);
    if (c.search.store == StoreKind::Bitstate)
        fmt::print("bitstate: 2^{} bits, {} hashes; estimated states omitted: {:.1f}\n", a.bitstate_log2,
                   Store<uint64_t>::kHashes, st.omission_estimate);
    int bad_replay = 0;
    for (const auto& inv : invariants()) {
        int idx = *invariant_index(inv.name);
        if (!(c.mask >> idx & 1)) continue;
        auto it = std::find_if(res.counterexamples.begin(), res.counterexamples.end(),
                               [&](const Counterexample& x) { return x.inv == idx; });
        if (it == res.counterexamples.end()) {
            fmt::print("  ok        {}\n", inv.name);
            continue;
        }
        fmt::print("  VIOLATED  {} ({} steps): {}\n", inv.name, it->ops.size(), it->detail);
        for (size_t i = 0; i < it->step_text.size(); ++i) fmt::print("      #{:<2} {}\n", i, it->step_text[i]);
        if (it->interleaved) {
            fmt::print("      (needs internal kernel transitions: written as a trace, not a scenario)\n");
        } else if (it->verified.error || !it->verified.violated_at_last_step) {
            ++bad_replay;
            fmt::print("      REPLAY CHECK FAILED: {}\n",
                       it->verified.error ? it->verified.error->what() : "the replay does not show the violation at the last step");
        } else {
            fmt::print("      replay check: violated at the last step{}\n",
                       it->verified.first_violation_step + 1 == int(it->ops.size()) ? "" : " (and earlier)");
        }
        if (!a.out.empty()) {
            auto files = write_counterexample(*it, a.out);
            fmt::print("      wrote {} and {} pictures in {}/{}/\n", files.front(), files.size() - 1, a.out, inv.name);
        }
    }
    if (bad_replay) std::cerr << "pidlab explore: " << bad_replay << " counterexample(s) did not replay as found\n";
    return res.counterexamples.empty() ? 0 : 1;
}

}  // namespace

Runner add_explore(CLI::App& app) {
    auto a = std::make_shared<ExploreArgs>();
    auto* sub = app.add_subcommand("explore", "Explore every interleaving of ops within bounds and check the invariants");
    sub->add_option("--kernel", a->kernel, "Kernel profile (default 7.1; see `pidlab profiles`)");
    sub->add_option("--tasks", a->tasks, "Tasks besides init, T included: at most N-1 are created (default 4)");
    sub->add_option("--depth", a->depth, "Ops per path (default 8)");
    sub->add_option("--ops", a->ops, "Op alphabet: presets, ops, clone3=FLAGS items, -NAME (default: default; see --list-ops)");
    sub->add_option("--invariants", a->invariants, "Invariants to check, comma-separated (default all)");
    sub->add_option("--out", a->out, "Write each counterexample (scenario JSON and Graphviz pictures) under this directory");
    sub->add_flag("--list-invariants", a->list_invariants, "Print the invariants with their statements");
    sub->add_flag("--list-ops", a->list_ops, "Print the op names and the presets");
    sub->add_flag("--interleave", a->interleave, "Expose the kernel's internal transitions (do_exit, exit_notify, release_task) as steps");
    sub->add_flag("--no-symmetry", a->no_symmetry, "Do not identify states that differ only by the names of tasks and fds");
    sub->add_option("--search", a->search, "bfs (default: shortest counterexamples), dfs or random");
    sub->add_option("--store", a->store, "fp64 (64-bit fingerprints, default), exact (lossless) or bitstate (lossy)");
    sub->add_option("--bitstate-bits", a->bitstate_log2, "log2 of the bitstate array's size in bits (default 32)");
    sub->add_option("--threads", a->threads, "Worker threads (default: every core)");
    sub->add_option("--max-states", a->max_states, "Stop after this many distinct states (0: no limit)");
    sub->add_option("--walks", a->walks, "Random walks (--search random)");
    sub->add_option("--seed", a->seed, "Seed of the random walks");
    sub->add_option("--progress", a->progress, "Seconds between progress lines on stderr (default 1)");
    sub->add_flag("-q,--quiet", a->quiet, "No progress lines");
    sub->add_flag("--keep-going", a->keep_going, "Do not stop once every watched invariant is violated");
    sub->add_option("--root-uid", a->root_uid, "T's uid (default 0)");
    sub->add_flag("--root-unprivileged", a->root_unprivileged, "T has no capabilities");
    return [a] { return run_explore(*a); };
}

}  // namespace pidlab::cli
