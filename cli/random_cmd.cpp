// pidlab random: random valid scenarios in the model (the property tests'
// generators) with the checker's invariants watched after every step; a
// counterexample is shrunk and written as a scenario. Deterministic for a seed.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "checker/invariants.hpp"
#include "cli/commands.hpp"
#include "model/profile.hpp"
#include "prop/search.hpp"

namespace pidlab::cli {

namespace {

struct RandomArgs {
    std::string kernel = "7.1";
    uint64_t cases = 100000;
    uint64_t seed = 1;
    std::string invariants = "all";
    std::string out;
    size_t steps = 20;
    int jobs = 1;
    bool keep_going = false;
    bool no_shrink = false;
    bool quiet = false;
    bool json = false;
    std::string weights;
    int max_tasks = 16;
    int root_uid = 0;
    bool root_unprivileged = false;
};

int run_random(const RandomArgs& a) {
    auto profile = model::find_profile(a.kernel);
    if (!profile) {
        std::cerr << "pidlab random: unknown kernel profile \"" << a.kernel << "\" (pidlab profiles lists them)\n";
        return 2;
    }
    std::string unknown;
    checker::InvMask mask = checker::parse_invariants(a.invariants, unknown);
    if (!unknown.empty()) {
        std::cerr << "pidlab random: unknown invariant(s) " << unknown << " (known:";
        for (const auto& i : checker::invariants()) std::cerr << " " << i.name;
        std::cerr << ")\n";
        return 2;
    }
    if (a.cases == 0 || a.steps == 0 || a.steps > scenario::kMaxSteps || a.jobs < 1 || a.jobs > 256 || a.max_tasks < 2 ||
        a.max_tasks > 64) {
        std::cerr << "pidlab random: --cases and --steps must be positive (steps <= " << scenario::kMaxSteps
                  << "), --jobs 1..256, --max-tasks 2..64\n";
        return 2;
    }
    prop::SearchOptions o;
    o.profile = *profile;
    o.mask = mask;
    o.seed = a.seed;
    o.cases = a.cases;
    o.steps = a.steps;
    o.shrink = !a.no_shrink;
    o.keep_going = a.keep_going;
    o.jobs = a.jobs;
    o.root_uid = a.root_unprivileged ? (a.root_uid ? a.root_uid : 1000) : a.root_uid;
    o.root_caps = !a.root_unprivileged;
    o.gen.limits.max_tasks = a.max_tasks;
    if (!a.weights.empty()) {
        std::string err;
        if (!o.gen.set_weights(a.weights, err)) {
            std::cerr << "pidlab random: --weights: " << err << "\n";
            return 2;
        }
    }
    if (!a.quiet) {
        std::cerr << fmt::format("random: kernel {}, seed {}, {} cases of {} steps, invariants {}\n", profile->describe(),
                                 a.seed, a.cases, a.steps, a.invariants);
        o.progress_every = std::max<uint64_t>(1, std::min<uint64_t>(100000, a.cases / 10));
        o.progress = [&](uint64_t done, size_t found) {
            std::cerr << fmt::format("random: {}/{} cases, {} finding(s)\n", done, a.cases, found);
        };
    }
    prop::SearchResult r;
    try {
        r = prop::random_search(o);
    } catch (const std::exception& e) {
        std::cerr << "pidlab random: " << e.what() << "\n";
        return 2;
    }
    nlohmann::ordered_json j;
    j["kernel"] = profile->name;
    j["seed"] = a.seed;
    j["cases"] = r.cases;
    j["steps"] = r.steps;
    j["seconds"] = r.seconds;
    j["cases_per_cpu_second"] = r.cpu_seconds > 0 ? static_cast<double>(r.cases) / r.cpu_seconds : 0.0;
    j["findings"] = nlohmann::ordered_json::array();
    for (const auto& f : r.findings) {
        std::string file;
        if (!a.out.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(a.out, ec);
            file = a.out + "/" + f.shrunk.name + ".json";
            std::ofstream out(file);
            if (!out) {
                std::cerr << "pidlab random: cannot write " << file << "\n";
                return 2;
            }
            out << scenario::to_json(f.shrunk).dump(2) << "\n";
        }
        auto chk = checker::check_counterexample(f.shrunk, *profile);
        nlohmann::ordered_json fj;
        fj["invariant"] = f.invariant;
        fj["case"] = f.case_index;
        fj["detail"] = f.detail;
        fj["steps"] = f.found.steps.size();
        fj["shrunk_steps"] = f.shrunk.steps.size();
        fj["verified"] = chk.violated_at_last_step;
        if (!file.empty()) fj["file"] = file;
        j["findings"].push_back(fj);
        if (!a.json) {
            fmt::print("VIOLATION {} on {} (seed {}, case {}): {}\n", f.invariant, profile->name, a.seed, f.case_index,
                       f.detail);
            fmt::print("  shrunk from {} to {} steps{}{}\n", f.found.steps.size(), f.shrunk.steps.size(),
                       chk.violated_at_last_step ? ", replays to the violation at its last step" : ", NOT VERIFIED",
                       file.empty() ? "" : "; written to " + file);
            for (size_t i = 0; i < f.shrunk.steps.size(); ++i)
                fmt::print("    {:>2}  {}\n", i, scenario::describe_step(f.shrunk.steps[i]));
            if (file.empty()) fmt::print("{}\n", scenario::to_json(f.shrunk).dump(2));
        }
    }
    if (a.json) std::cout << j.dump(2) << "\n";
    std::cerr << fmt::format("random: {} cases, {} steps, {:.2f}s ({:.0f} cases/s per core), {} finding(s)\n", r.cases,
                             r.steps, r.seconds, r.cpu_seconds > 0 ? static_cast<double>(r.cases) / r.cpu_seconds : 0.0,
                             r.findings.size());
    return r.findings.empty() ? 0 : 1;
}

}  // namespace

Runner add_random(CLI::App& app) {
    auto a = std::make_shared<RandomArgs>();
    auto* sub = app.add_subcommand(
        "random", "Random valid scenarios in the model with the invariants watched; shrink and write counterexamples");
    sub->add_option("--kernel", a->kernel, "Model profile (7.1, pre-7.1, rfc-v1, v2..v5, a version)")->capture_default_str();
    sub->add_option("--cases", a->cases, "Number of random scenarios")->capture_default_str();
    sub->add_option("--seed", a->seed, "Seed (the same seed gives the same cases and findings)")->capture_default_str();
    sub->add_option("--invariants", a->invariants, "Invariants to watch: NAME,NAME... or all")->capture_default_str();
    sub->add_option("--out", a->out, "Write each (shrunk) counterexample here as a scenario file");
    sub->add_option("--steps", a->steps, "Steps per scenario")->capture_default_str();
    sub->add_option("-j,--jobs", a->jobs, "Threads (the findings do not depend on it)")->capture_default_str();
    sub->add_flag("--keep-going", a->keep_going, "Go on after a finding (one counterexample per invariant)");
    sub->add_flag("--no-shrink", a->no_shrink, "Write counterexamples as found");
    sub->add_option("--weights", a->weights, "Op weights, e.g. clone3:30,ptrace:0 (families: fork clone3 clone "
                                            "thread_create exit exit_group kill pidfd_send_signal sigaction waitpid "
                                            "waitid pidfd_open close dup poll pidfd_get_info prctl drop_privileges "
                                            "setresuid execve ptrace signal_pending observe)");
    sub->add_option("--max-tasks", a->max_tasks, "Tasks per scenario, init and T included")->capture_default_str();
    sub->add_option("--root-uid", a->root_uid, "T's uid");
    sub->add_flag("--root-unprivileged", a->root_unprivileged, "T has no capabilities (uid 1000 unless --root-uid)");
    sub->add_flag("-q,--quiet", a->quiet, "No progress lines");
    sub->add_flag("--json", a->json, "Print a JSON summary");
    return [a] { return run_random(*a); };
}

}  // namespace pidlab::cli
