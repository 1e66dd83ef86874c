// pidlab replay: replay scenarios in the model and compare with their expectations.
#include <fmt/core.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checker/invariants.hpp"
#include "cli/commands.hpp"
#include "format/names.hpp"
#include "model/replay.hpp"

namespace pidlab::cli {

namespace {

void print_mismatches(const std::vector<scenario::Mismatch>& ms, const std::string& rule) {
    for (const auto& m : ms) fmt::print("        {}: expected {}, observed {}\n", m.key, m.expected, m.observed);
    if (!rule.empty()) fmt::print("        decided by {}\n", rule);
}

void print_trace(const scenario::Scenario& s, const model::ReplayResult& r, bool tree) {
    fmt::print("== {} ({}) on {}{}\n", s.file, s.name, r.profile,
               r.foreign ? fmt::format(" [written for {}]", s.kernel) : std::string());
    for (size_t i = 0; i < r.steps.size(); ++i) {
        const auto& out = r.steps[i];
        const auto& st = s.steps[i];
        std::string seen = scenario::describe_observation(out.obs);
        if (seen.empty()) seen = "(does not return)";
        fmt::print("  #{:<3} {:<40} -> {}{}\n", i, scenario::describe_step(st), seen,
                   out.mismatches.empty() ? (st.expect ? "  ok" : "") : "  MISMATCH");
        if (!out.mismatches.empty()) print_mismatches(out.mismatches, out.obs.rule);
        if (tree && !out.tree.empty()) {
            std::string t = out.tree;
            size_t pos = 0;
            while ((pos = t.find('\n', pos)) != std::string::npos && pos + 1 < t.size()) t.replace(pos, 1, "\n        "), pos += 9;
            fmt::print("        {}", t);
        }
    }
    if (r.error) {
        fmt::print("  ERROR {}\n", r.error->what());
        return;
    }
    for (const auto& [name, exp] : s.final) {
        const auto& obs = r.final.at(name);
        auto it = std::find_if(r.final_mismatches.begin(), r.final_mismatches.end(),
                               [&](const auto& p) { return p.first == name; });
        fmt::print("  final {:<12} {}{}\n", name, scenario::describe_observation(obs),
                   it == r.final_mismatches.end() ? "  ok" : "  MISMATCH");
        if (it != r.final_mismatches.end()) print_mismatches(it->second, obs.rule);
    }
}

// A trace written by `pidlab explore --interleave --out` (INVARIANT.interleaved.json): a
// top-level object with "trace" and "violates" and no "steps". Its steps include the kernel's
// internal transitions (do_exit, exit_notify, release_task as separate steps), which the
// scenario format cannot express: replay settles the kernel after every step.
bool is_interleaved_trace(const std::string& file) {
    std::ifstream in(file);
    auto j = nlohmann::json::parse(in, nullptr, false);
    return j.is_object() && j.contains("trace") && j.contains("violates") && !j.contains("steps");
}

// What the scenario's `violates` says, checked: the named invariant must be violated by its
// last step (checker::check_counterexample: the steps replayed with the invariants watched).
struct ViolatesVerdict {
    bool checked = false;
    bool ok = true;
    std::string line;  // one line for the trace
    checker::CounterexampleCheck chk;
};

ViolatesVerdict check_violates(const scenario::Scenario& s, const model::Profile& p) {
    ViolatesVerdict v;
    if (s.violates.empty()) return v;
    v.checked = true;
    v.chk = checker::check_counterexample(s, p);
    const auto& c = v.chk;
    if (c.error) {
        v.ok = false;
        v.line = fmt::format("violates {}: not checked, the scenario did not run to its end", s.violates);
        return v;
    }
    const int last = static_cast<int>(s.steps.size()) - 1;
    if (c.violated_at_last_step) {
        v.line = fmt::format("violates {} at step {} (as the file says)", s.violates, last);
        if (c.first_violation_step >= 0 && c.first_violation_step < last)
            v.line += fmt::format("; first violated at step {}", c.first_violation_step);
        return v;
    }
    v.ok = false;
    if (last < 0) {
        v.line = fmt::format("VIOLATES MISMATCH: the file says it violates {}, but it has no steps", s.violates);
    } else if (c.first_violation_step >= 0) {
        v.line = fmt::format("VIOLATES MISMATCH: the file says it violates {} at its last step (#{}), but only step {} "
                             "violates it",
                             s.violates, last, c.first_violation_step);
    } else {
        v.line = fmt::format("VIOLATES MISMATCH: the file says it violates {}, but no step violates it (last step #{})",
                             s.violates, last);
    }
    return v;
}

}  // namespace

int cmd_replay(const ReplayArgs& a) {
    std::vector<std::string> files;
    try {
        files = scenario::collect_scenario_files(a.paths);
    } catch (const scenario::FormatError& e) {
        std::cerr << "pidlab replay: " << e.what() << "\n";
        return 2;
    }
    if (files.empty()) {
        std::cerr << "pidlab replay: no scenario files found in the paths given\n";
        return 2;
    }
    std::optional<model::Profile> forced;
    if (!a.kernel.empty()) {
        forced = model::find_profile(a.kernel);
        if (!forced) {
            std::cerr << "pidlab replay: unknown kernel profile \"" << a.kernel << "\" (known: ";
            for (const auto& n : model::profile_names()) std::cerr << n << " ";
            std::cerr << "or a version like 6.12.95)\n";
            return 2;
        }
    }
    int passed = 0, failed = 0, bad = 0;
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& f : files) {
        scenario::Scenario s;
        try {
            s = scenario::load_scenario_file(f);
        } catch (const scenario::FormatError& e) {
            if (is_interleaved_trace(f))
                std::cerr << "pidlab replay: " << f
                          << ": trace: an interleaved counterexample of `pidlab explore --interleave` (its steps "
                             "include the kernel's internal transitions, which a scenario cannot express); it is a "
                             "trace to read, not a scenario to replay\n";
            else
                std::cerr << "pidlab replay: " << e.what() << "\n";
            ++bad;
            continue;
        }
        if (!s.violates.empty() && !checker::invariant_index(s.violates)) {
            std::string known;
            for (const auto& inv : checker::invariants()) known += (known.empty() ? "" : ", ") + std::string(inv.name);
            std::cerr << "pidlab replay: " << f << ": violates: unknown invariant \"" << s.violates << "\" (known: " << known
                      << ")\n";
            ++bad;
            continue;
        }
        model::Profile p;
        if (forced) {
            p = *forced;
        } else {
            auto own = model::find_profile(s.kernel.empty() ? "7.1" : s.kernel);
            if (!own) {
                std::cerr << "pidlab replay: " << f << ": kernel: unknown kernel revision \"" << s.kernel << "\"\n";
                ++bad;
                continue;
            }
            p = *own;
        }
        auto r = model::replay(s, p, {a.tree, -1});
        if (r.error) {
            std::cerr << "pidlab replay: " << r.error->what() << "\n";
            ++bad;
        }
        ViolatesVerdict vv = r.error ? ViolatesVerdict{} : check_violates(s, p);
        bool ok = r.passed() && vv.ok;
        if (a.json) {
            auto j = scenario::to_json(r.run_result());
            j["passed"] = ok;
            nlohmann::ordered_json ms = nlohmann::ordered_json::array();
            for (size_t i = 0; i < r.steps.size(); ++i)
                for (const auto& m : r.steps[i].mismatches)
                    ms.push_back({{"path", "steps[" + std::to_string(i) + "]"}, {"key", m.key}, {"expected", m.expected},
                                  {"observed", m.observed}, {"rule", r.steps[i].obs.rule}});
            for (const auto& [n, v] : r.final_mismatches)
                for (const auto& m : v)
                    ms.push_back({{"path", "final." + n}, {"key", m.key}, {"expected", m.expected}, {"observed", m.observed}});
            if (vv.checked) {
                j["violates"] = {{"invariant", s.violates},
                                 {"at_last_step", vv.chk.violated_at_last_step},
                                 {"first_step", vv.chk.first_violation_step}};
                if (!vv.ok)
                    ms.push_back({{"path", "violates"}, {"key", "violates"}, {"expected", s.violates + " at the last step"},
                                  {"observed", vv.line}});
            }
            j["mismatches"] = ms;
            all.push_back(j);
        } else if (!a.quiet || !ok) {
            print_trace(s, r, a.tree);
            if (vv.checked) {
                fmt::print("  {}\n", vv.line);
                if (!vv.ok)
                    for (const auto& d : vv.chk.details) fmt::print("        last step: {}\n", d);
            }
            fmt::print("{} {}\n\n", ok ? "PASS" : (r.error ? "ERROR" : "FAIL"), s.name);
        }
        if (!r.error) ok ? ++passed : ++failed;
    }
    if (a.json) std::cout << all.dump(2) << "\n";
    (a.json ? std::cerr : std::cout) << passed << " passed, " << failed + bad << " failed\n";
    if (bad) return 2;
    return failed ? 1 : 0;
}

}  // namespace pidlab::cli

#include <CLI/CLI.hpp>

#include "model/profile.hpp"

namespace pidlab::cli {

Runner add_replay(CLI::App& app) {
    auto a = std::make_shared<ReplayArgs>();
    auto* sub = app.add_subcommand("replay", "Replay scenario files in the model and check their expectations");
    sub->add_option("--kernel", a->kernel,
                    "Kernel profile: 7.1, pre-7.1, rfc-v1, v2 ... v5, or a version such as 6.12.95 "
                    "(default: each scenario's own `kernel`)");
    sub->add_flag("--json", a->json, "Print the observations as JSON");
    sub->add_flag("--tree", a->tree, "Print the process tree after each step");
    sub->add_flag("-q,--quiet", a->quiet, "Print only failing scenarios and the summary");
    sub->add_option("paths", a->paths, "Scenario files or directories")->required();
    return [a] { return cmd_replay(*a); };
}

Runner add_profiles(CLI::App& app) {
    app.add_subcommand("profiles", "List the kernel profiles");
    return [] {
        for (const auto& n : model::profile_names()) std::cout << n << "\t" << model::find_profile(n)->describe() << "\n";
        return 0;
    };
}

}  // namespace pidlab::cli
